//! Service ids: what a script's file name makes of it, which names are no
//! scripts at all, and the one definition of the id's characters.

use std::ffi::OsStr;
use std::fmt;

/// Prefix of every unit we generate: `ssi_<id>.service`.
pub const UNIT_PREFIX: &str = "ssi_";
/// Longest id that still makes a valid unit name (255 bytes with
/// `ssi_` and `.service`).
pub const MAX_ID_LEN: usize = 255 - UNIT_PREFIX.len() - ".service".len();

/// A service id: `[a-z0-9_]+`, derived from a script's file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(String);

impl ServiceId {
    /// The id for a script file name: the name without its last extension,
    /// lower-cased, with `-`, `.` and spaces turned into `_`.
    /// `dummy-service.bash` → `dummy_service`.
    pub fn from_file_name(name: &OsStr) -> Result<ServiceId, IdError> {
        let Some(name) = name.to_str() else {
            return Err(IdError::NotUtf8(name.to_string_lossy().into_owned()));
        };
        let stem = match name.rfind('.') {
            Some(dot) if dot > 0 => &name[..dot],
            _ => name,
        };
        let mut id = String::with_capacity(stem.len());
        for c in stem.chars().flat_map(char::to_lowercase) {
            match c {
                'a'..='z' | '0'..='9' | '_' => id.push(c),
                '-' | '.' | ' ' => id.push('_'),
                other => return Err(IdError::BadChar(name.to_owned(), other)),
            }
        }
        if id.is_empty() {
            return Err(IdError::Empty(name.to_owned()));
        }
        if id.len() > MAX_ID_LEN {
            return Err(IdError::TooLong(name.to_owned(), id.len()));
        }
        Ok(ServiceId(id))
    }

    /// An id as found elsewhere (a log's file name, a user's argument), when
    /// it is one: `[a-z0-9_]`, at most [`MAX_ID_LEN`] bytes.
    pub fn parse(id: &str) -> Option<ServiceId> {
        is_id(id).then(|| ServiceId(id.to_owned()))
    }

    /// Whether a user's argument names this service: the bare id
    /// (`dummy_service`), the unit stem (`ssi_dummy_service`) or a unit name
    /// (`ssi_dummy_service.service` / `.timer`).
    pub fn matches_user(&self, arg: &str) -> bool {
        let arg = arg
            .strip_suffix(".service")
            .or_else(|| arg.strip_suffix(".timer"))
            .unwrap_or(arg);
        arg == self.0 || arg.strip_prefix(UNIT_PREFIX) == Some(self.0.as_str())
    }

    /// The bare id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ssi_<id>`, the name of the units without their suffix.
    pub fn unit_stem(&self) -> String {
        format!("{UNIT_PREFIX}{}", self.0)
    }

    /// `<id>.log`, the log's file name in the log directory.
    pub fn log_file_name(&self) -> String {
        format!("{}.log", self.0)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ServiceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Whether `s` is an id: 1 to [`MAX_ID_LEN`] of `[a-z0-9_]`. The one
/// place that says which characters an id has.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Why a file name makes no service id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// The name is not UTF-8 (shown lossily).
    NotUtf8(String),
    /// The name has a character an id cannot have.
    BadChar(String, char),
    /// Nothing is left of the name.
    Empty(String),
    /// The id would be this many bytes, more than [`MAX_ID_LEN`].
    TooLong(String, usize),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const EXPECTED: &str = "expected letters a-z, digits, \"_\", \"-\", \".\" or space";
        match self {
            IdError::NotUtf8(name) => {
                write!(f, "file name {name:?} is not valid UTF-8, {EXPECTED}")
            }
            IdError::BadChar(name, c) => write!(
                f,
                "file name {name:?} has {c:?}, which cannot be part of a service id; {EXPECTED}"
            ),
            IdError::Empty(name) => write!(f, "file name {name:?} gives an empty service id"),
            IdError::TooLong(name, len) => write!(
                f,
                "file name {name:?} gives a service id of {len} characters, expected at most {MAX_ID_LEN}"
            ),
        }
    }
}

/// Names skipped without a word: hidden files, editor backups and package
/// manager leftovers, which are never meant to run.
pub fn is_ignored_name(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    const SUFFIXES: [&[u8]; 7] = [
        b"~",
        b".swp",
        b".bak",
        b".tmp",
        b".rpmnew",
        b".rpmsave",
        b".disabled",
    ];
    name.starts_with(b".") || SUFFIXES.iter().any(|s| name.ends_with(s)) || contains(name, DPKG)
}

/// dpkg's leftovers: `.dpkg-old`, `.dpkg-dist`, `.dpkg-new`, `.dpkg-tmp`,
/// …; matched anywhere in the name, not only at its end (`x.dpkg-new.bash`
/// is skipped too).
const DPKG: &[u8] = b".dpkg-";

/// Whether `needle` occurs anywhere in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Result<String, String> {
        ServiceId::from_file_name(OsStr::new(s))
            .map(|i| i.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ids_from_file_names() {
        assert_eq!(id("dummy-service.bash"), Ok("dummy_service".into()));
        assert_eq!(id("Disk Usage.sh"), Ok("disk_usage".into()));
        assert_eq!(id("a.b.sh"), Ok("a_b".into()));
        assert_eq!(id("check"), Ok("check".into()));
        assert_eq!(id("CHECK_2.py"), Ok("check_2".into()));
    }

    #[test]
    fn bad_ids() {
        assert_eq!(
            id("disk+usage.sh"),
            Err("file name \"disk+usage.sh\" has '+', which cannot be part of a service id; expected letters a-z, digits, \"_\", \"-\", \".\" or space".into())
        );
        assert!(id("café.sh").unwrap_err().contains("'é'"));
        assert_eq!(
            id(&format!("{}.sh", "a".repeat(MAX_ID_LEN))).map(|s| s.len()),
            Ok(MAX_ID_LEN)
        );
        assert!(id(&format!("{}.sh", "a".repeat(MAX_ID_LEN + 1)))
            .unwrap_err()
            .contains("at most 243"));
    }

    #[test]
    fn ids_parsed_from_elsewhere() {
        assert_eq!(
            ServiceId::parse("disk_usage").map(|i| i.0),
            Some("disk_usage".into())
        );
        for no in [
            "",
            "Disk",
            "disk-usage",
            "disk usage",
            "ö",
            &"a".repeat(MAX_ID_LEN + 1),
        ] {
            assert_eq!(ServiceId::parse(no), None, "{no:?}");
        }
    }

    #[test]
    fn user_names() {
        let i = ServiceId("dummy_service".into());
        for ok in [
            "dummy_service",
            "ssi_dummy_service",
            "ssi_dummy_service.service",
            "ssi_dummy_service.timer",
        ] {
            assert!(i.matches_user(ok), "{ok}");
        }
        for no in [
            "dummy",
            "ssi_dummy",
            "dummy-service",
            "ssi_dummy_service.socket",
        ] {
            assert!(!i.matches_user(no), "{no}");
        }
        assert_eq!(i.unit_stem(), "ssi_dummy_service");
        assert_eq!(i.log_file_name(), "dummy_service.log");
    }

    #[test]
    fn ignored_names() {
        for n in [
            ".hidden",
            "x~",
            "x.swp",
            "x.bak",
            "x.tmp",
            "x.dpkg-old",
            "x.dpkg-dist",
            "x.dpkg-new.bash",
            "x.rpmnew",
            "x.rpmsave",
            "x.disabled",
        ] {
            assert!(is_ignored_name(OsStr::new(n)), "{n}");
        }
        for n in ["x.sh", "backup-check.bash", "tmp", "disabled.sh"] {
            assert!(!is_ignored_name(OsStr::new(n)), "{n}");
        }
    }
}
