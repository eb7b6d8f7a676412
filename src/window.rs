//! What span of time did the user ask about? The `since`/`until` of `concierge report`,
//! `concierge gaps` and the dashboard's API, parsed in one place: a date (UTC midnight) or an
//! RFC 3339 instant, into Unix milliseconds; missing bounds default to the 30 days before now.

/// How far back a window reaches when only its end (or nothing) is given.
pub const DEFAULT_SPAN_MS: u64 = 30 * 86_400_000;

/// A half-open span of time, `[since_ms, until_ms)`, in Unix milliseconds; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since_ms: u64,
    pub until_ms: u64,
}

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `name` is the bound's name as the user wrote it (`since`, `--until`).
    #[error("{name} `{value}` is not a date or a time: write a date like 2026-12-01 (UTC midnight) or a time with an offset like 2026-12-01T08:00:00+01:00")]
    NotATime { name: &'static str, value: String },
    #[error("{since} must be before {until}")]
    Empty {
        since: &'static str,
        until: &'static str,
    },
}

/// The names the bounds go by in error messages: `("since", "until")` for a query string,
/// `("--since", "--until")` for the command line.
pub type Names = (&'static str, &'static str);

/// A date (`2026-12-01`, UTC midnight) or an RFC 3339 instant, as Unix milliseconds (times
/// before 1970 count as 1970). `name` says which bound it is in the error.
pub fn parse_when(name: &'static str, s: &str) -> Result<u64, WindowError> {
    let s = s.trim();
    // A date alone: jiff's `Date` parser would also take the date out of a whole date-time
    // and drop the time, so only a string of exactly `YYYY-MM-DD` is read as one.
    let date_only = s.len() == 10 && !s.contains(['T', 't', ' ']);
    let t = if date_only {
        s.parse::<jiff::civil::Date>()
            .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC))
            .map(|z| z.timestamp())
    } else {
        s.parse::<jiff::Timestamp>()
    };
    match t {
        Ok(t) => Ok(t.as_millisecond().max(0) as u64),
        Err(_) => Err(WindowError::NotATime {
            name,
            value: s.chars().take(64).collect(),
        }),
    }
}

impl Window {
    /// The window the user asked for: `until` defaults to `now_ms`, `since` to
    /// [`DEFAULT_SPAN_MS`] before `until`; an empty or blank bound counts as missing.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now_ms: u64,
        names: Names,
    ) -> Result<Window, WindowError> {
        let until_ms = match given(until) {
            Some(s) => parse_when(names.1, s)?,
            None => now_ms,
        };
        let since_ms = match given(since) {
            Some(s) => parse_when(names.0, s)?,
            None => until_ms.saturating_sub(DEFAULT_SPAN_MS),
        };
        if since_ms >= until_ms {
            return Err(WindowError::Empty {
                since: names.0,
                until: names.1,
            });
        }
        Ok(Window { since_ms, until_ms })
    }
}

/// A bound that was given: present and not blank.
fn given(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Names = ("since", "until");
    /// 2026-12-07T00:00:00Z.
    const DEC_7: u64 = 1_796_601_600_000;

    #[test]
    fn dates_are_utc_midnight_and_times_keep_their_offset() {
        assert_eq!(parse_when("since", "2026-12-07"), Ok(DEC_7));
        assert_eq!(parse_when("since", " 2026-12-07 "), Ok(DEC_7));
        assert_eq!(parse_when("since", "2026-12-07T01:00:00+01:00"), Ok(DEC_7));
        assert_eq!(
            parse_when("since", "2026-12-07T00:00:00.250Z"),
            Ok(DEC_7 + 250)
        );
        assert_eq!(parse_when("since", "1969-12-31"), Ok(0));
        // Regression: a date-time was read as its date alone (jiff's `Date` parser accepts
        // one), so `08:00+01:00` became midnight UTC.
        assert_eq!(
            parse_when("since", "2026-12-07T08:00:00+01:00"),
            Ok(DEC_7 + 7 * 3_600_000)
        );
    }

    #[test]
    fn bad_input_names_the_bound_and_the_formats() {
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-12-07T08:00:00",
            "",
            "1733529600000",
        ] {
            let e = parse_when("until", bad).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("until `"), "{msg}");
            assert!(msg.contains("2026-12-01T08:00:00+01:00"), "{msg}");
        }
        let long = "x".repeat(10_000);
        assert!(parse_when("since", &long).unwrap_err().to_string().len() < 300);
    }

    #[test]
    fn missing_bounds_default_to_the_last_thirty_days() {
        let w = Window::parse(None, None, DEC_7, Q).unwrap();
        assert_eq!((w.since_ms, w.until_ms), (DEC_7 - DEFAULT_SPAN_MS, DEC_7));
        let w = Window::parse(Some(""), Some("2026-12-07"), 1, Q).unwrap();
        assert_eq!((w.since_ms, w.until_ms), (DEC_7 - DEFAULT_SPAN_MS, DEC_7));
        let w = Window::parse(Some("2026-12-01"), Some(" "), DEC_7, Q).unwrap();
        assert_eq!(w.until_ms, DEC_7);
        assert_eq!(w.since_ms, DEC_7 - 6 * 86_400_000);
    }

    #[test]
    fn an_empty_window_is_refused() {
        let e = Window::parse(
            Some("2026-12-07"),
            Some("2026-12-07"),
            0,
            ("--since", "--until"),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "--since must be before --until");
        assert!(Window::parse(Some("2026-12-08"), None, DEC_7, Q).is_err());
    }
}
