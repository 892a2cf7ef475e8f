//! `ssi-run`: the one mechanism between a check script and its log. Every
//! generated `ssi_<id>.service` runs `ssi-run [--output nagios] SCRIPT`
//! with its standard output appended to the check's log. It runs the
//! script and
//! - stamps each status line printed without a time stamp with the time it
//!   is written (ssi::status::stamp), passing every other line as it is;
//! - passes the script's standard error on to its own (the journal),
//!   keeping the last line for the reason of an `ERROR` line;
//! - when the script fails, appends `ERROR, exited with status N: reason`
//!   (or `killed by signal NAME`, `dumped core on signal NAME`);
//! - with `--output nagios`, turns a Monitoring Plugins-style check's exit
//!   status and output into a status line, a `perfdata:` line and its long
//!   output ([`plugin`]).
//!
//! A timeout is systemd's to see: it kills the whole unit, this runner
//! too, and the unit's post-run step writes that `ERROR` line.

mod plugin;
mod reason;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use ssi::manifest::Output;
use ssi::status::{self, Status};

use crate::reason::LastLine;

const USAGE: &str = "\
Usage: ssi-run [--output status|nagios] SCRIPT [ARG...]

Runs a Service Status Indicator check script with its standard output going
to this program's (the check's log): status lines without a time stamp get
one, a failed run gets an ERROR line with its reason, and with
--output nagios a Monitoring Plugins-style check's exit status and output
become a status line. Generated units run it; see ssi-script(5).

Options:
  --output KIND  status (the default) or nagios
  -h, --help     Print this help
  -V, --version  Print the version";

/// A status line longer than this is passed on in pieces, unstamped after
/// the first: memory stays bounded whatever a script prints.
const MAX_LINE: usize = 64 << 10;
/// The most of a plugin's output that is kept (the rest is read and
/// dropped, so the plugin never blocks on a full pipe).
const MAX_PLUGIN_OUTPUT: usize = 1 << 20;

/// What to run and how to read it.
struct Opts {
    output: Output,
    script: PathBuf,
    args: Vec<OsString>,
}

enum Parsed {
    Run(Opts),
    Help,
    Version,
}

fn parse_args() -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut output = Output::Status;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Long("output") => {
                let v = parser.value().map_err(|e| e.to_string())?;
                output = match v.to_str() {
                    Some("status") => Output::Status,
                    Some("nagios") => Output::Nagios,
                    _ => {
                        return Err(format!(
                            "--output {:?}: expected \"status\" or \"nagios\"",
                            v.to_string_lossy()
                        ))
                    }
                };
            }
            Value(script) => {
                let args = parser.raw_args().map_err(|e| e.to_string())?.collect();
                return Ok(Parsed::Run(Opts {
                    output,
                    script: PathBuf::from(script),
                    args,
                }));
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Err("expected a SCRIPT to run".to_owned())
}

/// Its own messages go to standard error (the journal, under systemd)
/// through the `log` facade, each line `ssi-run: …`.
static LOG: ssi::journal::Journal = ssi::journal::Journal::new("ssi-run: ");

fn main() -> ExitCode {
    ssi::journal::init(&LOG, log::LevelFilter::Info);
    match parse_args() {
        Ok(Parsed::Run(opts)) => run(&opts),
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            println!("ssi-run {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ssi-run: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The log: standard output, written with one `write` per call so that a
/// status line and its `perfdata:` line always arrive together.
struct Log {
    file: Option<File>,
    failed: bool,
}

impl Log {
    fn open() -> Log {
        let file = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| log::error!("standard output (the log): {e}"))
            .ok();
        Log {
            failed: file.is_none(),
            file,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(f) = &mut self.file else { return };
        if let Err(e) = f.write_all(bytes) {
            if !self.failed {
                log::error!("cannot write to the log (standard output): {e}");
            }
            self.failed = true;
        }
    }
}

/// The local time stamp written now.
fn now() -> String {
    status::format_time(jiff::Zoned::now().datetime())
}

fn run(opts: &Opts) -> ExitCode {
    let mut log = Log::open();
    let script = opts.script.to_string_lossy().into_owned();
    let mut child = match Command::new(&opts.script)
        .args(&opts.args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            log::error!("{script}: cannot run: {e}");
            let line = format!("{}, ERROR, could not start {script}: {e}\n", now());
            log.write(status::clean_message(&line).as_bytes());
            // The shells' statuses for "not found" and "cannot execute".
            let code = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return ExitCode::from(code);
        }
    };
    let stderr = child
        .stderr
        .take()
        .map(|err| std::thread::spawn(move || pass_stderr(err)));
    let stdout = child.stdout.take();
    let plugin_output = match (opts.output, stdout) {
        (Output::Status, Some(out)) => {
            copy_stamped(out, &mut log);
            None
        }
        (Output::Nagios, Some(out)) => Some(read_bounded(out)),
        (_, None) => None,
    };
    let waited = child.wait();
    let last = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let exit = match waited {
        Ok(s) => s,
        Err(e) => {
            log::error!("{script}: cannot wait for it: {e}");
            let line = format!("{}, ERROR, lost track of the run: {e}\n", now());
            log.write(line.as_bytes());
            return ExitCode::FAILURE;
        }
    };
    let reason = last.reason(&script);
    match (plugin_output, exit.code()) {
        (Some(out), Some(code)) => {
            let parsed = plugin::Output::parse(&out);
            let lines = parsed.log_lines(&now(), plugin::status_of(code), reason.as_deref());
            log.write(lines.as_bytes());
            // 0 to 3 are a plugin's answers, not failures of the unit.
            if (0..=3).contains(&code) {
                ExitCode::SUCCESS
            } else {
                exit_code(exit)
            }
        }
        _ if exit.success() => ExitCode::SUCCESS,
        _ => {
            let why = reason::why_failed(exit, reason.as_deref());
            log.write(format!("{}, {}, {why}\n", now(), Status::Error).as_bytes());
            exit_code(exit)
        }
    }
}

/// This runner's exit status for a run that failed: the script's, so that
/// `systemctl status` shows it, but never one of systemd's own (200 and
/// up, which the unit's post-run step reads as "could not start"): those
/// become 1. A signal becomes 128 + its number, as in the shells.
fn exit_code(exit: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = exit
        .code()
        .or_else(|| exit.signal().map(|s| 128 + s))
        .unwrap_or(1);
    match u8::try_from(code) {
        Ok(c) if (1..200).contains(&c) => ExitCode::from(c),
        _ => ExitCode::FAILURE,
    }
}

/// Copies the script's standard output to the log line by line, each
/// status line without a time stamp stamped with the time it is written.
/// A last line without `\n` is ended, so the next line is not glued to it.
fn copy_stamped(out: impl Read, log: &mut Log) {
    let mut r = BufReader::with_capacity(MAX_LINE, out);
    let mut line: Vec<u8> = Vec::new();
    // Part of the current line was already written (it was overlong).
    let mut continued = false;
    fn emit(line: &[u8], continued: bool, end: bool, log: &mut Log) {
        let stamped = match continued {
            false => status::stamp(line, jiff::Zoned::now().datetime()),
            true => None,
        };
        let mut bytes = stamped.unwrap_or_else(|| line.to_vec());
        if end {
            bytes.push(b'\n');
        }
        log.write(&bytes);
    }
    loop {
        let buf = match r.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!("reading the script's standard output: {e}");
                break;
            }
        };
        let (take, complete) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take - usize::from(complete)]);
        r.consume(take);
        if complete {
            emit(&line, continued, true, log);
            line.clear();
            continued = false;
        } else if line.len() >= MAX_LINE {
            emit(&line, continued, false, log);
            line.clear();
            continued = true;
        }
    }
    if !line.is_empty() || continued {
        emit(&line, continued, true, log);
    }
}

/// A plugin's standard output, at most [`MAX_PLUGIN_OUTPUT`] bytes of it.
fn read_bounded(out: impl Read) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut r = out;
    if let Err(e) = (&mut r)
        .take(MAX_PLUGIN_OUTPUT as u64)
        .read_to_end(&mut kept)
    {
        log::error!("reading the plugin's standard output: {e}");
    }
    // Drain the rest so that the plugin is never blocked writing it.
    let _ = io::copy(&mut r, &mut io::sink());
    kept
}

/// Passes the script's standard error on to ours, line by line, and gives
/// back its last non-blank line.
fn pass_stderr(err: impl Read) -> LastLine {
    let mut last = LastLine::default();
    let mut r = BufReader::new(err);
    let mut line = Vec::new();
    let mut ours = io::stderr();
    loop {
        line.clear();
        match (&mut r)
            .take(reason::MAX_LINE_BYTES as u64 * 16)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(_) => {
                let _ = ours.write_all(&line);
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                last.see(text);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    last
}
