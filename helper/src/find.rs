//! Finding the service the user means from what they typed (`x`, `ssi_x`,
//! `ssi_x.service`, `ssi_x.timer`), with suggestions when none matches:
//! `show`, `history`, `run` and `notify-test` take one.

use ssi::service::{discover, Script};

use crate::command::{fail, Ctx, Failure};
use crate::entry::Entry;
use crate::exit::Exit;

/// The script the user means by `arg` (`x`, `ssi_x`, `ssi_x.service`,
/// `ssi_x.timer`), or, for a script whose file name makes no id, its
/// file name.
pub fn find<'a>(scripts: &'a [Script], arg: &str) -> Option<&'a Script> {
    scripts.iter().find(|s| match &s.id {
        Some(id) => id.matches_user(arg),
        None => s.path.file_name().is_some_and(|n| n == arg),
    })
}

/// `no service "foo"; did you mean "foo_bar"?`: up to three ids close to
/// `arg` by edit distance, a mistyped start, or containing one another.
pub fn not_found(scripts: &[Script], arg: &str) -> String {
    let ids = scripts
        .iter()
        .filter_map(|s| s.id.as_ref())
        .map(|id| id.as_str());
    let quoted: Vec<String> = close_ids(ids, arg)
        .iter()
        .map(|id| format!("{id:?}"))
        .collect();
    match quoted.len() {
        0 => format!("no service {arg:?}"),
        1 => format!("no service {arg:?}; did you mean {}?", quoted[0]),
        n => format!(
            "no service {arg:?}; did you mean {} or {}?",
            quoted[..n - 1].join(", "),
            quoted[n - 1]
        ),
    }
}

/// The (at most three) ids closest to what the user typed, closest first.
fn close_ids<'a>(ids: impl Iterator<Item = &'a str>, arg: &str) -> Vec<String> {
    let want = normalize(arg);
    let want_len = want.chars().count();
    let mut close: Vec<(usize, String)> = ids
        .filter_map(|id| {
            let d = strsim::levenshtein(&want, id);
            let near = d <= (want_len.max(id.len()) / 3).max(2);
            let sub = want.len() >= 2 && (id.contains(&want) || want.contains(id));
            // "dumy" for "dummy_service": a typo in the first few letters.
            let start: String = id.chars().take(want_len).collect();
            let typo_start = want_len >= 3 && strsim::levenshtein(&want, &start) <= 1;
            (near || sub || typo_start).then(|| (d, id.to_owned()))
        })
        .collect();
    close.sort();
    close.truncate(3);
    close.into_iter().map(|(_, id)| id).collect()
}

/// What the user typed, in id form: no `ssi_` prefix or unit suffix,
/// lower case, `-` `.` and spaces as `_`.
fn normalize(arg: &str) -> String {
    let a = arg
        .strip_suffix(".service")
        .or_else(|| arg.strip_suffix(".timer"))
        .unwrap_or(arg);
    let a = a.strip_prefix("ssi_").unwrap_or(a);
    a.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if matches!(c, '-' | '.' | ' ') { '_' } else { c })
        .collect()
}

/// The one service `arg` names, with its last status: only its own log is
/// read, however many there are.
pub fn one(ctx: &Ctx, arg: &str) -> Result<Entry, Failure> {
    let found = discover(&ctx.dirs.scripts).map_err(|e| fail(Exit::Failure, e.to_string()))?;
    match find(&found.scripts, arg) {
        Some(script) => Ok(Entry::new(script.clone(), &ctx.dirs.logs, &ctx.tz)),
        None => Err(fail(Exit::Failure, not_found(&found.scripts, arg))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let ids = [
            "dummy_service",
            "disk_usage",
            "system_updates",
            "tls_expiry",
        ];
        let close = |arg| close_ids(ids.iter().copied(), arg);
        assert_eq!(close("dumy"), vec!["dummy_service"]);
        assert_eq!(close("disk"), vec!["disk_usage"]);
        assert_eq!(close("ssi_disk_usgae"), vec!["disk_usage"]);
        assert_eq!(close("updates"), vec!["system_updates"]);
        assert!(close("zzz").is_empty());
    }

    #[test]
    fn normalizing_user_input() {
        assert_eq!(normalize("ssi_Disk-Usage.service"), "disk_usage");
        assert_eq!(normalize("disk usage"), "disk_usage");
    }
}
