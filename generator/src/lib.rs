//! `ssi`: what a Service Status Indicator check script, schedule, status line
//! and service id are. Shared by `ssi-generator`, `ssi-status` and
//! `ssi-broadcaster`, so all three judge and present a script the same way.

pub mod calendar;
pub mod dirs;
pub mod generator;
pub mod log;
pub mod manifest;
pub mod service;
pub mod status;
pub mod timespan;
pub mod units;
