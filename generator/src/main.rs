//! `ssi-generator`: the systemd generator (systemd.generator(7)) that turns
//! check scripts into `ssi_<id>.service` + `ssi_<id>.timer`.

mod generator;
mod log;
mod units;

use std::path::PathBuf;
use std::process::ExitCode;

use ssi::dirs::Dirs;

use crate::generator::Config;
use crate::log::Logger;

const USAGE: &str = "\
Usage: ssi-generator NORMAL-DIR [EARLY-DIR LATE-DIR]

systemd generator for Service Status Indicator: writes ssi_<id>.service and
ssi_<id>.timer into NORMAL-DIR for every valid check script in
$SSI_SCRIPTS_DIR (default /usr/local/bin/service-status-indicator).

Options:
  -h, --help     Print this help
  -V, --version  Print the version";

enum Command {
    Generate(PathBuf),
    Help,
    Version,
}

fn parse_args() -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut dirs = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Value(v) => dirs.push(PathBuf::from(v)),
            other => return Err(other.unexpected().to_string()),
        }
    }
    match dirs.len() {
        1 | 3 => Ok(Command::Generate(dirs.swap_remove(0))),
        n => Err(format!("expected 1 or 3 directory arguments, got {n}")),
    }
}

/// An absolute, normalized form of `dir` (systemd ignores a `SourcePath=`
/// with `..` in it): the real path when it exists, else made absolute.
fn resolve(dir: PathBuf) -> PathBuf {
    std::fs::canonicalize(&dir)
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir)
}

fn main() -> ExitCode {
    let output = match parse_args() {
        Ok(Command::Generate(dir)) => dir,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("ssi-generator {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ssi-generator: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let log = Logger::from_env("ssi-generator");
    // Check scripts live on the real root file system, not in the initrd.
    if std::env::var("SYSTEMD_IN_INITRD").is_ok_and(|v| v == "1") {
        log.debug("running in the initrd, nothing to do.");
        return ExitCode::SUCCESS;
    }
    let dirs = Dirs::from_env();
    let log_dir = resolve(dirs.logs);
    // The log directory goes into every unit: refuse one that cannot be
    // written there faithfully rather than make units that mean otherwise.
    match log_dir.to_str() {
        Some(p) if !p.chars().any(char::is_control) => {}
        _ => {
            log.error(&format!(
                "log directory {:?} (SSI_LOG_DIR): expected a UTF-8 path without control characters.",
                log_dir.display()
            ));
            return ExitCode::FAILURE;
        }
    }
    // Set only by tests and unusual installs: systemd runs generators with
    // an empty environment, so the build's LIBEXECDIR applies.
    let libexecdir =
        std::env::var("SSI_LIBEXECDIR").unwrap_or_else(|_| units::LIBEXECDIR.to_owned());
    if !units::usable_libexecdir(&libexecdir) {
        log.error(&format!(
            "runner directory {libexecdir:?} (SSI_LIBEXECDIR): expected an absolute path without control characters, quotes or backslashes."
        ));
        return ExitCode::FAILURE;
    }
    let cfg = Config {
        output,
        scripts_dir: resolve(dirs.scripts),
        log_dir,
        libexecdir,
    };
    match generator::run(&cfg, &log) {
        Ok(summary) => {
            log.debug(&format!(
                "generated units for {} script(s), skipped {}.",
                summary.generated, summary.skipped
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            log.error(&e.to_string());
            ExitCode::FAILURE
        }
    }
}
