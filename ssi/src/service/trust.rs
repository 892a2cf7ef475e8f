//! Whether a script may be trusted to run as root: the file itself, the
//! directory holding it, every directory above, and a symlink's target.

use std::fmt;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What makes a file or directory untrustworthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insecurity {
    /// Writable by group or others (the mode, permission bits only).
    Writable(u32),
    /// Owned by this uid instead of root.
    Owner(u32),
}

/// A directory above a script (or above a symlink's target) that may not be
/// trusted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsecureAncestor {
    /// The directory.
    pub dir: PathBuf,
    /// Why.
    pub why: Insecurity,
}

impl Insecurity {
    /// `subject` runs as root: "it" for the file itself, "the script" for a
    /// directory above it.
    fn describe(&self, f: &mut fmt::Formatter<'_>, subject: &str) -> fmt::Result {
        match self {
            Insecurity::Writable(mode) => write!(
                f,
                "writable by group or others (mode {mode:04o}), expected at most 0755 as {subject} runs as root"
            ),
            Insecurity::Owner(uid) => {
                write!(f, "owned by uid {uid}, expected root as {subject} runs as root")
            }
        }
    }
}

impl fmt::Display for Insecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f, "it")
    }
}

impl fmt::Display for InsecureAncestor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "directory {} is ", self.dir.display())?;
        self.why.describe(f, "the script")
    }
}

/// Whether ownership is enforced: when we run as root (the generator under
/// systemd), and also when the scripts' directory belongs to root (an
/// installed system, looked at by `ssi-status` or the broadcaster as another
/// user), so that every tool judges a script as the generator does. A demo
/// directory of an ordinary user is judged without it.
pub(super) fn enforce_owner(dir_meta: Option<&fs::Metadata>) -> bool {
    let as_root = rustix::process::geteuid().is_root();
    as_root || dir_meta.is_some_and(|m| m.uid() == 0)
}

/// Why a file or directory may not be trusted to run as root, if it may not.
pub(super) fn insecure(meta: &fs::Metadata, enforce_owner: bool) -> Option<Insecurity> {
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(Insecurity::Writable(mode));
    }
    if enforce_owner && meta.uid() != 0 {
        return Some(Insecurity::Owner(meta.uid()));
    }
    None
}

/// Why a directory above a script may not be trusted, if it may not: every
/// directory on the way to `/` must be root's and closed to others when
/// ownership is enforced; a world-writable one with the sticky bit (`/tmp`)
/// is fine, as nobody else may replace what root put there.
pub(super) fn insecure_ancestors(dir: &Path, enforce_owner: bool) -> Option<InsecureAncestor> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if let Ok(meta) = fs::metadata(d) {
            let mode = meta.permissions().mode() & 0o7777;
            let why = if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                Some(Insecurity::Writable(mode))
            } else if enforce_owner && meta.uid() != 0 {
                Some(Insecurity::Owner(meta.uid()))
            } else {
                None
            };
            if let Some(why) = why {
                return Some(InsecureAncestor {
                    dir: d.to_owned(),
                    why,
                });
            }
        }
        cur = d.parent();
    }
    None
}
