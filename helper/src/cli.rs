//! The command line of `ssi-status`, as clap reads it: the commands and
//! every option, with the help text each shows. Only types; each command's
//! file (`list`, `show`, `history`, `check`, `run`, `notify`) does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::look::ColorChoice;

/// List, show, check and run Service Status Indicator checks.
///
/// Without a command, lists every check (`ssi-status list`).
#[derive(Debug, Parser)]
#[command(name = "ssi-status", version, args_conflicts_with_subcommands = true)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    #[command(flatten)]
    pub list: ListArgs,
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Check scripts directory [env: SSI_SCRIPTS_DIR; default: /usr/local/bin/service-status-indicator]
    #[arg(long, global = true, value_name = "DIR")]
    pub scripts_dir: Option<PathBuf>,
    /// Log directory [env: SSI_LOG_DIR; default: /var/log/service-status-indicator]
    #[arg(long, global = true, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Colour statuses: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Table of every check: id, name, version, schedule, status, last run
    List(ListArgs),
    /// Everything about one check: manifest, paths, status, log, timer
    Show(ShowArgs),
    /// A check's last status lines, newest last, and its availability
    History(HistoryArgs),
    /// Validate scripts as the generator does and show their next elapses
    Check(CheckArgs),
    /// Run a check now through systemd, wait, and print its new status
    Run(RunArgs),
    /// No notification for these checks (or all) until a time, or until lifted
    Silence(SilenceArgs),
    /// Lift silences
    Unsilence(UnsilenceArgs),
    /// Acknowledge a check's current problem: quiet until it changes
    Ack(AckArgs),
    /// Tell the notification hooks of new events (run by ssi-notify@.service)
    Notify(NotifyArgs),
    /// Deliver one owed event to its hook (run by ssi-notify-hook@.service)
    NotifyDeliver(DeliverArgs),
    /// Send a test event through every notification hook and report each result
    NotifyTest(NotifyTestArgs),
}

/// Where notification hooks and the notifier's state live.
#[derive(Debug, Args)]
pub struct NotifyDirs {
    /// Notification hooks directory [env: SSI_HOOKS_DIR; default: /etc/service-status-indicator/notify.d]
    #[arg(long, value_name = "DIR")]
    pub hooks_dir: Option<PathBuf>,
    /// Notifier state directory [env: SSI_STATE_DIR; default: /var/lib/service-status-indicator]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// How each hook is run.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Attempts in all before a delivery is given up
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
    /// Seconds before the second attempt, doubling for each later one
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub retry_sec: u64,
    /// Seconds each attempt may take before its processes are ended
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Runs a new status must hold before it is told, for checks without "# notify-after:" [env: SSI_NOTIFY_AFTER; default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub after: Option<u32>,
    /// Tell a still-bad check again after SPAN, for checks without "# remind-every:" [env: SSI_REMIND_EVERY; default: never]
    #[arg(long, value_name = "SPAN")]
    pub remind_every: Option<String>,
    #[command(flatten)]
    pub dirs: NotifyDirs,
    #[command(flatten)]
    pub retry: RetryArgs,
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// The delivery (the instance name of ssi-notify-hook@.service)
    pub delivery: String,
    #[command(flatten)]
    pub dirs: NotifyDirs,
    #[command(flatten)]
    pub retry: RetryArgs,
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// A service whose name and last status the test event carries
    pub id: Option<String>,
    /// Seconds each hook may take
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    #[command(flatten)]
    pub dirs: NotifyDirs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array, one object per script, sorted by id
    #[arg(long, conflicts_with_all = ["nagios", "prometheus"])]
    pub json: bool,
    /// Print one Nagios plugin line and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    #[arg(long, conflicts_with = "prometheus")]
    pub nagios: bool,
    /// Print Prometheus metrics (text format 0.0.4), as node_exporter's textfile collector reads them
    #[arg(long)]
    pub prometheus: bool,
    /// With --prometheus: replace FILE atomically instead of printing
    #[arg(long, requires = "prometheus", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print every column and whole messages, however wide the terminal
    #[arg(short = 'l', long)]
    pub full: bool,
    /// Redraw the table whenever a script or a log changes, until Ctrl-C
    #[arg(short = 'w', long, conflicts_with_all = ["json", "nagios", "prometheus"])]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service` or `ssi_x.timer`
    pub id: String,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service` or `ssi_x.timer`
    pub id: String,
    /// Show at most N lines [default: 50, or 10000 with --since]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=ssi::history::MAX_LIMIT as i64))]
    pub limit: Option<u32>,
    /// Only lines given at or after TIME (`2026-11-26 10:00`, `yesterday`, `-24h`, `2d ago`, `@1764151200`, …)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scripts to validate
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How many elapses to show (at most 100000)
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub iterations: u32,
    /// Compute elapses after this time instead of now (`2026-11-26 10:00:00`, `@1764151200`, `now`, … with optional ` UTC`)
    #[arg(long, value_name = "TIMESTAMP")]
    pub base_time: Option<String>,
    /// Print a JSON array, one object per file, sorted by id
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Service: `x`, `ssi_x`, `ssi_x.service`
    pub id: String,
    /// Print the new status as a JSON object
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn manual() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/ssi-status.1");
        std::fs::read_to_string(path).unwrap().replace("\\-", "-")
    }

    /// The manual's section `name`, up to the next `.SH`.
    fn section<'a>(man: &'a str, name: &str) -> &'a str {
        let start = man.find(&format!(".SH {name}\n")).unwrap();
        let rest = &man[start + 4..];
        &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
    }

    /// Every command and option of the parser, with the `[env: VAR…]`
    /// its help names, is in the manual: each command has its paragraph
    /// under COMMANDS, each option is named, each variable has its
    /// paragraph under ENVIRONMENT; and every option heading a paragraph
    /// of the manual's OPTIONS is one the parser takes.
    #[test]
    fn commands_options_and_variables_agree_with_the_manual() {
        let man = manual();
        let commands = section(&man, "COMMANDS");
        let environment = section(&man, "ENVIRONMENT");
        let root = Opts::command();
        let mut longs = Vec::new();
        let mut walk = vec![&root];
        while let Some(cmd) = walk.pop() {
            if cmd.get_name() != "ssi-status" {
                let head = format!(".TP\n.B {}", cmd.get_name());
                let head_i = format!(".TP\n.BI {} ", cmd.get_name());
                assert!(
                    commands.contains(&format!("{head}\n")) || commands.contains(&head_i),
                    "the manual's COMMANDS lacks {}",
                    cmd.get_name()
                );
            }
            for arg in cmd.get_arguments() {
                if let Some(long) = arg.get_long() {
                    longs.push(long.to_owned());
                    assert!(
                        man.contains(&format!("--{long}")),
                        "the manual lacks --{long}"
                    );
                }
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                if let Some(env) = help.split("[env: ").nth(1) {
                    let var = env.split([';', ']']).next().unwrap();
                    assert!(
                        environment.contains(&format!(".TP\n.B {var}\n")),
                        "the manual's ENVIRONMENT lacks {var}"
                    );
                }
            }
            walk.extend(cmd.get_subcommands());
        }
        let options: Vec<&str> = section(&man, "OPTIONS").lines().collect();
        let heads = options.windows(2).filter(|w| w[0] == ".TP").map(|w| w[1]);
        for line in heads {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                if let Some(long) = word.strip_prefix("--").filter(|w| !w.is_empty()) {
                    assert!(
                        longs.iter().any(|l| l == long) || long == "help" || long == "version",
                        "the manual's OPTIONS describes --{long}, which no command takes"
                    );
                }
            }
        }
    }
}

/// Where silences and acknowledgements are kept.
#[derive(Debug, Args)]
pub struct StateDir {
    /// Notifier state directory [env: SSI_STATE_DIR; default: /var/lib/service-status-indicator]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl StateDir {
    /// The directory given, else the notifier's.
    pub fn dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(crate::notify::state_dir)
    }
}

#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// Services: `x`, `ssi_x`, …
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub ids: Vec<String>,
    /// Every check (with --until: a one-off maintenance window)
    #[arg(long)]
    pub all: bool,
    /// For this long (`2h`, `1d 12h`, `30min`)
    #[arg(long = "for", value_name = "SPAN", conflicts_with = "until")]
    pub for_span: Option<String>,
    /// Until this time (`2026-12-24 08:00`, `tomorrow`, `@1764151200`, …)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Why (logged, and shown by list, show and the dashboard)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Args)]
pub struct UnsilenceArgs {
    /// Services: `x`, `ssi_x`, …
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub ids: Vec<String>,
    /// Every silence, one-off maintenance included
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    /// Service: `x`, `ssi_x`, …
    pub id: String,
    /// Why (logged, and shown by list, show and the dashboard)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
}
