//! Every command and error message of `ssi-status`, run as a process on the
//! fixture directories in `tests/fixtures/` (`tests/cmd/*.toml`).

#[test]
fn cli() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
