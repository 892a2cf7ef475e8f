//! The generator run: judge every script, write units for the valid ones,
//! report the others, in systemd's voice.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use ssi::service::{self, Discovery};

use crate::units;

/// What one generator run is given.
#[derive(Debug, Clone)]
pub struct Config {
    /// systemd's "normal" generator directory, where units go.
    pub output: PathBuf,
    /// The scripts directory (absolute).
    pub scripts_dir: PathBuf,
    /// The log directory (absolute).
    pub log_dir: PathBuf,
    /// Where `ssi-run` is (absolute, checked by [`units::usable_libexecdir`]).
    pub libexecdir: String,
}

/// What a run did, for tests and the debug log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Scripts that got units.
    pub generated: usize,
    /// Scripts refused.
    pub skipped: usize,
}

/// An output file could not be written: the one error that fails the run.
#[derive(Debug)]
pub struct WriteError {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    pub source: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: cannot write: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {}

/// Generates units for every valid script in `cfg.scripts_dir` into
/// `cfg.output`. One bad script never stops the others; only an output
/// directory that cannot be written is an error.
pub fn run(cfg: &Config) -> Result<Summary, WriteError> {
    let discovery = match service::discover(&cfg.scripts_dir) {
        Ok(d) => d,
        Err(e) => {
            log::error!("{e}, ignoring.");
            Discovery::default()
        }
    };
    for (path, why) in &discovery.ignored {
        log::debug!("{}: {why}, skipped silently.", path.display());
    }
    if discovery.scripts.is_empty() {
        log::debug!(
            "{}: no check scripts, nothing to generate.",
            cfg.scripts_dir.display()
        );
    }

    let wants = cfg.output.join("timers.target.wants");
    let mut wants_made = false;
    let mut summary = Summary::default();
    for script in &discovery.scripts {
        // A misspelled key is read as a comment: say so, valid or not.
        for w in &script.warnings {
            log::warn!("{}: {w}.", script.path.display());
        }
        let Some(valid) = script.valid() else {
            log::warn!("{}: {}, ignoring.", script.path.display(), script.reason());
            summary.skipped += 1;
            continue;
        };
        // Paths that are not UTF-8 were refused while judging.
        let path = valid.path.to_string_lossy();
        let stem = valid.id.unit_stem();
        let timer = format!("{stem}.timer");
        write_file(
            &cfg.output.join(format!("{stem}.service")),
            &units::service_unit(&valid, &path, &cfg.log_dir, &cfg.libexecdir),
        )?;
        write_file(&cfg.output.join(&timer), &units::timer_unit(&valid, &path))?;
        if !wants_made {
            fs::create_dir_all(&wants).map_err(|source| WriteError {
                path: wants.clone(),
                source,
            })?;
            wants_made = true;
        }
        let link = wants.join(&timer);
        replace_symlink(&Path::new("..").join(&timer), &link)?;
        log::debug!(
            "{path}: generated {stem}.service and {timer} (schedule {:?}, timeout {}s).",
            valid.schedule_text,
            valid.timeout
        );
        summary.generated += 1;
    }
    Ok(summary)
}

fn write_file(path: &Path, content: &str) -> Result<(), WriteError> {
    fs::File::create(path)
        .and_then(|mut f| f.write_all(content.as_bytes()))
        .map_err(|source| WriteError {
            path: path.to_owned(),
            source,
        })
}

/// Creates `link -> target`, replacing an earlier one (a manual re-run into
/// the same directory).
fn replace_symlink(target: &Path, link: &Path) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: link.to_owned(),
        source,
    };
    match symlink(target, link) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(link).map_err(err)?;
            symlink(target, link).map_err(err)
        }
        other => other.map_err(err),
    }
}
