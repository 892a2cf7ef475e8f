//! The generator as systemd itself runs it, and the one error that fails a
//! run (an output directory that cannot be written).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

const GENERATOR: &str = env!("CARGO_BIN_EXE_ssi-generator");

fn valid_script(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    fs::write(
        &p,
        "#!/bin/sh\n# name: Systemd run\n# description: Runs under systemd-analyze, 100% sure\n# version: 1\n# schedule: *:0/5\n# timeout: 10\necho OK\n",
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn have_systemd_analyze() -> bool {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `SYSTEMD_GENERATOR_PATH=… systemd-analyze --generators=yes verify` runs
/// the generator the way systemd does at boot and daemon-reload, then
/// verifies the timer it made and the service that timer starts.
#[test]
fn systemd_runs_the_generator_and_accepts_its_units() {
    assert!(
        have_systemd_analyze(),
        "systemd-analyze is not installed (sudo make test-deps installs it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let gens = tmp.path().join("generators");
    fs::create_dir(&gens).unwrap();
    symlink(GENERATOR, gens.join("ssi-generator")).unwrap();
    let scripts = tmp.path().join("scripts");
    valid_script(&scripts, "systemd-run.sh");
    fs::set_permissions(&scripts, fs::Permissions::from_mode(0o755)).unwrap();

    // The runner its service runs, where verify looks for it.
    let libexec = tmp.path().join("libexec");
    fs::create_dir(&libexec).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_ssi-run"), libexec.join("ssi-run")).unwrap();

    let out = Command::new("systemd-analyze")
        .args([
            "--generators=yes",
            "verify",
            "--man=no",
            "ssi_systemd_run.timer",
            "ssi_systemd_run.service",
        ])
        .env("SYSTEMD_GENERATOR_PATH", &gens)
        .env("SSI_SCRIPTS_DIR", &scripts)
        .env("SSI_LOG_DIR", tmp.path().join("log"))
        .env("SSI_LIBEXECDIR", &libexec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify failed: {stderr}");
    assert!(stderr.trim().is_empty(), "verify warned: {stderr}");

    // Prove the unit really came from our generator: a name it would not
    // generate is unknown to the same systemd-analyze run.
    let out = Command::new("systemd-analyze")
        .args([
            "--generators=yes",
            "verify",
            "--man=no",
            "ssi_not_there.timer",
        ])
        .env("SYSTEMD_GENERATOR_PATH", &gens)
        .env("SSI_SCRIPTS_DIR", &scripts)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a unit nobody generated must not verify"
    );
}

#[test]
fn unwritable_output_dir_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let scripts = tmp.path().join("scripts");
    valid_script(&scripts, "check.sh");
    let missing = tmp.path().join("no/such/dir");
    let out = Command::new(GENERATOR)
        .arg(&missing)
        .env("SSI_SCRIPTS_DIR", &scripts)
        .env_remove("SYSTEMD_SCOPE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "ssi-generator: {}/ssi_check.service: cannot write: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}

#[test]
fn missing_scripts_dir_is_quiet_success() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = Command::new(GENERATOR)
        .arg(&out_dir)
        .env("SSI_SCRIPTS_DIR", tmp.path().join("none"))
        .env_remove("SYSTEMD_SCOPE")
        .env_remove("SYSTEMD_LOG_LEVEL")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
    assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 0);
}

#[test]
fn log_dir_with_control_characters_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scripts = tmp.path().join("scripts");
    valid_script(&scripts, "check.sh");
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = Command::new(GENERATOR)
        .arg(&out_dir)
        .env("SSI_SCRIPTS_DIR", &scripts)
        .env(
            "SSI_LOG_DIR",
            "/tmp/x\nExecStartPre=/bin/touch /tmp/pwned\n#",
        )
        .env_remove("SYSTEMD_SCOPE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ssi-generator: log directory \"/tmp/x\\nExecStartPre=/bin/touch /tmp/pwned\\n#\" (SSI_LOG_DIR): expected a UTF-8 path without control characters.\n"
    );
    assert_eq!(
        fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing half-written"
    );
}

#[test]
fn relative_and_dotted_dirs_become_normalized_absolute_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let scripts = tmp.path().join("scripts");
    valid_script(&scripts, "check.sh");
    fs::set_permissions(&scripts, fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = tmp.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = Command::new(GENERATOR)
        .arg(&out_dir)
        .current_dir(tmp.path())
        .env("SSI_SCRIPTS_DIR", "./out/../scripts")
        .env("SSI_LOG_DIR", "logs")
        .env_remove("SYSTEMD_SCOPE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = fs::read_to_string(out_dir.join("ssi_check.service")).unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    assert!(
        unit.contains(&format!("SourcePath={}/scripts/check.sh\n", base.display())),
        "{unit}"
    );
    assert!(
        unit.contains(&format!(
            "StandardOutput=append:{}/logs/check.log\n",
            base.display()
        )),
        "{unit}"
    );
}
