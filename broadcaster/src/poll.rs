//! Step 0, the process: poll(2)'s timeout, the one conversion every
//! sleeping thread uses (the accept loop, each WebSocket peer, each push
//! sender).

use std::time::Duration;

use rustix::event::Timespec;

/// `d` for poll(2), at most a day (longer than any timer here; every
/// caller looks at the clock again when poll returns).
pub fn timespec(d: Duration) -> Timespec {
    let d = d.min(Duration::from_secs(86_400));
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos().into(),
    }
}
