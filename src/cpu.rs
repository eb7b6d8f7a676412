//! How much of this machine's CPU other processes take, for the embedder's thread count.
//!
//! libtorch splits each operation of a forward pass across its intra-op threads and waits for
//! all of them. While other processes keep the cores busy, one of those threads is often not
//! running, and every operation waits for it: measured with `stress-ng --cpu 2` beside
//! `concierge serve` on a 2-core machine, two model threads served 47 requests/s with a p99 of
//! 1.4 s, one thread 171–189 requests/s with a p99 near 110 ms (docs/performance.md). On an idle
//! machine two threads are faster. So the embedder asks [`Contention`] before each forward
//! pass, and [`ThreadPolicy`] picks the count.
//!
//! Linux only (`/proc/stat`, `/proc/self/stat`); elsewhere nothing is known and the configured
//! count is kept.

use std::time::{Duration, Instant};

/// CPU time counters at one moment, in clock ticks summed over every core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Ticks any core spent on anything but idling or waiting for I/O (steal included: a
    /// virtual machine's core that the host gave to someone else was not ours either).
    pub busy: u64,
    /// Every tick of every core.
    pub total: u64,
    /// Ticks this process spent (user + system, all its threads).
    pub own: u64,
}

/// The `cpu` line of `/proc/stat`: (busy, total) ticks.
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice], guest time being
    // already counted in user and nice.
    if fields.len() < 8 {
        return None;
    }
    let total: u64 = fields[..8].iter().sum();
    let idle = fields[3] + fields[4];
    Some((total - idle, total))
}

/// utime + stime of `/proc/self/stat`, in ticks. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted from the last `)`.
pub fn parse_self_stat(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The machine's counters now, when /proc can be read.
pub fn sample() -> Option<Sample> {
    let (busy, total) = parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let own = parse_self_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    Some(Sample { busy, total, own })
}

/// Cores that other processes kept busy between two samples, out of `cores`.
pub fn others(before: Sample, after: Sample, cores: usize) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    if total == 0 {
        return None;
    }
    let busy = after.busy.saturating_sub(before.busy);
    let own = after.own.saturating_sub(before.own);
    Some(busy.saturating_sub(own) as f64 / total as f64 * cores as f64)
}

/// The embedder's intra-op thread count: `idle` threads while other processes leave the cores
/// alone, `busy` threads once they take at least [`ThreadPolicy::BUSY`] cores, back to `idle`
/// once they take less than [`ThreadPolicy::CALM`] (the gap keeps it from flapping). Other
/// processes' share is measured over at least [`ThreadPolicy::EVERY`].
#[derive(Debug, Clone)]
pub struct ThreadPolicy {
    idle: usize,
    busy: usize,
    cores: usize,
    current: usize,
    last: Option<(Instant, Sample)>,
}

impl ThreadPolicy {
    /// Other processes taking this many cores make the machine busy.
    pub const BUSY: f64 = 0.5;
    /// Below this many, it is idle again.
    pub const CALM: f64 = 0.25;
    /// The shortest time other processes' share is measured over.
    pub const EVERY: Duration = Duration::from_millis(250);

    pub fn new(idle: usize, busy: usize) -> ThreadPolicy {
        let idle = idle.max(1);
        let busy = busy.clamp(1, idle);
        ThreadPolicy {
            idle,
            busy,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            current: idle,
            // Measured from now: the first pass at least `EVERY` later already knows.
            last: (idle != busy)
                .then(|| sample().map(|s| (Instant::now(), s)))
                .flatten(),
        }
    }

    /// The count to use now.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Takes a new measurement when the last is old enough, and returns the count to use
    /// now. Nothing is measured when both counts are the same.
    pub fn threads(&mut self) -> usize {
        if self.idle == self.busy {
            return self.current;
        }
        let now = Instant::now();
        if let Some((at, _)) = self.last {
            if now.duration_since(at) < Self::EVERY {
                return self.current;
            }
        }
        if let Some(after) = sample() {
            if let Some((_, before)) = self.last {
                if let Some(others) = others(before, after, self.cores) {
                    self.current = self.decide(others);
                }
            }
            self.last = Some((now, after));
        }
        self.current
    }

    /// The count once other processes took `others` cores.
    pub fn decide(&self, others: f64) -> usize {
        if others >= Self::BUSY {
            self.busy
        } else if others < Self::CALM {
            self.idle
        } else {
            self.current
        }
    }

    /// `decide`, remembered (the tests' way in, without /proc).
    #[cfg(test)]
    fn observe(&mut self, others: f64) -> usize {
        self.current = self.decide(others);
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699 23 23 0 12 0 0\n\
                        cpu0 1393 280 255 1851 12 20 0 6 0 0\n\
                        intr 1462898\n";

    #[test]
    fn proc_stat_counts_idle_and_iowait_as_not_busy() {
        let (busy, total) = parse_proc_stat(STAT).unwrap();
        assert_eq!(total, 4705 + 356 + 584 + 3699 + 23 + 23 + 12);
        assert_eq!(busy, total - 3699 - 23);
        assert_eq!(parse_proc_stat("cpu  1 2 3\n"), None);
        assert_eq!(parse_proc_stat("intr 5\n"), None);
    }

    #[test]
    fn self_stat_reads_past_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    170 30 0 0 20 0 9 0 12345 1000000 500 18446744073709551615";
        assert_eq!(parse_self_stat(stat), Some(200));
        assert_eq!(parse_self_stat("4242 (x) S 1"), None);
    }

    #[test]
    fn this_machine_can_be_sampled() {
        if cfg!(target_os = "linux") {
            let s = sample().expect("/proc/stat and /proc/self/stat are readable on Linux");
            assert!(s.busy <= s.total);
        }
    }

    #[test]
    fn others_are_the_busy_ticks_that_were_not_ours() {
        let before = Sample {
            busy: 1000,
            total: 4000,
            own: 100,
        };
        // 200 ticks over 2 cores: we took 60 of the 150 busy ones, others 90.
        let after = Sample {
            busy: 1150,
            total: 4200,
            own: 160,
        };
        let cores = others(before, after, 2).unwrap();
        assert!((cores - 0.9).abs() < 1e-9, "{cores}");
        assert_eq!(others(before, before, 2), None, "no time passed");
    }

    #[test]
    fn busy_machines_get_fewer_threads_and_calm_ones_get_them_back() {
        let mut p = ThreadPolicy::new(2, 1);
        assert_eq!(p.current(), 2);
        assert_eq!(p.observe(0.3), 2, "between the bounds nothing changes");
        assert_eq!(p.observe(1.6), 1, "stress-ng on both cores");
        assert_eq!(p.observe(0.4), 1, "still above calm: stays at one");
        assert_eq!(p.observe(0.1), 2);
    }

    #[test]
    fn the_first_measurement_starts_when_the_policy_is_made() {
        // So the first pass, even one at startup on a busy machine, is decided on a
        // measurement rather than run with `idle` threads.
        let switching = ThreadPolicy::new(2, 1);
        assert_eq!(switching.last.is_some(), cfg!(target_os = "linux"));
        assert!(
            ThreadPolicy::new(2, 2).last.is_none(),
            "one count: nothing to measure"
        );
    }

    #[test]
    fn the_busy_count_never_exceeds_the_idle_one() {
        let mut p = ThreadPolicy::new(1, 4);
        assert_eq!(p.observe(2.0), 1);
        let mut same = ThreadPolicy::new(2, 2);
        assert_eq!(same.threads(), 2);
        assert_eq!(same.observe(2.0), 2);
    }
}
