//! A `tracing` subscriber for tests that records every event and span (name, target, level
//! and every field, at TRACE level) as text, and a search for secret bytes in any text in the
//! forms a log or `Debug` line could show them.
#![allow(dead_code)]

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest, Subscriber};
use tracing::{Event, Metadata};

/// Records everything into a shared string.
#[derive(Clone, Default)]
pub struct Capture {
    text: Arc<Mutex<String>>,
    next_span: Arc<AtomicU64>,
}

impl Capture {
    pub fn new() -> Self {
        Capture::default()
    }

    /// Makes this the subscriber of the current thread until the guard drops (a tokio
    /// current-thread test runtime runs every task on this thread).
    pub fn install(&self) -> DefaultGuard {
        tracing::subscriber::set_default(self.clone())
    }

    /// Everything recorded so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    fn push(&self, head: fmt::Arguments<'_>, fields: &str) {
        let mut t = self.text.lock().unwrap();
        let _ = writeln!(t, "{head}{fields}");
    }
}

/// Writes every field as ` name=value`, values in their `Debug` form (strings as they are).
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut f = Fields(String::new());
        span.record(&mut f);
        let m = span.metadata();
        self.push(
            format_args!("span {} {} {}:", m.level(), m.target(), m.name()),
            &f.0,
        );
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut f = Fields(String::new());
        values.record(&mut f);
        self.push(format_args!("record span {}:", span.into_u64()), &f.0);
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        let m = event.metadata();
        self.push(format_args!("event {} {}:", m.level(), m.target()), &f.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Every form in which `bytes` could show up in a log line or `Debug` output.
fn forms(bytes: &[u8]) -> Vec<String> {
    let hex = |sep: &str, upper: bool| {
        bytes
            .iter()
            .map(|b| {
                if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect::<Vec<_>>()
            .join(sep)
    };
    let list = |f: &dyn Fn(&u8) -> String| bytes.iter().map(f).collect::<Vec<_>>().join(", ");
    let mut v = vec![
        hex(" ", true),
        hex(" ", false),
        hex("", true),
        hex("", false),
        hex(":", true),
        hex(":", false),
        // `{:?}` of a byte slice, and `{:02X?}` / `{:x?}`.
        list(&|b| b.to_string()),
        list(&|b| format!("{b:02X}")),
        list(&|b| format!("{b:x}")),
        list(&|b| format!("{b:#04x}")),
    ];
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        v.push(String::from_utf8_lossy(bytes).into_owned());
    }
    v
}

/// Panics when `text` shows any 4-byte window of any secret in any of [`forms`].
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        for window in secret.windows(4.min(secret.len())) {
            for form in forms(window) {
                assert!(
                    !text.contains(&form),
                    "{what}: secret bytes leaked as `{form}` in:\n{text}"
                );
            }
        }
    }
}
