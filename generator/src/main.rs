//! `ssi-generator`: the systemd generator (systemd.generator(7)) that turns
//! check scripts into `ssi_<id>.service` + `ssi_<id>.timer`.

mod generator;
mod kmsg;
mod units;

use std::path::PathBuf;
use std::process::ExitCode;

use ssi::dirs::Dirs;

use crate::generator::Config;

/// What `--help` says before the options.
const ABOUT: &str = "\
Usage: ssi-generator NORMAL-DIR [EARLY-DIR LATE-DIR]

systemd generator for Service Status Indicator: writes ssi_<id>.service and
ssi_<id>.timer into NORMAL-DIR for every valid check script in
$SSI_SCRIPTS_DIR (default /usr/local/bin/service-status-indicator).

Options:";

/// One option: the parser, `--help` and (by a test) the manual's OPTIONS
/// come from [`FLAGS`].
struct Flag {
    short: char,
    long: &'static str,
    help: &'static str,
    command: Command,
}

/// Every option, in the order `--help` lists them.
const FLAGS: [Flag; 2] = [
    Flag {
        short: 'h',
        long: "help",
        help: "Print this help",
        command: Command::Help,
    },
    Flag {
        short: 'V',
        long: "version",
        help: "Print the version",
        command: Command::Version,
    },
];

/// The usage text, made from [`FLAGS`].
fn usage() -> String {
    let mut out = String::from(ABOUT);
    for f in &FLAGS {
        out.push_str(&format!("\n  -{}, --{:<9}{}", f.short, f.long, f.help));
    }
    out
}

#[derive(Clone)]
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
            Value(v) => dirs.push(PathBuf::from(v)),
            other => {
                let flag = FLAGS.iter().find(|f| match &other {
                    Short(c) => *c == f.short,
                    Long(name) => *name == f.long,
                    Value(_) => false,
                });
                match flag {
                    Some(f) => return Ok(f.command.clone()),
                    None => return Err(other.unexpected().to_string()),
                }
            }
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
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("ssi-generator {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ssi-generator: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    kmsg::init("ssi-generator");
    // Check scripts live on the real root file system, not in the initrd.
    if std::env::var("SYSTEMD_IN_INITRD").is_ok_and(|v| v == "1") {
        log::debug!("running in the initrd, nothing to do.");
        return ExitCode::SUCCESS;
    }
    let dirs = Dirs::from_env();
    let log_dir = resolve(dirs.logs);
    // The log directory goes into every unit: refuse one that cannot be
    // written there faithfully rather than make units that mean otherwise.
    match log_dir.to_str() {
        Some(p) if !p.chars().any(char::is_control) => {}
        _ => {
            log::error!(
                "log directory {:?} (SSI_LOG_DIR): expected a UTF-8 path without control characters.",
                log_dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    // Set only by tests and unusual installs: systemd runs generators with
    // an empty environment, so the build's LIBEXECDIR applies.
    let libexecdir =
        std::env::var("SSI_LIBEXECDIR").unwrap_or_else(|_| units::LIBEXECDIR.to_owned());
    if !units::usable_libexecdir(&libexecdir) {
        log::error!(
            "runner directory {libexecdir:?} (SSI_LIBEXECDIR): expected an absolute path without control characters, quotes or backslashes."
        );
        return ExitCode::FAILURE;
    }
    let cfg = Config {
        output,
        scripts_dir: resolve(dirs.scripts),
        log_dir,
        libexecdir,
    };
    match generator::run(&cfg) {
        Ok(summary) => {
            log::debug!(
                "generated units for {} script(s), skipped {}.",
                summary.generated,
                summary.skipped
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of the table head the paragraphs of the manual's
    /// OPTIONS, each with its short form, in order, and no other does.
    #[test]
    fn options_agree_with_the_manual() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/ssi-generator.8");
        let man = std::fs::read_to_string(path).unwrap().replace("\\-", "-");
        let start = man.find(".SH OPTIONS\n").unwrap();
        let rest = &man[start + 4..];
        let options = &rest[..rest.find("\n.SH ").unwrap()];
        let lines: Vec<&str> = options.lines().collect();
        let heads: Vec<&str> = lines
            .windows(2)
            .filter(|w| w[0] == ".TP")
            .map(|w| w[1])
            .collect();
        assert_eq!(heads.len(), FLAGS.len(), "{heads:?}");
        for (head, f) in heads.iter().zip(&FLAGS) {
            assert_eq!(*head, format!(".BR -{} \", \" --{}", f.short, f.long));
        }
        for f in &FLAGS {
            assert!(usage().contains(&format!("-{}, --{}", f.short, f.long)));
        }
    }
}
