//! The last `/metrics` body of each format, kept until what it shows
//! changes: a scrape that finds nothing new answers with the stored text
//! instead of rendering 1,000 checks again.
//!
//! What a body shows is named by a [`Key`]: the registry's generation (one
//! more at every discovery and status line), the number of WebSocket
//! clients, and which checks are late now (lateness changes with the clock
//! alone, so it is judged at every scrape; that is a comparison per check,
//! not a rendering).

use std::sync::{Arc, Mutex};

use ssi::metrics::Format;

/// What one rendered body shows.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Key {
    /// The registry's generation when the body was rendered.
    pub generation: u64,
    /// WebSocket clients then.
    pub clients: u64,
    /// Per check, in id order, whether it was late.
    pub late: Vec<bool>,
    /// Per check, in id order, how it was quiet (set by another program:
    /// `quiet.json` is read at each scrape).
    pub quiet: Vec<ssi::metrics::QuietFlags>,
}

/// A body and what it shows.
type Body = (Key, Arc<str>);

/// The last body of each format.
#[derive(Default)]
pub struct Rendered {
    slots: Mutex<[Option<Body>; 2]>,
}

impl Rendered {
    /// The body for `key` in `format`: the stored one when its key is the
    /// same, else `render()`'s, stored for the next scrape. Rendering runs
    /// outside the lock, so two scrapes never wait on each other's.
    pub fn get(&self, key: Key, format: Format, render: impl FnOnce() -> String) -> Arc<str> {
        let slot = match format {
            Format::Text => 0,
            Format::OpenMetrics => 1,
        };
        {
            let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((k, body)) = &slots[slot] {
                if *k == key {
                    return body.clone();
                }
            }
        }
        let body: Arc<str> = render().into();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // A newer generation rendered meanwhile is not replaced by an older one.
        if slots[slot]
            .as_ref()
            .map_or(true, |(k, _)| k.generation <= key.generation)
        {
            slots[slot] = Some((key, body.clone()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(generation: u64, clients: u64, late: &[bool]) -> Key {
        Key {
            generation,
            clients,
            late: late.to_vec(),
            quiet: Vec::new(),
        }
    }

    #[test]
    fn renders_again_only_when_the_key_changes() {
        let r = Rendered::default();
        let mut renders = 0;
        let mut get = |k: Key, f: Format| {
            r.get(k, f, || {
                renders += 1;
                format!("body {renders}")
            })
        };
        assert_eq!(&*get(key(1, 0, &[false]), Format::Text), "body 1");
        assert_eq!(&*get(key(1, 0, &[false]), Format::Text), "body 1");
        assert_eq!(&*get(key(1, 0, &[false]), Format::OpenMetrics), "body 2");
        assert_eq!(
            &*get(key(2, 0, &[false]), Format::Text),
            "body 3",
            "a new line"
        );
        assert_eq!(
            &*get(key(2, 1, &[false]), Format::Text),
            "body 4",
            "a client came"
        );
        assert_eq!(
            &*get(key(2, 1, &[true]), Format::Text),
            "body 5",
            "a check became late"
        );
        assert_eq!(&*get(key(2, 1, &[true]), Format::Text), "body 5");
    }
}
