//! Executables that run as root like check scripts but have no manifest
//! (notification hooks): found and trusted by exactly the rules of
//! [`discover`](super::discover), so that a file an administrator could not
//! drop in as a check cannot be dropped in as a hook either.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::problem::Problem;
use super::trust::{enforce_owner, insecure, insecure_ancestors};
use super::{insecure_dir, is_ignored_name, with_path};

/// One candidate executable of a directory and every reason it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executable {
    /// Its path (in the directory, not resolved).
    pub path: PathBuf,
    /// Why it may not run; empty when it may.
    pub problems: Vec<Problem>,
}

impl Executable {
    /// Whether it may run.
    pub fn is_trusted(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem, joined with `; `.
    pub fn reason(&self) -> String {
        self.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Every candidate of `dir`, sorted by file name: the names check scripts
/// skip are skipped (hidden, backups, package manager leftovers), as are
/// directories; the rest must be executable regular files that root owns
/// and only root may change, in a directory (and ancestors) only root may
/// change. A missing directory has none.
pub fn discover_executables(dir: &Path) -> io::Result<Vec<Executable>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(with_path(e, "cannot read directory", dir)),
    };
    let dir_meta = fs::metadata(dir).map_err(|e| with_path(e, "cannot stat directory", dir))?;
    let enforce = enforce_owner(Some(&dir_meta));
    let dir_problem = insecure_dir(dir, &dir_meta, enforce);
    let mut entries = entries
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| with_path(e, "cannot read directory", dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);

    let mut found = Vec::new();
    for entry in entries {
        if is_ignored_name(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let meta = fs::metadata(&path);
        if meta.as_ref().is_ok_and(fs::Metadata::is_dir) {
            continue;
        }
        let mut problems: Vec<Problem> = dir_problem.iter().cloned().collect();
        match meta {
            Err(e) => problems.push(if fs::symlink_metadata(&path).is_ok() {
                Problem::BrokenSymlink(e.to_string())
            } else {
                Problem::Unreadable(e.to_string())
            }),
            Ok(m) if !m.is_file() => problems.push(Problem::NotRegular),
            Ok(m) => {
                if m.permissions().mode() & 0o111 == 0 {
                    problems.push(Problem::NotExecutable);
                }
                problems.extend(insecure(&m, enforce).map(Problem::Insecure));
            }
        }
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            if let Some(why) = fs::canonicalize(&path)
                .ok()
                .and_then(|target| insecure_ancestors(target.parent()?, enforce))
            {
                problems.push(Problem::InsecureSymlinkTarget(why));
            }
        }
        found.push(Executable { path, problems });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(p: &Path, m: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn same_names_skipped_and_same_trust_as_check_scripts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notify.d");
        fs::create_dir(&dir).unwrap();
        mode(&dir, 0o755);
        for (name, m) in [
            ("email", 0o755),
            ("webhook", 0o750),
            ("plain", 0o644),
            ("open", 0o777),
            (".hidden", 0o755),
            ("email~", 0o755),
            ("email.dpkg-old", 0o755),
            ("off.disabled", 0o755),
        ] {
            let p = dir.join(name);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            mode(&p, m);
        }
        fs::create_dir(dir.join("sub")).unwrap();
        symlink("/nonexistent/hook", dir.join("dangling")).unwrap();
        let found = discover_executables(&dir).unwrap();
        let got: Vec<(String, bool)> = found
            .iter()
            .map(|e| {
                (
                    e.path.file_name().unwrap().to_string_lossy().into_owned(),
                    e.is_trusted(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("dangling".to_owned(), false),
                ("email".to_owned(), true),
                ("open".to_owned(), false),
                ("plain".to_owned(), false),
                ("webhook".to_owned(), true),
            ]
        );
        let reason = |n: &str| {
            found
                .iter()
                .find(|e| e.path.ends_with(n))
                .map(Executable::reason)
                .unwrap()
        };
        assert!(
            reason("open").contains("writable by group or others"),
            "{}",
            reason("open")
        );
        assert!(
            reason("plain").contains("executable"),
            "{}",
            reason("plain")
        );
    }

    #[test]
    fn an_open_directory_refuses_every_hook() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notify.d");
        fs::create_dir(&dir).unwrap();
        let p = dir.join("email");
        fs::write(&p, "#!/bin/sh\n").unwrap();
        mode(&p, 0o755);
        mode(&dir, 0o777);
        let found = discover_executables(&dir).unwrap();
        assert_eq!(found.len(), 1);
        assert!(!found[0].is_trusted());
        assert!(
            found[0].reason().contains(&dir.display().to_string()),
            "{}",
            found[0].reason()
        );
    }

    #[test]
    fn a_missing_directory_has_none() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            discover_executables(&tmp.path().join("nope")).unwrap(),
            vec![]
        );
    }
}
