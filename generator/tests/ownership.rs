//! The ownership rule does not depend on who looks: a script in a root-owned
//! scripts directory but owned by another user is refused also when a
//! non-root process (ssi-status, the broadcaster as user `ssi`) judges it,
//! exactly as the generator running as root refuses it.

use std::fs;
use std::os::unix::fs::{chown, PermissionsExt};
use std::process::Command;

const GENERATOR: &str = env!("CARGO_BIN_EXE_ssi-generator");
const NOBODY: u32 = 65534;

#[test]
fn non_root_judges_ownership_like_root_in_a_root_owned_dir() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip("needs root to act as another user");
        return;
    }
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "setpriv is not installed (util-linux; sudo make test-deps installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let scripts = tmp.path().join("scripts");
    fs::create_dir(&scripts).unwrap();
    fs::set_permissions(&scripts, fs::Permissions::from_mode(0o755)).unwrap();
    let script = scripts.join("foreign.sh");
    fs::write(
        &script,
        "#!/bin/sh\n# name: Foreign\n# description: owned by nobody\n# version: 1\n# schedule: daily\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    chown(&script, Some(NOBODY), None).unwrap();
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    chown(&out_dir, Some(NOBODY), None).unwrap();

    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            GENERATOR,
        ])
        .arg(&out_dir)
        .env("SSI_SCRIPTS_DIR", &scripts)
        .env_remove("SYSTEMD_SCOPE")
        .env_remove("SYSTEMD_LOG_LEVEL")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ssi-generator: {}: owned by uid 65534, expected root as it runs as root, ignoring.\n",
            script.display()
        )
    );
    assert_eq!(
        fs::read_dir(&out_dir).unwrap().count(),
        0,
        "no units for it"
    );
}

/// Says SKIPPED and records it for `make test`'s summary (tests/run.sh):
/// only for what tests/deps.sh cannot fix.
fn skip(reason: &str) {
    let test = "ownership::non_root_judges_ownership_like_root_in_a_root_owned_dir";
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(file) = std::env::var_os("SSI_TEST_SKIPS") {
        use std::io::Write;
        let line = format!("rust\t{test}: {reason}\n");
        let appended = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot record the skip in $SSI_TEST_SKIPS: {e}");
        }
    }
}
