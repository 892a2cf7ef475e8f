//! `ssi-status`: list, show, check and run Service Status Indicator checks.
//!
//! Exit codes: [`exit::Exit`].

mod ack;
mod basetime;
mod check;
mod cli;
mod command;
mod entry;
mod exit;
mod find;
mod history;
mod list;
mod look;
mod notify;
mod prometheus;
mod quiet;
mod run;
mod show;
mod silence;
mod systemd;
mod watch;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cmd, Opts};
use crate::command::Ctx;
use crate::exit::Exit;

/// Messages go to standard error through the `log` facade, each line
/// `ssi-status: …`, with the journal's priority under systemd.
static LOG: ssi::journal::Journal = ssi::journal::Journal::new("ssi-status: ");

/// Parses, runs the one command, prints what it returned.
fn main() -> ExitCode {
    ssi::journal::init(&LOG, log::LevelFilter::Info);
    let opts = Opts::parse();
    let ctx = match Ctx::new(&opts.global) {
        Ok(ctx) => ctx,
        Err(e) => {
            log::error!("{e}");
            return Exit::Usage.into();
        }
    };
    let result = match &opts.command {
        None => list::run(&ctx, &opts.list),
        Some(Cmd::List(a)) => list::run(&ctx, a),
        Some(Cmd::Show(a)) => show::run(&ctx, a),
        Some(Cmd::History(a)) => history::run(&ctx, a),
        Some(Cmd::Check(a)) => check::run(&ctx, a),
        Some(Cmd::Run(a)) => run::run(&ctx, a),
        Some(Cmd::Silence(a)) => silence::run(&ctx, a),
        Some(Cmd::Unsilence(a)) => silence::unsilence(&ctx, &a.ids, a.all, &a.state.dir()),
        Some(Cmd::Ack(a)) => ack::run(&ctx, a),
        Some(Cmd::Notify(a)) => notify::run(&ctx, a),
        Some(Cmd::NotifyDeliver(a)) => notify::run_deliver(&ctx, a),
        Some(Cmd::NotifyTest(a)) => notify::run_test(&ctx, a),
    };
    let (stdout, code, message) = match result {
        Ok(out) => (out.stdout, out.code, None),
        Err(f) => (f.stdout, f.code, Some(f.message)),
    };
    let mut out = io::stdout().lock();
    match out.write_all(stdout.as_bytes()).and_then(|()| out.flush()) {
        // `ssi-status | head`: the reader has what it wanted.
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            log::error!("cannot write output: {e}");
            return Exit::Failure.into();
        }
    }
    if let Some(m) = message {
        log::error!("{m}");
    }
    code.into()
}
