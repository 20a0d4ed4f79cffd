//! The replay engine every replay device shares: the loaded session split into channels
//! (a device's own calls, each card connection, scan job and event subscription), the
//! matching of a call against the recording with [`ReplayOptions`], the differences found,
//! and `done()`.
//!
//! Strict like the mocks: a call is matched against the next entry of its channel; a call
//! with other arguments fails with [`ErrorKind::InvalidInput`] (the entry is used up), a call
//! the recording does not have next fails the same way (the entry stays for the call that
//! does come), and `done()` reports every difference, the first one named first, and every
//! entry never replayed. Dropped without `done()`, the session panics.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::format::{plain_file_name, short, Channel, Entry, MAX_PAGE_FILE};
use super::values::{bad, pixel_format, PageRec};
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{pnm, Page};

/// How fast a replay answers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Timing {
    /// At once (the default): a replay takes no time beyond what the caller's own timers do.
    #[default]
    Fast,
    /// Each call takes as long as it did when recorded (on tokio's clock: a paused clock in a
    /// test makes it instant and deterministic).
    RealTime,
    /// Recorded time multiplied by the factor (0.5 is twice as fast as recorded).
    Scaled(f64),
}

/// How a replay matches calls and how fast it answers.
///
/// ```
/// use buergerkoffer::record::ReplayOptions;
/// let opts = ReplayOptions::new()
///     .real_time()
///     .any_order()                    // independent calls may come in another order
///     .ignore("print", "document.hash") // the PDF has a new date each run
///     .ignore("scan", "options");
/// # let _ = opts;
/// ```
///
/// Wildcards can also be written into the session file: a recorded request value `"*"`
/// matches any value, and `??` in a recorded hex string (an APDU) matches any byte, e.g.
/// `{"cmd":"00 84 00 00 ??"}`.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    pub(crate) timing: Timing,
    pub(crate) any_order: bool,
    pub(crate) ignore: Vec<(String, String)>,
}

impl ReplayOptions {
    /// Strict order, answers at once, every field compared.
    pub fn new() -> Self {
        ReplayOptions::default()
    }

    /// Each call takes as long as it did when recorded ([`Timing::RealTime`]).
    #[must_use]
    pub fn real_time(mut self) -> Self {
        self.timing = Timing::RealTime;
        self
    }

    /// Sets the timing.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Lets a call match any later unused entry of its channel with the same operation and
    /// arguments, not only the next one (independent requests in any order). Repeated equal
    /// calls (polling a job) still get their answers in recorded order.
    #[must_use]
    pub fn any_order(mut self) -> Self {
        self.any_order = true;
        self
    }

    /// Does not compare the request field `field` (a dotted path into the request as the
    /// session file writes it, e.g. `document.hash`, `options.job_name`, `cmd`) of operation
    /// `op` (e.g. `print`, `scan`, `transmit`).
    #[must_use]
    pub fn ignore(mut self, op: impl Into<String>, field: impl Into<String>) -> Self {
        self.ignore.push((op.into(), field.into()));
        self
    }
}

/// The first difference between a recorded request and a call's, as `path: got (recorded
/// want)`; `None` when they match.
pub(crate) fn differs(
    recorded: &Value,
    call: &Value,
    path: &str,
    ignore: &[&str],
) -> Option<String> {
    if ignore.contains(&path) || recorded.as_str() == Some("*") {
        return None;
    }
    let here = |p: &str| {
        if p.is_empty() {
            "request".to_owned()
        } else {
            p.to_owned()
        }
    };
    match (recorded, call) {
        (Value::Object(r), Value::Object(c)) => {
            for k in r.keys().chain(c.keys().filter(|k| !r.contains_key(*k))) {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let (rv, cv) = (
                    r.get(k).unwrap_or(&Value::Null),
                    c.get(k).unwrap_or(&Value::Null),
                );
                if let Some(d) = differs(rv, cv, &sub, ignore) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(r), Value::Array(c)) => {
            if r.len() != c.len() {
                return Some(format!(
                    "{}: {} (recorded {})",
                    here(path),
                    shown(call),
                    shown(recorded)
                ));
            }
            r.iter()
                .zip(c)
                .enumerate()
                .find_map(|(i, (rv, cv))| differs(rv, cv, &format!("{path}[{i}]"), ignore))
        }
        (Value::String(r), Value::String(c)) if r.contains("??") => {
            let (rt, ct): (Vec<&str>, Vec<&str>) = (
                r.split_whitespace().collect(),
                c.split_whitespace().collect(),
            );
            let same = rt.len() == ct.len()
                && rt
                    .iter()
                    .zip(&ct)
                    .all(|(a, b)| *a == "??" || a.eq_ignore_ascii_case(b));
            (!same).then(|| format!("{}: {c} (recorded {r})", here(path)))
        }
        _ if recorded == call => None,
        _ => Some(format!(
            "{}: {} (recorded {})",
            here(path),
            shown(call),
            shown(recorded)
        )),
    }
}

/// A value as a difference names it: strings bare, anything else as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => short(other),
    }
}

type Key = (String, Channel);

/// The state every replay device of one session shares.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) opts: ReplayOptions,
    pub(crate) devices: Vec<DeviceInfo>,
    /// The format version and writer named in the header.
    pub(crate) version: u32,
    pub(crate) writer: String,
    state: Mutex<State>,
}

struct State {
    channels: HashMap<Key, VecDeque<Entry>>,
    problems: Vec<String>,
    armed: bool,
    checked: bool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("dir", &self.dir)
            .field("devices", &self.devices.len())
            .finish()
    }
}

/// A difference: the error the call gets.
fn refused(dev: &str, op: &str, detail: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        dev.to_owned(),
        format!("replay {op}"),
    )
    .with_detail(detail)
}

fn device_info(v: &Value) -> Result<DeviceInfo> {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let id: DeviceId = s("id")
        .ok_or_else(|| bad("device line without an id"))?
        .parse()
        .map_err(|e: Error| bad(e.to_string()))?;
    let kind = match s("kind") {
        Some("card reader") => DeviceKind::CardReader,
        Some("scanner") => DeviceKind::Scanner,
        Some("printer") => DeviceKind::Printer,
        other => return Err(bad(format!("device kind {other:?}"))),
    };
    let mut info = DeviceInfo::new(id, kind, s("name").unwrap_or_default());
    info.vendor = s("vendor").map(Into::into);
    info.serial = s("serial").map(Into::into);
    Ok(info)
}

impl Shared {
    /// Loads the session in `dir`.
    pub(crate) fn open(dir: &Path, opts: ReplayOptions) -> Result<Self> {
        let loaded = super::format::load(dir)?;
        let devices = loaded
            .devices
            .iter()
            .map(device_info)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| e.with_operation("read session"))?;
        let armed = !loaded.entries.is_empty();
        let mut channels: HashMap<Key, VecDeque<Entry>> = HashMap::new();
        for e in loaded.entries {
            channels
                .entry((e.dev.clone(), e.channel()))
                .or_default()
                .push_back(e);
        }
        Ok(Shared {
            dir: dir.to_path_buf(),
            opts,
            devices,
            version: loaded.header.version,
            writer: loaded.header.writer,
            state: Mutex::new(State {
                channels,
                problems: Vec::new(),
                armed,
                checked: !armed,
            }),
        })
    }

    pub(crate) fn device(&self, id: &DeviceId, kind: DeviceKind) -> Option<&DeviceInfo> {
        self.devices.iter().find(|d| &d.id == id && d.kind == kind)
    }

    /// Takes the entry that answers the call `op` on (`dev`, `ch`). `make_req` builds the
    /// call's request as the file would write it, given the recorded one (so that a call can
    /// be written as secretly as its recording).
    pub(crate) fn take(
        &self,
        dev: &str,
        ch: Channel,
        op: &str,
        make_req: &(dyn Fn(&Value) -> Value + Sync),
    ) -> Result<Entry> {
        let ignore: Vec<&str> = self
            .opts
            .ignore
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, f)| f.as_str())
            .collect();
        let mut st = super::lock(&self.state);
        let st = &mut *st;
        let here = format!("{dev}{ch}");
        let queue = st.channels.entry((dev.to_owned(), ch)).or_default();
        let call_desc = |req: &Value| {
            if req.is_null() {
                op.to_owned()
            } else {
                format!("{op} {}", short(req))
            }
        };
        if self.opts.any_order {
            let found = queue.iter().position(|e| {
                e.op == op && differs(&e.req, &make_req(&e.req), "", &ignore).is_none()
            });
            if let Some(i) = found {
                return queue
                    .remove(i)
                    .ok_or_else(|| refused(dev, op, "entry vanished".into()));
            }
            let req = make_req(&Value::Null);
            let text = match queue.iter().find(|e| e.op == op) {
                Some(e) => format!(
                    "{here}: {} matches no recorded {op}; the nearest, line {}, differs in {}",
                    call_desc(&req),
                    e.seq + 1,
                    differs(&e.req, &make_req(&e.req), "", &ignore).unwrap_or_default()
                ),
                None => format!(
                    "{here}: unexpected {}: the recording has no more {op} here",
                    call_desc(&req)
                ),
            };
            st.problems.push(text.clone());
            return Err(refused(dev, op, text));
        }
        let Some(head) = queue.front() else {
            let text = format!(
                "{here}: unexpected {}: the recording has nothing more here",
                call_desc(&make_req(&Value::Null))
            );
            st.problems.push(text.clone());
            return Err(refused(dev, op, text));
        };
        if head.op != op {
            let text = format!(
                "{here}: {} called, but the recording has {} next",
                call_desc(&make_req(&head.req)),
                head.describe()
            );
            st.problems.push(text.clone());
            return Err(refused(dev, op, text));
        }
        let req = make_req(&head.req);
        match differs(&head.req, &req, "", &ignore) {
            None => queue
                .pop_front()
                .ok_or_else(|| refused(dev, op, "entry vanished".into())),
            Some(d) => {
                let text = format!(
                    "{here}: {op} differs from the recording (line {}) in {d}",
                    head.seq + 1
                );
                queue.pop_front();
                st.problems.push(text.clone());
                Err(refused(dev, op, text))
            }
        }
    }

    /// The operation of the next entry of a channel, if any (for stream items and markers).
    pub(crate) fn peek_op(&self, dev: &str, ch: Channel) -> Option<String> {
        let st = super::lock(&self.state);
        st.channels
            .get(&(dev.to_owned(), ch))
            .and_then(|q| q.front())
            .map(|e| e.op.clone())
    }

    /// Takes the next entry of a channel whatever it is (a stream item).
    pub(crate) fn pop(&self, dev: &str, ch: Channel) -> Option<Entry> {
        let mut st = super::lock(&self.state);
        st.channels
            .get_mut(&(dev.to_owned(), ch))
            .and_then(VecDeque::pop_front)
    }

    /// Records a difference found by a device (e.g. a stream read past its recording).
    pub(crate) fn problem(&self, text: String) {
        super::lock(&self.state).problems.push(text);
    }

    /// Waits as long as the entry took when recorded, as [`Timing`] says.
    pub(crate) async fn pace(&self, entry: &Entry) {
        let factor = match self.opts.timing {
            Timing::Fast => return,
            Timing::RealTime => 1.0,
            Timing::Scaled(f) => f,
        };
        let ms = entry.dur * factor;
        if ms.is_finite() && ms > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64((ms / 1e3).min(86_400.0))).await;
        }
    }

    /// Reads a recorded page back from its file beside the session, checking it against its
    /// description.
    pub(crate) fn load_page(&self, rec: &PageRec) -> Result<Page> {
        let bad_page = |what: String| {
            Error::new(
                ErrorKind::Protocol,
                self.dir.display().to_string(),
                "replay page",
            )
            .with_detail(format!("{}: {what}", rec.file))
        };
        if !plain_file_name(&rec.file) {
            return Err(bad_page(
                "not a file name inside the session directory".into(),
            ));
        }
        let path = self.dir.join(&rec.file);
        let shown = path.display().to_string();
        let len = std::fs::metadata(&path)
            .map_err(|e| Error::io(shown.clone(), "replay page", e))?
            .len();
        if len > MAX_PAGE_FILE || len != rec.bytes {
            return Err(bad_page(format!(
                "{len} bytes, the session says {}",
                rec.bytes
            )));
        }
        let data = bytes::Bytes::from(
            std::fs::read(&path).map_err(|e| Error::io(shown.clone(), "replay page", e))?,
        );
        if rec.format == "jpeg" {
            let channels = rec.channels.unwrap_or(3);
            return Page::jpeg(rec.index, rec.width, rec.height, rec.dpi, channels, data)
                .map_err(|e| e.with_operation("replay page"));
        }
        let want = pixel_format(&rec.format)?;
        let img = pnm::decode_bytes(data, &shown)?;
        if (img.width, img.height, img.format) != (rec.width, rec.height, want) {
            return Err(bad_page(format!(
                "{}x{} {:?}, the session says {}x{} {}",
                img.width, img.height, img.format, rec.width, rec.height, rec.format
            )));
        }
        img.into_page(rec.index, rec.dpi)
    }

    /// Every difference so far and every entry never replayed; resets the session's check.
    pub(crate) fn done(&self) -> Result<()> {
        let mut st = super::lock(&self.state);
        let mut problems = std::mem::take(&mut st.problems);
        let mut unused: Vec<&Entry> = st.channels.values().flatten().collect();
        unused.sort_by_key(|e| e.seq);
        for e in unused {
            problems.push(format!("recorded {} was never replayed", e.describe()));
        }
        st.channels.clear();
        st.armed = false;
        st.checked = true;
        if problems.is_empty() {
            return Ok(());
        }
        let total = problems.len();
        const SHOWN: usize = 20;
        let mut detail = format!(
            "{total} difference{} from the recording; first: {}",
            if total == 1 { "" } else { "s" },
            problems[0]
        );
        for p in problems.iter().skip(1).take(SHOWN - 1) {
            detail.push_str("; then: ");
            detail.push_str(p);
        }
        if total > SHOWN {
            detail.push_str(&format!("; and {} more", total - SHOWN));
        }
        Err(Error::new(
            ErrorKind::InvalidInput,
            self.dir.display().to_string(),
            "check replay",
        )
        .with_detail(detail))
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let st = super::lock(&self.state);
        if st.armed && !st.checked && !std::thread::panicking() {
            let left: usize = st.channels.values().map(VecDeque::len).sum();
            panic!(
                "replay of {} dropped without done() ({left} entries unused, {} differences)",
                self.dir.display(),
                st.problems.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_field_and_respect_wildcards() {
        let rec = json!({"resolution": 75, "options": [["a", "1"]], "area": null});
        let call = json!({"resolution": 150, "options": [["a", "1"]], "area": null});
        assert_eq!(
            differs(&rec, &call, "", &[]).unwrap(),
            "resolution: 150 (recorded 75)"
        );
        assert!(differs(&rec, &call, "", &["resolution"]).is_none());
        let wild = json!({"resolution": "*", "options": [["a", "1"]], "area": null});
        assert!(differs(&wild, &call, "", &[]).is_none());
        let extra = json!({"resolution": 75, "options": [["a", "1"]], "area": null, "x": 1});
        assert_eq!(
            differs(&rec, &extra, "", &[]).unwrap(),
            "x: 1 (recorded null)"
        );
        let shorter = json!({"resolution": 75, "options": [], "area": null});
        assert!(differs(&rec, &shorter, "", &[])
            .unwrap()
            .starts_with("options: []"));
    }

    #[test]
    fn hex_wildcards_match_any_byte() {
        let rec = json!({"cmd": "00 B0 ?? ?? 00"});
        assert!(differs(&rec, &json!({"cmd": "00 B0 00 80 00"}), "", &[]).is_none());
        assert!(differs(&rec, &json!({"cmd": "00 B0 00 80"}), "", &[]).is_some());
        assert!(differs(&rec, &json!({"cmd": "00 A4 00 80 00"}), "", &[]).is_some());
    }
}
