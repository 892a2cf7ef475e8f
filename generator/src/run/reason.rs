//! Why a run failed, in the words of its `ERROR` line: the exit status or
//! signal, and the last line the script wrote to standard error, bounded
//! and cleaned, e.g. `exited with status 127: line 5: foo: command not found`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// The longest reason kept from standard error, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// The most of one standard error line that is kept while reading it.
pub const MAX_LINE_BYTES: usize = 4096;

/// The last non-blank line a script wrote to standard error, as it is
/// being read: only the start of an overlong line is kept.
#[derive(Debug, Default)]
pub struct LastLine {
    last: Vec<u8>,
}

impl LastLine {
    /// Takes one line (without its `\n`).
    pub fn see(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.last.clear();
        self.last
            .extend_from_slice(&line[..line.len().min(MAX_LINE_BYTES)]);
    }

    /// The line as it goes into an `ERROR` line: invalid UTF-8 and control
    /// characters replaced, white space around it removed, a `SCRIPT: `
    /// prefix (the shells' way of naming themselves) dropped, at most
    /// [`MAX_REASON_CHARS`] characters (then ending in `…`). `None` when
    /// the script wrote nothing.
    pub fn reason(&self, script: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.last);
        let text = ssi::status::clean_message(text.trim()).into_owned();
        let text = text
            .strip_prefix(script)
            .and_then(|t| t.strip_prefix(": "))
            .unwrap_or(&text)
            .trim();
        if text.is_empty() {
            return None;
        }
        if text.chars().count() <= MAX_REASON_CHARS {
            return Some(text.to_owned());
        }
        let mut cut: String = text.chars().take(MAX_REASON_CHARS - 1).collect();
        cut.push('…');
        Some(cut)
    }
}

/// How a run that did not exit 0 ended: `exited with status N`, `killed by
/// signal NAME` or `dumped core on signal NAME` (the words of systemd's
/// `$SERVICE_RESULT` the post-run step uses too), then `: reason` when
/// there is one.
pub fn why_failed(status: ExitStatus, reason: Option<&str>) -> String {
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) if status.core_dumped() => {
            format!("dumped core on signal {}", signal_name(sig))
        }
        (None, Some(sig)) => format!("killed by signal {}", signal_name(sig)),
        (None, None) => "ended in an unknown way".to_owned(),
    };
    match reason {
        Some(why) => format!("{how}: {why}"),
        None => how,
    }
}

/// A signal's name as systemd writes it (`KILL`, `SEGV`), or its number.
pub fn signal_name(sig: i32) -> String {
    // Linux's numbering, the same on every architecture for these.
    const NAMES: [&str; 16] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT",
    ];
    usize::try_from(sig)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| sig.to_string(), |n| (*n).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(lines: &[&[u8]]) -> LastLine {
        let mut l = LastLine::default();
        for line in lines {
            l.see(line);
        }
        l
    }

    #[test]
    fn last_non_blank_line_without_the_script_name() {
        let l = last(&[
            b"first",
            b"/usr/local/bin/service-status-indicator/x.bash: line 5: foo: command not found",
            b"   ",
        ]);
        assert_eq!(
            l.reason("/usr/local/bin/service-status-indicator/x.bash")
                .as_deref(),
            Some("line 5: foo: command not found")
        );
        assert_eq!(last(&[]).reason("/x"), None);
        assert_eq!(last(&[b"", b" \t"]).reason("/x"), None);
    }

    #[test]
    fn cleaned_and_bounded() {
        let l = last(&[b"bad \x1b[31mred\x1b[0m \xff byte\r"]);
        assert_eq!(
            l.reason("/x").as_deref(),
            Some("bad \u{fffd}[31mred\u{fffd}[0m \u{fffd} byte")
        );
        let long = vec![b'x'; 100_000];
        let r = last(&[&long]).reason("/x").unwrap();
        assert_eq!(r.chars().count(), MAX_REASON_CHARS);
        assert!(r.ends_with('…'));
    }

    #[test]
    fn how_it_ended() {
        let exited = ExitStatus::from_raw(127 << 8);
        assert_eq!(
            why_failed(exited, Some("line 5: foo: command not found")),
            "exited with status 127: line 5: foo: command not found"
        );
        assert_eq!(
            why_failed(ExitStatus::from_raw(9), None),
            "killed by signal KILL"
        );
        assert_eq!(
            why_failed(ExitStatus::from_raw(11 | 0x80), None),
            "dumped core on signal SEGV"
        );
        assert_eq!(signal_name(64), "64");
        assert_eq!(signal_name(0), "0");
    }
}
