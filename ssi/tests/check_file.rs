//! `check_file` (what `ssi-status check` uses) judges a script's place as
//! `discover` (what the generator uses) does: the directory holding it, the
//! directories above, and a symlink's target.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use ssi::service::{check_file, discover};

fn script(dir: &Path, name: &str) {
    fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    fs::write(
        &p,
        "#!/bin/sh\n# name: Placed\n# description: where it lies\n# version: 1\n# schedule: daily\n",
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn same_verdict_as_discovery() {
    let tmp = tempfile::tempdir().unwrap();
    // A group-writable scripts directory, a safe one with a symlink into
    // a world-writable directory, and a safe one.
    let loose = tmp.path().join("loose");
    script(&loose, "a.sh");
    chmod(&loose, 0o775);
    let linked = tmp.path().join("linked");
    let target_dir = tmp.path().join("anyone");
    script(&target_dir, "real.sh");
    chmod(&target_dir, 0o777);
    fs::create_dir(&linked).unwrap();
    chmod(&linked, 0o755);
    symlink(target_dir.join("real.sh"), linked.join("b.sh")).unwrap();
    let safe = tmp.path().join("safe");
    script(&safe, "c.sh");
    chmod(&safe, 0o755);

    for (dir, name, expect) in [
        (
            &loose,
            "a.sh",
            Some("writable by group or others (mode 0775)"),
        ),
        (&linked, "b.sh", Some("symlink target: directory")),
        (&safe, "c.sh", None),
    ] {
        let found = discover(dir).unwrap();
        let via_discover = &found.scripts[0];
        let via_check = check_file(&dir.join(name));
        assert_eq!(via_check.problems(), via_discover.problems(), "{name}");
        match expect {
            Some(text) => assert!(
                via_check.reason().contains(text),
                "{name}: {:?}",
                via_check.problems()
            ),
            None => assert!(via_check.is_valid(), "{name}: {:?}", via_check.problems()),
        }
    }
}

/// Everything derived from a directory listing is in a defined order:
/// tmpfs lists files newest first, so the same scripts created in two
/// orders give the two listing orders, and must give the same verdicts.
#[test]
fn collision_messages_do_not_depend_on_directory_order() {
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "this test needs /dev/shm (tmpfs)");
    let mut seen = Vec::new();
    for names in [["a.b.sh", "a-b.sh", "A_B"], ["A_B", "a-b.sh", "a.b.sh"]] {
        let tmp = tempfile::tempdir_in(shm).unwrap();
        let dir = tmp.path().join("scripts");
        for n in names {
            script(&dir, n);
        }
        chmod(&dir, 0o755);
        let found = discover(&dir).unwrap();
        let problems: Vec<String> = found
            .scripts
            .iter()
            .map(|s| {
                let text = s.reason();
                text.replace(&dir.display().to_string(), "DIR")
            })
            .collect();
        seen.push(problems);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(
        seen[0][0].contains("also the id of DIR/a-b.sh, DIR/a.b.sh"),
        "{:?}",
        seen[0]
    );
}
