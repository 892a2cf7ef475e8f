//! Prometheus's own checker as the oracle for rendered metrics, for the
//! library's tests (`ssi/tests/metrics.rs`) and the broadcaster's
//! (`broadcaster/tests/metrics.rs`, which includes this file by path).

use std::io::Write;
use std::process::{Command, Stdio};

/// `promtool check metrics` on `text`: whether it found nothing to say
/// (exit 0 and no lint), and what it said.
pub fn check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): install the test prerequisites with `sudo make test-deps` (Debian package prometheus)"
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success() && said.trim().is_empty(), said)
}
