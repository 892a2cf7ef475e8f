//! What several of the ssi-status test files share.

/// The lines of an `ssi-status check` or `systemd-analyze calendar`
/// report that must agree: normalized form, next elapses, iterations and
/// their UTC forms, left-trimmed.
pub fn compared(report: &str) -> Vec<String> {
    report
        .lines()
        .map(str::trim_start)
        .filter(|l| {
            ["Normalized form:", "Next elapse:", "Iter. #", "(in UTC):"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}
