//! Every reason a script is refused, as data: `Display` is the text people
//! read (the generator's log, `ssi-status`), [`Problem::code`] a stable name
//! for programs (`ssi-status --json`).

use std::fmt;
use std::path::PathBuf;

use super::id::{IdError, ServiceId};
use super::trust::{InsecureAncestor, Insecurity};
use crate::calendar::CalendarError;
use crate::manifest;

/// One reason a script is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file name makes no service id.
    Id(IdError),
    /// The path has no file name at all (`..`, `/`).
    NoFileName,
    /// The file name ends in a backslash or white space.
    FileNameEnding,
    /// The path is not UTF-8.
    PathNotUtf8,
    /// The path has control characters.
    PathControl,
    /// A symlink whose target is missing (the error that said so).
    BrokenSymlink(String),
    /// The file (or its manifest) cannot be read.
    Unreadable(String),
    /// A directory, device, FIFO, … instead of a regular file.
    NotRegular,
    /// No execute bit.
    NotExecutable,
    /// The file itself may not be trusted.
    Insecure(Insecurity),
    /// The scripts directory may not be trusted.
    InsecureScriptsDir(PathBuf, Insecurity),
    /// A directory above the scripts directory may not be trusted.
    InsecureAncestor(InsecureAncestor),
    /// A directory above a symlink's target may not be trusted.
    InsecureSymlinkTarget(InsecureAncestor),
    /// A manifest problem.
    Manifest(manifest::Error),
    /// The schedule is no valid OnCalendar expression (its line).
    Schedule(usize, CalendarError),
    /// Other scripts have the same id.
    Collision(ServiceId, Vec<PathBuf>),
}

impl Problem {
    /// A stable, machine-readable name of the kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Id(_) | Problem::NoFileName => "file-name",
            Problem::FileNameEnding => "file-name-ending",
            Problem::PathNotUtf8 => "path-not-utf8",
            Problem::PathControl => "path-control-characters",
            Problem::BrokenSymlink(_) => "broken-symlink",
            Problem::Unreadable(_) => "unreadable",
            Problem::NotRegular => "not-regular-file",
            Problem::NotExecutable => "not-executable",
            Problem::Insecure(_) => "insecure-file",
            Problem::InsecureScriptsDir(..) => "insecure-scripts-directory",
            Problem::InsecureAncestor(_) => "insecure-parent-directory",
            Problem::InsecureSymlinkTarget(_) => "insecure-symlink-target",
            Problem::Manifest(e) => e.code(),
            Problem::Schedule(..) => "schedule-invalid",
            Problem::Collision(..) => "id-collision",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Id(e) => e.fmt(f),
            Problem::NoFileName => f.write_str("not a file name"),
            Problem::FileNameEnding => f.write_str(
                "file name ends in a backslash or white space, which a unit file cannot keep",
            ),
            Problem::PathNotUtf8 => {
                f.write_str("path is not valid UTF-8, expected a UTF-8 path for the unit file")
            }
            Problem::PathControl => f.write_str("path contains control characters, expected none"),
            Problem::BrokenSymlink(e) => write!(f, "broken symlink ({e})"),
            Problem::Unreadable(e) => write!(f, "cannot read: {e}"),
            Problem::NotRegular => f.write_str("not a regular file"),
            Problem::NotExecutable => {
                f.write_str("not executable, expected mode with x bits (chmod 0755)")
            }
            Problem::Insecure(why) => why.fmt(f),
            Problem::InsecureScriptsDir(dir, why) => {
                write!(f, "scripts directory {}: {why}", dir.display())
            }
            Problem::InsecureAncestor(a) => a.fmt(f),
            Problem::InsecureSymlinkTarget(a) => write!(f, "symlink target: {a}"),
            Problem::Manifest(e) => e.fmt(f),
            Problem::Schedule(line, e) => write!(f, "line {line}: {e}"),
            Problem::Collision(id, others) => {
                write!(f, "service id \"{id}\" is also the id of ")?;
                for (i, p) in others.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                f.write_str(", expected one script per id")
            }
        }
    }
}
