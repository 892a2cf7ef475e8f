//! Messages on standard error that can never take the process down.
//!
//! `eprintln!` panics when stderr is gone (a closed pipe, a full disk
//! behind a redirect), and release builds abort on panic: a warning about
//! one bad log must not end the service. Lost messages are the lesser harm.

use std::fmt;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Writes one line to standard error, ignoring any failure.
pub fn line(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// Lets a repeating warning through at most once per `every`, counting
/// what it held back, so a condition that lasts does not flood the journal.
pub struct Every {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Every {
    /// A limiter letting one message through per `every`.
    pub fn new(every: Duration) -> Every {
        Every {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(n)` when a message may be written now, `n` being how many were
    /// held back since the last one; `None` to stay quiet.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lets_one_through_per_period_and_counts_the_rest() {
        let mut e = Every::new(Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(e.allow(t), Some(0));
        assert_eq!(e.allow(t + Duration::from_secs(1)), None);
        assert_eq!(e.allow(t + Duration::from_secs(59)), None);
        assert_eq!(e.allow(t + Duration::from_secs(61)), Some(2));
        assert_eq!(e.allow(t + Duration::from_secs(62)), None);
    }
}
