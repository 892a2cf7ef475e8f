//! Check scripts in a scripts directory: which files are candidates, the
//! service id each one gets, and every reason one is refused. The generator,
//! `ssi-status` and the broadcaster all judge scripts through this module,
//! so they agree on what is valid and say the same reasons.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::calendar::CalendarSpec;
use crate::manifest::{self, Fields};

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
    pub fn from_file_name(name: &OsStr) -> Result<ServiceId, String> {
        let Some(name) = name.to_str() else {
            return Err(format!(
                "file name {:?} is not valid UTF-8, expected letters a-z, digits, \"_\", \"-\", \".\" or space",
                name.to_string_lossy()
            ));
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
                other => {
                    return Err(format!(
                        "file name {name:?} has {other:?}, which cannot be part of a service id; expected letters a-z, digits, \"_\", \"-\", \".\" or space"
                    ))
                }
            }
        }
        if id.is_empty() {
            return Err(format!("file name {name:?} gives an empty service id"));
        }
        if id.len() > MAX_ID_LEN {
            return Err(format!(
                "file name {name:?} gives a service id of {} characters, expected at most {MAX_ID_LEN}",
                id.len()
            ));
        }
        Ok(ServiceId(id))
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

/// Names skipped without a word: hidden files, editor backups and package
/// manager leftovers, which are never meant to run.
pub fn is_ignored_name(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    const SUFFIXES: [&[u8]; 8] = [
        b"~",
        b".swp",
        b".bak",
        b".tmp",
        b".rpmnew",
        b".rpmsave",
        b".disabled",
        b".dpkg-",
    ];
    name.starts_with(b".")
        || SUFFIXES[..7].iter().any(|s| name.ends_with(s))
        || contains(name, SUFFIXES[7])
}

/// `.dpkg-old`, `.dpkg-dist`, `.dpkg-new`, `.dpkg-tmp`, …: any name with a
/// `.dpkg-` suffix.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// One candidate script and everything known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The script's path (in the scripts directory, not resolved).
    pub path: PathBuf,
    /// Its service id, when the file name makes one.
    pub id: Option<ServiceId>,
    /// The manifest values as far as they could be read.
    pub manifest: Fields,
    /// The parsed schedule, when it is valid.
    pub schedule: Option<CalendarSpec>,
    /// Why the script is refused; empty when it is valid.
    pub problems: Vec<String>,
}

/// A script that passed every rule, with nothing left optional.
#[derive(Debug, Clone, Copy)]
pub struct ValidScript<'a> {
    /// The script's path.
    pub path: &'a Path,
    /// Its id.
    pub id: &'a ServiceId,
    /// `name:`
    pub name: &'a str,
    /// `description:`
    pub description: &'a str,
    /// `version:`
    pub version: &'a str,
    /// `schedule:` as written (comment removed).
    pub schedule_text: &'a str,
    /// The parsed schedule.
    pub schedule: &'a CalendarSpec,
    /// Run time limit in seconds.
    pub timeout: u32,
}

impl Script {
    /// Whether the script passes every rule.
    pub fn is_valid(&self) -> bool {
        self.valid().is_some()
    }

    /// The script's values when it is valid.
    pub fn valid(&self) -> Option<ValidScript<'_>> {
        if !self.problems.is_empty() {
            return None;
        }
        let m = &self.manifest;
        Some(ValidScript {
            path: &self.path,
            id: self.id.as_ref()?,
            name: m.name.as_deref()?,
            description: m.description.as_deref()?,
            version: m.version.as_deref()?,
            schedule_text: m.schedule.as_deref()?,
            schedule: self.schedule.as_ref()?,
            timeout: m.timeout?,
        })
    }

    /// Every problem in one line, joined by `"; "`.
    pub fn reason(&self) -> String {
        self.problems.join("; ")
    }
}

/// The scripts of one directory, sorted by id (scripts without an id last,
/// by path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Every candidate, valid or not; silently skipped names are absent.
    pub scripts: Vec<Script>,
    /// What was skipped without a word, and why (for debug logs), by path.
    pub ignored: Vec<(PathBuf, &'static str)>,
}

impl Discovery {
    /// The valid scripts only.
    pub fn valid(&self) -> impl Iterator<Item = ValidScript<'_>> {
        self.scripts.iter().filter_map(Script::valid)
    }
}

/// Whether ownership is enforced: when we run as root (the generator under
/// systemd), and also when the scripts' directory belongs to root (an
/// installed system, looked at by `ssi-status` or the broadcaster as another
/// user), so that every tool judges a script as the generator does. A demo
/// directory of an ordinary user is judged without it.
fn enforce_owner(dir_meta: Option<&fs::Metadata>) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let as_root = unsafe { libc::geteuid() == 0 };
    as_root || dir_meta.is_some_and(|m| m.uid() == 0)
}

/// Why a directory above a script may not be trusted, if it may not: every
/// directory on the way to `/` must be root's and closed to others when
/// ownership is enforced; a world-writable one with the sticky bit (`/tmp`)
/// is fine, as nobody else may replace what root put there.
fn insecure_ancestors(dir: &Path, enforce_owner: bool) -> Option<String> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if let Ok(meta) = fs::metadata(d) {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                return Some(format!(
                    "directory {} is writable by group or others (mode {mode:04o}), expected at most 0755 as the script runs as root",
                    d.display()
                ));
            }
            if enforce_owner && meta.uid() != 0 {
                return Some(format!(
                    "directory {} is owned by uid {}, expected root as the script runs as root",
                    d.display(),
                    meta.uid()
                ));
            }
        }
        cur = d.parent();
    }
    None
}

/// Finds and judges every check script in `dir`. A missing directory has no
/// scripts; a directory that cannot be read is an error naming it.
pub fn discover(dir: &Path) -> io::Result<Discovery> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Discovery::default()),
        Err(e) => return Err(with_path(e, "cannot read scripts directory", dir)),
    };
    let dir_meta =
        fs::metadata(dir).map_err(|e| with_path(e, "cannot stat scripts directory", dir))?;
    let enforce = enforce_owner(Some(&dir_meta));
    let dir_problem = insecure_dir(dir, &dir_meta, enforce);

    // Directory order is the file system's (hash order on ext4, newest
    // first on tmpfs): sort by name so that everything derived from the
    // listing, such as the other files a collision names, is the same on
    // every machine.
    let mut entries = entries
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| with_path(e, "cannot read scripts directory", dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);

    let mut scripts = Vec::new();
    let mut ignored = Vec::new();
    for entry in entries {
        let path = entry.path();
        if is_ignored_name(&entry.file_name()) {
            ignored.push((path, "hidden, backup or package manager file"));
            continue;
        }
        // Follow symlinks: what matters is the file that will run.
        let meta = fs::metadata(&path);
        if meta.as_ref().is_ok_and(fs::Metadata::is_dir) {
            ignored.push((path, "directory"));
            continue;
        }
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        scripts.push(judge_placed(
            &path,
            meta,
            is_link,
            dir_problem.as_ref(),
            enforce,
        ));
    }
    mark_collisions(&mut scripts);
    scripts.sort_by(|a, b| (a.id.is_none(), &a.id, &a.path).cmp(&(b.id.is_none(), &b.id, &b.path)));
    ignored.sort();
    Ok(Discovery { scripts, ignored })
}

/// Judges one file by the same rules as [`discover`] (everything but id
/// collisions, which need the whole directory).
pub fn check_file(path: &Path) -> Script {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir_meta = fs::metadata(dir).ok();
    let enforce = enforce_owner(dir_meta.as_ref());
    let dir_problem = dir_meta.and_then(|m| insecure_dir(dir, &m, enforce));
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    judge_placed(
        path,
        fs::metadata(path),
        is_link,
        dir_problem.as_ref(),
        enforce,
    )
}

/// Why the directory holding scripts may not be trusted: itself closed to
/// others, every directory above it as [`insecure_ancestors`] says.
fn insecure_dir(dir: &Path, meta: &fs::Metadata, enforce_owner: bool) -> Option<String> {
    insecure(meta, enforce_owner)
        .map(|why| format!("scripts directory {}: {why}", dir.display()))
        .or_else(|| {
            let canonical = fs::canonicalize(dir).ok()?;
            insecure_ancestors(canonical.parent()?, enforce_owner)
        })
}

/// Judges a script where it lies: its own rules, then its directory's
/// problem, then, for a symlink (which runs its target), the directories
/// holding the target.
fn judge_placed(
    path: &Path,
    meta: io::Result<fs::Metadata>,
    is_link: bool,
    dir_problem: Option<&String>,
    enforce_owner: bool,
) -> Script {
    let mut script = judge(path, meta, enforce_owner);
    if let Some(why) = dir_problem {
        script.problems.insert(0, why.clone());
    }
    if is_link {
        if let Some(why) = fs::canonicalize(path)
            .ok()
            .and_then(|target| insecure_ancestors(target.parent()?, enforce_owner))
        {
            script.problems.push(format!("symlink target: {why}"));
        }
    }
    script
}

/// Judges one file, given what `fs::metadata` (symlinks followed) said of it.
fn judge(path: &Path, meta: io::Result<fs::Metadata>, enforce_owner: bool) -> Script {
    let mut script = Script {
        path: path.to_owned(),
        id: None,
        manifest: Fields::default(),
        schedule: None,
        problems: Vec::new(),
    };
    match path.file_name().map(ServiceId::from_file_name) {
        Some(Ok(id)) => script.id = Some(id),
        Some(Err(why)) => script.problems.push(why),
        None => script.problems.push("not a file name".to_owned()),
    }
    // systemd strips a value's trailing white space and joins a line that
    // ends in a backslash with the next: `SourcePath=` could not keep them.
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with('\\') || n.ends_with(char::is_whitespace))
    {
        script.problems.push(
            "file name ends in a backslash or white space, which a unit file cannot keep"
                .to_owned(),
        );
    }
    // Unit files are UTF-8 text, one setting per line: a path that cannot
    // be written into `ExecStart=` faithfully is refused up front.
    match path.to_str() {
        None => script
            .problems
            .push("path is not valid UTF-8, expected a UTF-8 path for the unit file".to_owned()),
        Some(p) if p.chars().any(char::is_control) => script
            .problems
            .push("path contains control characters, expected none".to_owned()),
        Some(_) => {}
    }

    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            let what = if fs::symlink_metadata(path).is_ok() {
                format!("broken symlink ({e})")
            } else {
                format!("cannot read: {e}")
            };
            script.problems.push(what);
            return script;
        }
    };
    if !meta.is_file() {
        script.problems.push("not a regular file".to_owned());
        return script;
    }
    if meta.permissions().mode() & 0o111 == 0 {
        script
            .problems
            .push("not executable, expected mode with x bits (chmod 0755)".to_owned());
    }
    if let Some(why) = insecure(&meta, enforce_owner) {
        script.problems.push(why);
    }

    match manifest::read(path) {
        Ok(parsed) => {
            script.problems.extend(parsed.errors);
            if let Some(text) = &parsed.fields.schedule {
                if !text.is_empty() {
                    match CalendarSpec::parse(text) {
                        Ok(spec) => script.schedule = Some(spec),
                        Err(e) => script
                            .problems
                            .push(format!("line {}: {e}", parsed.schedule_line)),
                    }
                }
            }
            script.manifest = parsed.fields;
        }
        Err(e) => script.problems.push(format!("cannot read: {e}")),
    }
    script
}

/// Why a file or directory may not be trusted to run as root, if it may not.
fn insecure(meta: &fs::Metadata, enforce_owner: bool) -> Option<String> {
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "writable by group or others (mode {mode:04o}), expected at most 0755 as it runs as root"
        ));
    }
    if enforce_owner && meta.uid() != 0 {
        return Some(format!(
            "owned by uid {}, expected root as it runs as root",
            meta.uid()
        ));
    }
    None
}

/// Two scripts with the same id would fight over the same units and log:
/// both are refused, each naming the other.
fn mark_collisions(scripts: &mut [Script]) {
    let mut by_id: BTreeMap<ServiceId, Vec<usize>> = BTreeMap::new();
    for (i, s) in scripts.iter().enumerate() {
        if let Some(id) = &s.id {
            by_id.entry(id.clone()).or_default().push(i);
        }
    }
    for (id, idx) in by_id {
        if idx.len() < 2 {
            continue;
        }
        for &i in &idx {
            let others: Vec<String> = idx
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| scripts[j].path.display().to_string())
                .collect();
            scripts[i].problems.push(format!(
                "service id \"{id}\" is also the id of {}, expected one script per id",
                others.join(", ")
            ));
        }
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Result<String, String> {
        ServiceId::from_file_name(OsStr::new(s)).map(|i| i.0)
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
