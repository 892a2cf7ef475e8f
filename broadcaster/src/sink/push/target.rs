//! Where a collector is: its URL as given, the agent key appended as the
//! last path segment (the upstream convention), and the form of the URL
//! that may be shown, with the key replaced by `<redacted>`.
//!
//! `--push wss://collector.example/ws/agent/` (upstream's route,
//! `ws/agent/<agent_key>/`) with the key `K` in the key file connects to
//! `wss://collector.example/ws/agent/K/` and is shown as
//! `wss://collector.example/ws/agent/<redacted>/`. Without a key the URL is
//! used as given.

use std::fmt;
use std::path::{Path, PathBuf};

/// The name of the key under systemd's `LoadCredential=` (`$CREDENTIALS_DIRECTORY/push-key`).
pub const CREDENTIAL: &str = "push-key";
/// Where the unit loads the credential from, so that a key file systemd
/// passed over (a dangling link, a directory) is reported, not ignored.
pub const CREDENTIAL_SOURCE: &str = "SSI_PUSH_KEY_SOURCE";
/// Longest accepted key.
const MAX_KEY: usize = 1024;

/// The agent key. Never printed: its `Debug` is `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(String);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Key {
    /// Reads the key from `file`: one line of URL-safe characters
    /// (`A-Z a-z 0-9 - . _ ~`), surrounding white space ignored. Errors name
    /// the file and the rule, never the content.
    pub fn read(file: &Path) -> Result<Key, String> {
        let bytes = std::fs::read(file)
            .map_err(|e| format!("key file {}: cannot read: {e}", file.display()))?;
        Key::parse(&bytes, file)
    }

    fn parse(bytes: &[u8], file: &Path) -> Result<Key, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            format!(
                "key file {}: expected one line of letters, digits and -._~",
                file.display()
            )
        })?;
        let key = text.trim();
        let ok = !key.is_empty()
            && key.len() <= MAX_KEY
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if !ok || key == "." || key == ".." {
            return Err(format!(
                "key file {}: expected one line of 1 to {MAX_KEY} letters, digits and -._~",
                file.display()
            ));
        }
        Ok(Key(key.to_string()))
    }

    /// The key to use: from `--push-key-file`, else from the credential
    /// systemd passed (`LoadCredential=push-key:…`), else none.
    ///
    /// A credential of nothing but white space is the shipped unit's
    /// `SetCredential=` default, which systemd passes when the key file
    /// does not exist: no key. If the file named by `SSI_PUSH_KEY_SOURCE`
    /// exists all the same (a dangling link, a directory), the key was
    /// configured and could not be loaded: that is an error, not a
    /// connection without the key.
    pub fn configured(option: Option<&Path>) -> Result<Option<Key>, String> {
        if let Some(p) = option {
            return Key::read(p).map(Some);
        }
        let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
            return Ok(None);
        };
        let p = Path::new(&dir).join(CREDENTIAL);
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("key file {}: cannot read: {e}", p.display())),
        };
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            return Key::parse(&bytes, &p).map(Some);
        }
        let Some(source) = std::env::var_os(CREDENTIAL_SOURCE).map(PathBuf::from) else {
            return Ok(None);
        };
        let what = match std::fs::symlink_metadata(&source) {
            Err(_) => return Ok(None),
            Ok(m) if m.is_symlink() => match std::fs::metadata(&source) {
                Err(e) => format!("a symbolic link to nothing readable: {e}"),
                Ok(_) => "a symbolic link systemd could not follow".to_string(),
            },
            Ok(m) if m.is_dir() => "a directory".to_string(),
            Ok(m) if m.is_file() => "systemd passed no key from it".to_string(),
            Ok(_) => "not a regular file".to_string(),
        };
        Err(format!(
            "key file {}: exists but could not be loaded as the credential {CREDENTIAL} ({what}); \
             expected a regular file with the agent key (remove it for a collector that takes no key)",
            source.display()
        ))
    }
}

/// One collector's address (its `Debug` shows the redacted URL).
#[derive(Clone)]
pub struct Target {
    /// What to connect to (contains the key: never print it).
    url: String,
    /// What to print.
    shown: String,
    /// The key, to scrub it from any text that might quote the URL.
    key: Option<Key>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.shown).finish()
    }
}

impl Target {
    /// The collector at `base` (already checked by `crate::opts::check_url`), with `key`
    /// appended when given.
    pub fn new(base: &str, key: Option<&Key>) -> Result<Target, String> {
        match key {
            None => Ok(Target {
                url: base.to_string(),
                shown: base.to_string(),
                key: None,
            }),
            Some(k) if base.ends_with('/') => Ok(Target {
                url: format!("{base}{}/", k.0),
                shown: format!("{base}<redacted>/"),
                key: Some(k.clone()),
            }),
            Some(_) => Err(format!(
                "--push {base:?}: expected the URL to end with \"/\" (the agent key \
                 is appended as its last path segment)"
            )),
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL as it may be shown.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with the key replaced by `<redacted>`, should it quote it.
    pub fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(k) => text.replace(&k.0, "<redacted>"),
            None => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_appended_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "s3cr3t-K_ey~1\n").unwrap();
        let k = Key::read(&f).unwrap();
        assert_eq!(format!("{k:?}"), "<redacted>");
        let t = Target::new("wss://c.example/ws/agent/", Some(&k)).unwrap();
        assert_eq!(t.url(), "wss://c.example/ws/agent/s3cr3t-K_ey~1/");
        assert_eq!(t.shown(), "wss://c.example/ws/agent/<redacted>/");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert_eq!(
            t.scrub("GET /ws/agent/s3cr3t-K_ey~1/"),
            "GET /ws/agent/<redacted>/"
        );
        let err = Target::new("wss://c.example/ws/agent", Some(&k)).unwrap_err();
        assert!(err.contains("end with \"/\""), "{err}");
        assert!(!err.contains("s3cr3t"));
        let plain = Target::new("ws://127.0.0.1:9/x", None).unwrap();
        assert_eq!(plain.url(), plain.shown());
    }

    #[test]
    fn bad_keys_name_the_file_not_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        for bad in ["", "\n", "has space", "sl/ash", "..", "per%cent"] {
            std::fs::write(&f, bad).unwrap();
            let e = Key::read(&f).unwrap_err();
            assert!(
                e.starts_with(&format!("key file {}: expected", f.display())),
                "{e}"
            );
            if !bad.trim().is_empty() && bad != ".." {
                assert!(!e.contains(bad.trim()), "{e}");
            }
        }
        let e = Key::read(&dir.path().join("missing")).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
