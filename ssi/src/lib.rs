//! `ssi`: what a Service Status Indicator check script, schedule, status line
//! and service id are. Shared by `ssi-generator`, `ssi-status` and
//! `ssi-broadcaster`, so all three judge and present a script the same way.
//! What only one program needs lives in that program's crate (unit files
//! and the kernel-log writer in `ssi-generator`, for instance).

pub mod calendar;
pub mod dirs;
pub mod history;
pub mod host;
pub mod journal;
pub mod late;
pub mod logfile;
pub mod manifest;
pub mod metrics;
pub mod perfdata;
pub mod quiet;
pub mod service;
pub mod statefile;
pub mod status;
pub mod systemd;
pub mod timespan;
pub mod timestamp;
