//! A Monitoring Plugins-style check's output (`# output: nagios`) turned
//! into what the log holds: the status line, one `perfdata:` line, and the
//! long output in a form no reader takes for a status line.
//!
//! The plugin guidelines (monitoring-plugins.org, "Plugin Output"):
//!
//! ```text
//! output    = first *long [ perfline *perfmore ]
//! first     = text [ "|" perfdata ] EOL          text: the one-line summary
//! long      = text EOL                           no "|" in it
//! perfline  = text "|" perfdata EOL              the first long line with "|"
//! perfmore  = perfdata EOL                       every line after it
//! ```
//!
//! Exit status 0 is OK, 1 WARNING, 2 CRITICAL (our FAILURE), 3 UNKNOWN;
//! anything else is UNKNOWN too.

use ssi::status::Status;

/// Written before each long output line in the log. After the status
/// grammar trims leading white space, `>` starts no time stamp and no
/// status word, so such a line never reads as a status.
pub const LONG_PREFIX: &str = "> ";

/// The status a plugin's exit status means.
pub fn status_of(code: i32) -> Status {
    match code {
        0 => Status::Ok,
        1 => Status::Warning,
        2 => Status::Failure,
        _ => Status::Unknown,
    }
}

/// A plugin's output, split as the guidelines define it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// The first line's text before `|`, trimmed.
    pub summary: String,
    /// Long output lines (after the first, before the performance data).
    pub long: Vec<String>,
    /// Every piece of performance data, trimmed, empty pieces left out.
    pub perfdata: Vec<String>,
}

impl Output {
    /// Splits a plugin's standard output (CRLF tolerated, invalid UTF-8
    /// replaced, control characters but tab replaced by U+FFFD: nothing a
    /// plugin prints may break a log line).
    pub fn parse(stdout: &[u8]) -> Output {
        let text = String::from_utf8_lossy(stdout);
        let mut out = Output::default();
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let clean = |s: &str| ssi::status::clean_message(s.trim()).into_owned();
        if let Some(first) = lines.next() {
            let (summary, perf) = first.split_once('|').unwrap_or((first, ""));
            out.summary = clean(summary);
            out.push_perf(&clean(perf));
        }
        let mut in_perf = false;
        for line in lines {
            if in_perf {
                out.push_perf(&clean(line));
            } else if let Some((long, perf)) = line.split_once('|') {
                in_perf = true;
                out.push_long(long);
                out.push_perf(&clean(perf));
            } else {
                out.push_long(line);
            }
        }
        // Blank lines at the end of the long output say nothing.
        while out.long.last().is_some_and(|l| l.is_empty()) {
            out.long.pop();
        }
        out
    }

    fn push_perf(&mut self, piece: &str) {
        if !piece.is_empty() {
            self.perfdata.push(piece.to_owned());
        }
    }

    fn push_long(&mut self, line: &str) {
        let line = ssi::status::clean_message(line.trim_end()).into_owned();
        self.long.push(line);
    }

    /// What is appended to the log, in one write: the status line (stamped
    /// with `stamp`), the `perfdata:` line when there is performance data,
    /// then each long output line behind [`LONG_PREFIX`]. `fallback` is the
    /// message when the plugin printed no summary (the last line it wrote
    /// to standard error, say).
    pub fn log_lines(&self, stamp: &str, status: Status, fallback: Option<&str>) -> String {
        let mut out = String::new();
        let message = match (self.summary.as_str(), fallback) {
            ("", Some(why)) => why,
            (summary, _) => summary,
        };
        out.push_str(stamp);
        out.push_str(", ");
        out.push_str(status.as_str());
        if !message.is_empty() {
            out.push_str(", ");
            out.push_str(message);
        }
        out.push('\n');
        if !self.perfdata.is_empty() {
            // The reader's own prefix: the line directly follows its status line.
            out.push_str(ssi::perfdata::PREFIX);
            out.push_str(&self.perfdata.join(" "));
            out.push('\n');
        }
        for line in &self.long {
            if line.is_empty() {
                out.push_str(LONG_PREFIX.trim_end());
            } else {
                out.push_str(LONG_PREFIX);
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssi::status::StatusLine;

    #[test]
    fn exit_statuses() {
        assert_eq!(status_of(0), Status::Ok);
        assert_eq!(status_of(1), Status::Warning);
        assert_eq!(status_of(2), Status::Failure);
        assert_eq!(status_of(3), Status::Unknown);
        assert_eq!(status_of(4), Status::Unknown);
        assert_eq!(status_of(127), Status::Unknown);
        assert_eq!(status_of(-1), Status::Unknown);
    }

    #[test]
    fn one_line() {
        let o = Output::parse(b"TCP OK - 0.000 second response time on 127.0.0.1 port 22|time=0.000102s;;;0.000000;10.000000\n");
        assert_eq!(
            o.summary,
            "TCP OK - 0.000 second response time on 127.0.0.1 port 22"
        );
        assert_eq!(o.perfdata, ["time=0.000102s;;;0.000000;10.000000"]);
        assert!(o.long.is_empty());
        assert_eq!(
            o.log_lines("2026-12-05 08:00:00", Status::Ok, None),
            "2026-12-05 08:00:00, OK, TCP OK - 0.000 second response time on 127.0.0.1 port 22\n\
             perfdata: time=0.000102s;;;0.000000;10.000000\n"
        );
    }

    #[test]
    fn no_perfdata_no_perfdata_line() {
        let o = Output::parse(b"DISK OK\n");
        assert_eq!(
            o.log_lines("2026-12-05 08:00:00", Status::Ok, None),
            "2026-12-05 08:00:00, OK, DISK OK\n"
        );
        let o = Output::parse(b"");
        assert_eq!(
            o.log_lines(
                "2026-12-05 08:00:00",
                Status::Unknown,
                Some("check_x: not found")
            ),
            "2026-12-05 08:00:00, UNKNOWN, check_x: not found\n"
        );
        assert_eq!(
            o.log_lines("2026-12-05 08:00:00", Status::Unknown, None),
            "2026-12-05 08:00:00, UNKNOWN\n"
        );
    }

    /// The guidelines' own example of multi-line output with performance
    /// data on the first line and after the long output.
    #[test]
    fn guidelines_multi_line_example() {
        let out = b"DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\r\n\
/ 15272 MB (77%);\n\
/boot 68 MB (69%);\n\
/home 69357 MB (27%);\n\
/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
/home=69357MB;253404;253409;0;253414 \n\
/var/log=818MB;970;975;0;980\n";
        let o = Output::parse(out);
        assert_eq!(o.summary, "DISK OK - free space: / 3326 MB (56%);");
        assert_eq!(
            o.long,
            [
                "/ 15272 MB (77%);",
                "/boot 68 MB (69%);",
                "/home 69357 MB (27%);",
                "/var/log 819 MB (84%);"
            ]
        );
        assert_eq!(
            o.perfdata,
            [
                "/=2643MB;5948;5958;0;5968",
                "/boot=68MB;88;93;0;98",
                "/home=69357MB;253404;253409;0;253414",
                "/var/log=818MB;970;975;0;980"
            ]
        );
        let log = o.log_lines("2026-12-05 08:00:00", Status::Ok, None);
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(
            lines[0],
            "2026-12-05 08:00:00, OK, DISK OK - free space: / 3326 MB (56%);"
        );
        assert_eq!(
            lines[1],
            "perfdata: /=2643MB;5948;5958;0;5968 /boot=68MB;88;93;0;98 /home=69357MB;253404;253409;0;253414 /var/log=818MB;970;975;0;980"
        );
        assert_eq!(lines[2], "> / 15272 MB (77%);");
        assert_eq!(lines.len(), 6);
    }

    /// Only the status line of a run reads as a status: no long output
    /// line and no perfdata line does, however the plugin wrote it
    /// (indented, stamped, in any case), and control characters cannot
    /// start a new line.
    #[test]
    fn only_the_status_line_parses_as_a_status() {
        let out = "CHECK WARNING - x | a=1\n\
OK, looks like a status\n\
   2026-01-01 00:00:00, FAILURE, indented and stamped\n\
\t error\n\
\u{a0}\u{2003}UNKNOWN, unicode white space\n\
\n\
critical\rOK, carriage return\n\
last | 'b c'=2;3;4 \n\
  'd=e'=5%\n";
        let o = Output::parse(out.as_bytes());
        let log = o.log_lines("2026-12-05 08:00:00", Status::Warning, None);
        let statuses: Vec<StatusLine> = log.lines().filter_map(StatusLine::parse).collect();
        assert_eq!(statuses.len(), 1, "{log}");
        assert_eq!(statuses[0].status, Status::Warning);
        assert_eq!(statuses[0].message, "CHECK WARNING - x");
        assert_eq!(
            log.lines().nth(1),
            Some("perfdata: a=1 'b c'=2;3;4 'd=e'=5%")
        );
        assert!(log.lines().all(|l| !l.contains('\r')), "{log}");
        assert_eq!(log.lines().count(), 2 + 7, "{log}");
    }
}
