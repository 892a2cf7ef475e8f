//! Golden tests in the manner of zram-generator: each directory under
//! `tests/golden/` holds the input `scripts/` (plus an optional `setup`
//! file) beside the expected output tree `expected/` and the expected
//! `stderr`. The generator runs the way systemd runs it and the trees are
//! compared exactly, symlinks included. Every unit produced must also pass
//! `systemd-analyze verify` with exit 0 and empty stderr, when installed.
//!
//! `SSI_BLESS=1 cargo test --test golden` rewrites the expectations.
//!
//! `setup` lines (applied to the copied scripts before the run):
//!   `dir NAME`          the scripts directory's name (default `scripts`)
//!   `mode FILE OCTAL`   chmod
//!   `owner FILE UID`    chown (only when running as root)
//!   `link FILE TARGET`  create a symlink (git cannot keep all of them)
//!   `env NAME VALUE`    extra environment for the generator
//!   `args N`            pass 3 directories instead of 1 when N is 3

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const GENERATOR: &str = env!("CARGO_BIN_EXE_ssi-generator");
const RUNNER: &str = env!("CARGO_BIN_EXE_ssi-run");
/// Stands for the per-run temporary directory in expectations.
const TMP: &str = "@TMP@";

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn bless() -> bool {
    std::env::var_os("SSI_BLESS").is_some()
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Copies a tree, keeping symlinks as symlinks and modes as git left them.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = fs::read_dir(from).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
            // Scripts are checked for group/other write bits; the checkout's
            // umask must not decide the outcome, only the x bit git keeps.
            let x = fs::metadata(&src).unwrap().permissions().mode() & 0o111 != 0;
            fs::set_permissions(
                &dst,
                fs::Permissions::from_mode(if x { 0o755 } else { 0o644 }),
            )
            .unwrap();
        }
    }
}

/// The output tree as path → content ("-> target" for symlinks).
fn read_tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(rel, format!("-> {}", fs::read_link(&p).unwrap().display()));
            } else if ft.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn write_tree(root: &Path, tree: &BTreeMap<String, String>) {
    let _ = fs::remove_dir_all(root);
    fs::create_dir_all(root).unwrap();
    for (rel, content) in tree {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        match content.strip_prefix("-> ") {
            Some(target) => symlink(target, &p).unwrap(),
            None => fs::write(&p, content).unwrap(),
        }
    }
    // git does not keep empty directories.
    fs::write(root.join(".keep"), "").unwrap();
}

struct Run {
    tree: BTreeMap<String, String>,
    stderr: String,
    status: i32,
    out_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

fn run_case(case: &Path) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let setup = fs::read_to_string(case.join("setup")).unwrap_or_default();
    let mut dir_name = "scripts".to_owned();
    let mut env = Vec::new();
    let mut nargs = 1;
    for line in setup.lines() {
        if let Some(name) = line.strip_prefix("dir ") {
            dir_name = name.to_owned();
        }
    }
    let scripts = tmp.path().join(&dir_name);
    if case.join("scripts").exists() {
        copy_tree(&case.join("scripts"), &scripts);
    }
    for line in setup.lines().filter(|l| !l.trim().is_empty()) {
        let mut w = line.splitn(3, ' ');
        match (w.next(), w.next(), w.next()) {
            (Some("dir"), _, _) => {}
            (Some("mode"), Some(f), Some(m)) => fs::set_permissions(
                scripts.join(f),
                fs::Permissions::from_mode(u32::from_str_radix(m, 8).unwrap()),
            )
            .unwrap(),
            (Some("owner"), Some(f), Some(uid)) => {
                if is_root() {
                    std::os::unix::fs::chown(scripts.join(f), Some(uid.parse().unwrap()), None)
                        .unwrap();
                }
            }
            (Some("link"), Some(f), Some(target)) => symlink(target, scripts.join(f)).unwrap(),
            (Some("env"), Some(k), Some(v)) => env.push((k.to_owned(), v.to_owned())),
            (Some("args"), Some(n), None) => nargs = n.parse().unwrap(),
            _ => panic!("{}: bad setup line {line:?}", case.display()),
        }
    }
    let out = tmp.path().join("normal");
    fs::create_dir(&out).unwrap();
    // The runner the units name, where `systemd-analyze verify` finds it.
    let libexec = tmp.path().join("libexec");
    fs::create_dir(&libexec).unwrap();
    fs::copy(RUNNER, libexec.join("ssi-run")).unwrap();
    let mut cmd = Command::new(GENERATOR);
    cmd.arg(&out);
    if nargs == 3 {
        cmd.arg(tmp.path().join("early"))
            .arg(tmp.path().join("late"));
    }
    cmd.env_remove("SYSTEMD_SCOPE")
        .env_remove("SYSTEMD_LOG_LEVEL")
        .env_remove("SYSTEMD_LOG_TARGET")
        .env_remove("SYSTEMD_IN_INITRD")
        .env("SSI_SCRIPTS_DIR", &scripts)
        .env("SSI_LOG_DIR", "/var/log/service-status-indicator")
        .env("SSI_LIBEXECDIR", &libexec)
        .envs(env);
    let output = cmd.output().unwrap();
    let tmp_str = tmp.path().to_str().unwrap().to_owned();
    let tree = read_tree(&out)
        .into_iter()
        .map(|(k, v)| (k, v.replace(&tmp_str, TMP)))
        .collect();
    Run {
        tree,
        stderr: String::from_utf8_lossy(&output.stderr).replace(&tmp_str, TMP),
        status: output.status.code().unwrap_or(-1),
        out_dir: out,
        _tmp: tmp,
    }
}

/// `systemd-analyze verify` on every unit of a real output directory: exit
/// 0 and nothing on stderr (warnings are failures too).
fn verify(out_dir: &Path) -> Result<(), String> {
    let units: Vec<PathBuf> = fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    if units.is_empty() {
        return Ok(());
    }
    let out = match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("systemd-analyze: {e} (sudo make test-deps installs it)"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!(
            "systemd-analyze verify failed ({}):\n{stderr}",
            out.status
        ))
    }
}

#[test]
fn golden() {
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = fs::read_dir(golden_root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "golden cases missing: {cases:?}");
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let run = run_case(case);
        let expected_status: i32 = fs::read_to_string(case.join("status"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0);
        if let Err(e) = verify(&run.out_dir) {
            failures.push(format!("{name}: {e}"));
        }
        if bless() {
            write_tree(&case.join("expected"), &run.tree);
            fs::write(case.join("stderr"), &run.stderr).unwrap();
            continue;
        }
        let mut expected = read_tree(&case.join("expected"));
        expected.remove(".keep");
        if expected != run.tree {
            let keys: std::collections::BTreeSet<_> =
                expected.keys().chain(run.tree.keys()).collect();
            for k in keys {
                match (expected.get(k), run.tree.get(k)) {
                    (Some(a), Some(b)) if a == b => {}
                    (a, b) => failures.push(format!(
                        "{name}: {k} differs\n--- expected\n{}\n--- got\n{}",
                        a.map_or("(absent)", |s| s),
                        b.map_or("(absent)", |s| s)
                    )),
                }
            }
        }
        let expected_stderr = fs::read_to_string(case.join("stderr")).unwrap_or_default();
        if expected_stderr != run.stderr {
            failures.push(format!(
                "{name}: stderr differs\n--- expected\n{expected_stderr}--- got\n{}",
                run.stderr
            ));
        }
        if run.status != expected_status {
            failures.push(format!(
                "{name}: exit status {} (expected {expected_status})",
                run.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
