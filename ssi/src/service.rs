//! Check scripts in a scripts directory: which files are candidates, the
//! service id each one gets, and every reason one is refused. The generator,
//! `ssi-status` and the broadcaster all judge scripts through this module,
//! so they agree on what is valid and say the same reasons.
//!
//! [`id`] says what a file name makes of a script, [`trust`] whether it may
//! run as root, [`problem`] every reason for a refusal; this module puts
//! them together into one [`Verdict`] per script.

pub mod executables;
pub mod id;
pub mod problem;
pub mod trust;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use self::executables::{discover_executables, Executable};
pub use self::id::{is_id, is_ignored_name, IdError, ServiceId, MAX_ID_LEN, UNIT_PREFIX};
pub use self::problem::Problem;
use self::trust::{enforce_owner, insecure, insecure_ancestors};
use crate::calendar::CalendarSpec;
use crate::manifest::{self, Fields, Output};

/// One candidate script and everything known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The script's path (in the scripts directory, not resolved).
    pub path: PathBuf,
    /// Its service id, when the file name makes one.
    pub id: Option<ServiceId>,
    /// The manifest values as far as they could be read (for showing an
    /// invalid script too).
    pub manifest: Fields,
    /// The parsed schedule, when it is valid.
    pub schedule: Option<CalendarSpec>,
    /// Valid or not, and why not: the one record of validity.
    pub verdict: Verdict,
    /// Manifest comments that look like misspelled keys (they do not
    /// affect validity).
    pub warnings: Vec<manifest::Warning>,
}

/// Whether a script passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It did, with every value it needs.
    Valid(Box<Valid>),
    /// It did not, for these reasons (never empty).
    Invalid(Vec<Problem>),
}

/// The values of a script that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    /// Its id.
    pub id: ServiceId,
    /// `name:`
    pub name: String,
    /// `description:`
    pub description: String,
    /// `version:`
    pub version: String,
    /// `schedule:` as written (comment removed).
    pub schedule_text: String,
    /// The parsed schedule.
    pub schedule: CalendarSpec,
    /// Run time limit in seconds.
    pub timeout: u32,
    /// `output:`, what its output and exit status mean.
    pub output: Output,
    /// `run-on-apply:`, whether it runs once as soon as it is applied.
    pub run_on_apply: bool,
}

/// A valid script, borrowed: what unit files are written from.
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
    /// `output:`, what its output and exit status mean.
    pub output: Output,
    /// `run-on-apply:`, whether it runs once as soon as it is applied.
    pub run_on_apply: bool,
}

impl Script {
    /// Whether the script passes every rule.
    pub fn is_valid(&self) -> bool {
        matches!(self.verdict, Verdict::Valid(_))
    }

    /// The script's values when it is valid.
    pub fn valid(&self) -> Option<ValidScript<'_>> {
        let Verdict::Valid(v) = &self.verdict else {
            return None;
        };
        Some(ValidScript {
            path: &self.path,
            id: &v.id,
            name: &v.name,
            description: &v.description,
            version: &v.version,
            schedule_text: &v.schedule_text,
            schedule: &v.schedule,
            timeout: v.timeout,
            output: v.output,
            run_on_apply: v.run_on_apply,
        })
    }

    /// Why the script is refused; empty when it is valid.
    pub fn problems(&self) -> &[Problem] {
        match &self.verdict {
            Verdict::Valid(_) => &[],
            Verdict::Invalid(problems) => problems,
        }
    }

    /// Every problem in one line, joined by `"; "`.
    pub fn reason(&self) -> String {
        let texts: Vec<String> = self.problems().iter().map(ToString::to_string).collect();
        texts.join("; ")
    }

    /// Refuses the script for one more reason.
    pub fn refuse(&mut self, problem: Problem) {
        match &mut self.verdict {
            Verdict::Invalid(problems) => problems.push(problem),
            Verdict::Valid(_) => self.verdict = Verdict::Invalid(vec![problem]),
        }
    }

    /// The verdict on what was found: valid when nothing is wrong.
    fn settle(
        path: PathBuf,
        id: Option<ServiceId>,
        manifest: Fields,
        schedule: Option<CalendarSpec>,
        mut problems: Vec<Problem>,
    ) -> Script {
        let verdict = if problems.is_empty() {
            match Script::complete(&id, &manifest, &schedule) {
                Ok(valid) => Verdict::Valid(Box::new(valid)),
                // Every rule that leaves a value unset also reports it, so
                // this is only a guard against a rule that forgets to.
                Err(key) => {
                    problems.push(Problem::Manifest(manifest::Error::Missing { key }));
                    Verdict::Invalid(problems)
                }
            }
        } else {
            Verdict::Invalid(problems)
        };
        Script {
            path,
            id,
            manifest,
            schedule,
            verdict,
            warnings: Vec::new(),
        }
    }

    /// Every value a valid script has, or the first key without one.
    fn complete(
        id: &Option<ServiceId>,
        m: &Fields,
        schedule: &Option<CalendarSpec>,
    ) -> Result<Valid, &'static str> {
        Ok(Valid {
            id: id.clone().ok_or("file name")?,
            name: m.name.clone().ok_or("name")?,
            description: m.description.clone().ok_or("description")?,
            version: m.version.clone().ok_or("version")?,
            schedule_text: m.schedule.clone().ok_or("schedule")?,
            schedule: schedule.clone().ok_or("schedule")?,
            timeout: m.timeout.ok_or("timeout")?,
            output: m.output.unwrap_or_default(),
            run_on_apply: m.run_on_apply.unwrap_or(true),
        })
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
    // Every entry is a file of its own.
    mark_collisions(&mut scripts, |s| s.path.clone());
    scripts.sort_by(|a, b| (a.id.is_none(), &a.id, &a.path).cmp(&(b.id.is_none(), &b.id, &b.path)));
    ignored.sort();
    Ok(Discovery { scripts, ignored })
}

/// Judges one file by the same rules as [`discover`] (everything but id
/// collisions, which need the whole directory: [`mark_collisions`]).
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

/// Two scripts with the same id would fight over the same units and log:
/// both are refused, each naming the others in the order given. `file`
/// says which entries are the same file (the same file named twice is no
/// collision); the first entry naming a file stands for it.
pub fn mark_collisions<K: Ord + Clone>(scripts: &mut [Script], file: impl Fn(&Script) -> K) {
    // id → distinct files (key, first index naming it).
    let mut by_id: BTreeMap<ServiceId, Vec<(K, usize)>> = BTreeMap::new();
    let mut file_of = Vec::with_capacity(scripts.len());
    for (i, s) in scripts.iter().enumerate() {
        let key = file(s);
        if let Some(id) = &s.id {
            let files = by_id.entry(id.clone()).or_default();
            if !files.iter().any(|(k, _)| *k == key) {
                files.push((key.clone(), i));
            }
        }
        file_of.push(key);
    }
    for (i, key) in file_of.iter().enumerate() {
        let Some(id) = scripts[i].id.clone() else {
            continue;
        };
        let Some(files) = by_id.get(&id) else {
            continue;
        };
        let others: Vec<PathBuf> = files
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(_, j)| scripts[*j].path.clone())
            .collect();
        if !others.is_empty() {
            scripts[i].refuse(Problem::Collision(id, others));
        }
    }
}

/// Why the directory holding scripts may not be trusted: itself closed to
/// others, every directory above it as [`insecure_ancestors`] says.
fn insecure_dir(dir: &Path, meta: &fs::Metadata, enforce_owner: bool) -> Option<Problem> {
    insecure(meta, enforce_owner)
        .map(|why| Problem::InsecureScriptsDir(dir.to_owned(), why))
        .or_else(|| {
            let canonical = fs::canonicalize(dir).ok()?;
            insecure_ancestors(canonical.parent()?, enforce_owner).map(Problem::InsecureAncestor)
        })
}

/// Judges a script where it lies: its own rules, then its directory's
/// problem, then, for a symlink (which runs its target), the directories
/// holding the target.
fn judge_placed(
    path: &Path,
    meta: io::Result<fs::Metadata>,
    is_link: bool,
    dir_problem: Option<&Problem>,
    enforce_owner: bool,
) -> Script {
    let found = judge(path, meta, enforce_owner);
    let mut problems = Vec::new();
    problems.extend(dir_problem.cloned());
    problems.extend(found.problems);
    if is_link {
        if let Some(why) = fs::canonicalize(path)
            .ok()
            .and_then(|target| insecure_ancestors(target.parent()?, enforce_owner))
        {
            problems.push(Problem::InsecureSymlinkTarget(why));
        }
    }
    let mut script = Script::settle(
        path.to_owned(),
        found.id,
        found.manifest,
        found.schedule,
        problems,
    );
    script.warnings = found.warnings;
    script
}

/// What judging one file found, before the verdict.
struct Found {
    id: Option<ServiceId>,
    manifest: Fields,
    schedule: Option<CalendarSpec>,
    problems: Vec<Problem>,
    warnings: Vec<manifest::Warning>,
}

/// Judges one file, given what `fs::metadata` (symlinks followed) said of it.
fn judge(path: &Path, meta: io::Result<fs::Metadata>, enforce_owner: bool) -> Found {
    let mut found = Found {
        id: None,
        manifest: Fields::default(),
        schedule: None,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let problems = &mut found.problems;
    match path.file_name().map(ServiceId::from_file_name) {
        Some(Ok(id)) => found.id = Some(id),
        Some(Err(why)) => problems.push(Problem::Id(why)),
        None => problems.push(Problem::NoFileName),
    }
    // systemd strips a value's trailing white space and joins a line that
    // ends in a backslash with the next: `SourcePath=` could not keep them.
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with('\\') || n.ends_with(char::is_whitespace))
    {
        problems.push(Problem::FileNameEnding);
    }
    // Unit files are UTF-8 text, one setting per line: a path that cannot
    // be written into `ExecStart=` faithfully is refused up front.
    match path.to_str() {
        None => problems.push(Problem::PathNotUtf8),
        Some(p) if p.chars().any(char::is_control) => problems.push(Problem::PathControl),
        Some(_) => {}
    }

    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            problems.push(if fs::symlink_metadata(path).is_ok() {
                Problem::BrokenSymlink(e.to_string())
            } else {
                Problem::Unreadable(e.to_string())
            });
            return found;
        }
    };
    if !meta.is_file() {
        problems.push(Problem::NotRegular);
        return found;
    }
    if meta.permissions().mode() & 0o111 == 0 {
        problems.push(Problem::NotExecutable);
    }
    if let Some(why) = insecure(&meta, enforce_owner) {
        problems.push(Problem::Insecure(why));
    }

    match manifest::read(path) {
        Ok(parsed) => {
            problems.extend(parsed.errors.into_iter().map(Problem::Manifest));
            if let Some(text) = &parsed.fields.schedule {
                if !text.is_empty() {
                    match CalendarSpec::parse(text) {
                        Ok(spec) => found.schedule = Some(spec),
                        Err(e) => problems.push(Problem::Schedule(parsed.schedule_line, e)),
                    }
                }
            }
            found.manifest = parsed.fields;
            found.warnings = parsed.warnings;
        }
        Err(e) => problems.push(Problem::Unreadable(e.to_string())),
    }
    found
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn problems_have_codes_and_todays_text() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("Bad+Name.sh");
        fs::write(&path, "#!/bin/sh\n# name: ab\n# schedule: *:0/5x\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let s = check_file(&path);
        assert!(!s.is_valid());
        let got: Vec<(&str, String)> = s
            .problems()
            .iter()
            .map(|p| (p.code(), p.to_string()))
            .collect();
        let codes: Vec<&str> = got.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes,
            [
                "file-name",
                "not-executable",
                "manifest-value-invalid",
                "manifest-key-missing",
                "manifest-key-missing",
                "schedule-invalid"
            ],
            "{got:?}"
        );
        assert_eq!(
            got[1].1,
            "not executable, expected mode with x bits (chmod 0755)"
        );
        assert!(got[5].1.starts_with("line 3: "), "{got:?}");
        let texts: Vec<String> = got.into_iter().map(|(_, t)| t).collect();
        assert_eq!(s.reason(), texts.join("; "));
    }

    #[test]
    fn a_collision_turns_a_valid_script_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let mut scripts = Vec::new();
        for name in ["a-b.sh", "a.b.sh"] {
            let path = tmp.path().join(name);
            fs::write(
                &path,
                "#!/bin/sh\n# name: Same id\n# description: d\n# version: 1\n# schedule: daily\n",
            )
            .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            scripts.push(check_file(&path));
        }
        assert!(scripts.iter().all(Script::is_valid));
        // The same file named twice is no collision.
        let mut same = vec![scripts[0].clone(), scripts[0].clone()];
        mark_collisions(&mut same, |s| s.path.clone());
        assert!(same.iter().all(Script::is_valid));
        mark_collisions(&mut scripts, |s| s.path.clone());
        assert_eq!(scripts[0].problems().len(), 1);
        assert_eq!(scripts[0].problems()[0].code(), "id-collision");
        assert!(scripts[0].valid().is_none());
        assert!(scripts[1].reason().contains("also the id of"));
    }
}
