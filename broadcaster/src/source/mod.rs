//! Step 1 of the data flow, where a line comes in: the two directories
//! are watched ([`watch`]), each log is followed and its complete new lines
//! become status updates for the hub ([`tail`]).

pub mod tail;
pub mod watch;
