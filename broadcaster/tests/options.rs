//! `--help` as users have it: the text the options table makes is pinned
//! here (tests/help.txt), so a change to the table shows as a change to
//! the help.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ssi-broadcaster");

#[test]
fn help_text_is_the_pinned_one() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let want = include_str!("help.txt");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    let out = Command::new(BIN).arg("-h").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}
