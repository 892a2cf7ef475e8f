//! trycmd cases for the generator's command line: usage errors, `--help`,
//! `--version` and the lines it logs for refused scripts.

#[test]
fn cli() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
