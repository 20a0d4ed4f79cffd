//! A scripted IPP printer of our own on 127.0.0.1, for what ippeveprinter cannot be told to
//! do: run out of paper or jam in the middle of a job.
//!
//! It speaks enough IPP Everywhere for the backend (Get-Printer-Attributes, Validate-Job,
//! Create-Job + Send-Document, Print-Job, Get-Job-Attributes, Get-Jobs, Cancel-Job,
//! Identify-Printer), parses requests with the `ipp` crate, takes PWG raster only (so a PDF is
//! rendered by the backend), counts the pages of each document with the tests' PWG reader (`print_raster/pwg.rs`), and
//! "prints" one sheet every [`SHEET_TIME`], one job after another, keeping a log of every sheet
//! it printed. A script of faults stops it before a given sheet with a printer reason
//! (`media-empty-error`, `media-jam-error`): the printer goes `stopped` with that reason, the
//! job `processing-stopped` with `printer-stopped` and `job-printer-state-reasons`
//! (PWG 5100.13). A jammed sheet is logged as jammed and is not counted; [`Scripted::clear`]
//! takes the fault away and the printer goes on where it stopped.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ipp::attribute::{IppAttribute, IppAttributeGroup, IppAttributes};
use ipp::model::{DelimiterTag, IppVersion, StatusCode};
use ipp::parser::IppParser;
use ipp::reader::IppReader;
use ipp::request::IppRequestResponse;
use ipp::value::IppValue;
use tokio::io::AsyncWriteExt;

#[path = "../hostile_ipp/printer.rs"]
mod transport;

#[path = "../print_raster/pwg.rs"]
mod pwg;

/// How long one sheet takes.
pub const SHEET_TIME: Duration = Duration::from_millis(150);

/// One scripted fault: before sheet number `before_sheet` (1-based, counted over all jobs)
/// the printer stops with `reason`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// The printer's sheet counter when the fault strikes (1 = before the first sheet).
    pub before_sheet: u32,
    /// A printer-state-reasons keyword, e.g. `media-empty-error`.
    pub reason: &'static str,
}

/// What the printer did with a sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sheet {
    /// Printed page `page` (1-based) of job `job`.
    Printed { job: i32, page: u32 },
    /// Page `page` of job `job` jammed: not counted, printed again once cleared.
    Jammed { job: i32, page: u32 },
}

#[derive(Debug)]
struct Job {
    id: i32,
    name: String,
    /// IPP job-state enum (3 pending ... 9 completed).
    state: i32,
    reasons: Vec<String>,
    printer_reasons: Vec<String>,
    /// Pages of the document, once it arrived.
    pages: Option<u32>,
    done: u32,
}

#[derive(Debug, Default)]
struct World {
    /// IPP printer-state enum: 3 idle, 4 processing, 5 stopped.
    state: i32,
    reasons: Vec<String>,
    jobs: Vec<Job>,
    next_id: i32,
    faults: VecDeque<Fault>,
    /// The fault in force, if any.
    fault: Option<Fault>,
    log: Vec<Sheet>,
    identified: u32,
    /// Request numbers by IPP operation code, for the test to see what the client sent.
    operations: Vec<u16>,
    /// Answer Print-Job / Send-Document only once the job has ended, like a printer without
    /// spool memory that prints while it reads.
    unspooled: bool,
    /// The job the last request with a document went to.
    doc_job: Option<i32>,
    /// Never answer a document, and stay idle: a printer that hangs.
    mute: bool,
}

/// The running printer and the test's handle on it.
#[derive(Clone)]
pub struct Scripted {
    world: Arc<Mutex<World>>,
    /// `ipp://127.0.0.1:PORT/ipp/print`.
    pub uri: String,
}

fn lock(w: &Mutex<World>) -> MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scripted {
    /// Starts the printer with a script of faults (in sheet order).
    pub async fn start(faults: Vec<Fault>) -> Scripted {
        Scripted::start_with(faults, false).await
    }

    /// Starts a printer that answers a document only once it has printed it (and so not
    /// while a fault stops it).
    pub async fn start_unspooled(faults: Vec<Fault>) -> Scripted {
        Scripted::start_with(faults, true).await
    }

    /// Starts a printer that takes documents but never answers them, and stays idle.
    pub async fn start_mute() -> Scripted {
        let s = Scripted::start_with(vec![], true).await;
        lock(&s.world).mute = true;
        s
    }

    async fn start_with(faults: Vec<Fault>, unspooled: bool) -> Scripted {
        let world = Arc::new(Mutex::new(World {
            state: 3,
            next_id: 1,
            faults: faults.into(),
            unspooled,
            ..World::default()
        }));
        let w = world.clone();
        let uri = transport::serve(move |mut s, body| {
            let w = w.clone();
            async move {
                let (reply, after) = answer(&w, &body);
                if let Some(id) = after {
                    while lock(&w).mute || lock(&w).jobs.iter().any(|j| j.id == id && j.state < 7) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                let _ = s.write_all(&transport::http(&reply)).await;
                let _ = s.shutdown().await;
            }
        })
        .await;
        let w = world.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SHEET_TIME).await;
                engine_step(&mut lock(&w));
            }
        });
        Scripted { world, uri }
    }

    /// Clears the fault in force: the printer goes on with the job it stopped in.
    pub fn clear(&self) {
        let mut w = lock(&self.world);
        if w.fault.take().is_some() {
            w.state = 4;
            w.reasons.clear();
            for j in w.jobs.iter_mut().filter(|j| j.state == 6) {
                j.state = 5;
                j.reasons = vec!["job-printing".into()];
                j.printer_reasons.clear();
            }
        }
    }

    /// Every sheet so far, in order.
    pub fn log(&self) -> Vec<Sheet> {
        lock(&self.world).log.clone()
    }

    /// How many jobs the printer holds (of any state).
    pub fn job_count(&self) -> usize {
        lock(&self.world).jobs.len()
    }

    /// How many Identify-Printer requests arrived.
    pub fn identified(&self) -> u32 {
        lock(&self.world).identified
    }

    /// The IPP operation codes received, in order.
    pub fn operations(&self) -> Vec<u16> {
        lock(&self.world).operations.clone()
    }
}

/// One tick of the print engine: the oldest unfinished job with a document prints one sheet,
/// unless the printer is stopped or a scripted fault strikes first.
fn engine_step(w: &mut World) {
    if w.fault.is_some() || w.mute {
        return;
    }
    let sheet = w
        .log
        .iter()
        .filter(|s| matches!(s, Sheet::Printed { .. }))
        .count() as u32
        + 1;
    let Some(i) = w
        .jobs
        .iter()
        .position(|j| matches!(j.state, 3 | 5) && j.pages.is_some())
    else {
        if w.jobs.iter().all(|j| j.state >= 7) {
            w.state = 3;
        }
        return;
    };
    w.state = 4;
    let page = w.jobs[i].done + 1;
    let id = w.jobs[i].id;
    if w.faults.front().is_some_and(|f| f.before_sheet == sheet) {
        let f = w.faults.pop_front().expect("checked");
        if f.reason.starts_with("media-jam") {
            w.log.push(Sheet::Jammed { job: id, page });
        }
        w.state = 5;
        w.reasons = vec![f.reason.to_owned()];
        let j = &mut w.jobs[i];
        j.state = 6;
        j.reasons = vec!["printer-stopped".into()];
        j.printer_reasons = vec![f.reason.to_owned()];
        w.fault = Some(f);
        return;
    }
    w.log.push(Sheet::Printed { job: id, page });
    let j = &mut w.jobs[i];
    j.done = page;
    j.state = 5;
    j.reasons = vec!["job-printing".into()];
    if Some(page) == j.pages {
        j.state = 9;
        j.reasons = vec!["job-completed-successfully".into()];
    }
}

/// Pages in a PWG raster stream, read with the tests' own PWG reader; `None` if it is not
/// well formed.
pub fn pwg_pages(data: &[u8]) -> Option<u32> {
    pwg::pages(data).map(|p| p.len() as u32)
}

fn attr(name: &str, v: IppValue) -> IppAttribute {
    IppAttribute::with_name(name, v).expect("a valid attribute name")
}

fn kw(k: &str) -> IppValue {
    IppValue::new_keyword(k).expect("a valid keyword")
}

fn keywords(ks: &[String]) -> IppValue {
    if ks.is_empty() {
        return kw("none");
    }
    IppValue::Array(ks.iter().map(|k| kw(k)).collect())
}

fn printer_group(w: &World) -> IppAttributeGroup {
    let mut g = IppAttributeGroup::new(DelimiterTag::PrinterAttributes);
    let ops = [0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0b, 0x3c];
    let a = g.attributes_mut();
    a.push(attr(
        "printer-name",
        IppValue::new_name_without_language("scripted").expect("name"),
    ));
    a.push(attr(
        "printer-make-and-model",
        IppValue::new_text_without_language("Scripted Printer 1").expect("text"),
    ));
    a.push(attr("printer-state", IppValue::Enum(w.state)));
    a.push(attr("printer-state-reasons", keywords(&w.reasons)));
    a.push(attr("printer-is-accepting-jobs", IppValue::Boolean(true)));
    a.push(attr(
        "document-format-supported",
        IppValue::new_mime_media_type("image/pwg-raster").expect("mime"),
    ));
    a.push(attr(
        "operations-supported",
        IppValue::Array(ops.iter().map(|o| IppValue::Enum(*o)).collect()),
    ));
    a.push(attr("media-supported", kw("iso_a4_210x297mm")));
    a.push(attr("media-default", kw("iso_a4_210x297mm")));
    a.push(attr("sides-supported", kw("one-sided")));
    a.push(attr(
        "copies-supported",
        IppValue::RangeOfInteger { min: 1, max: 1 },
    ));
    a.push(attr(
        "pwg-raster-document-resolution-supported",
        IppValue::new_resolution(150, 150, 3),
    ));
    a.push(attr("pwg-raster-document-type-supported", kw("sgray_8")));
    g
}

fn job_group(j: &Job) -> IppAttributeGroup {
    let mut g = IppAttributeGroup::new(DelimiterTag::JobAttributes);
    let a = g.attributes_mut();
    a.push(attr("job-id", IppValue::Integer(j.id)));
    a.push(attr(
        "job-name",
        IppValue::new_name_without_language(j.name.clone()).expect("name"),
    ));
    a.push(attr("job-state", IppValue::Enum(j.state)));
    a.push(attr("job-state-reasons", keywords(&j.reasons)));
    a.push(attr(
        "job-impressions-completed",
        IppValue::Integer(j.done as i32),
    ));
    a.push(attr(
        "job-printer-state-reasons",
        keywords(&j.printer_reasons),
    ));
    g
}

fn reply(status: StatusCode, id: i32, groups: Vec<IppAttributeGroup>) -> Vec<u8> {
    let mut r = IppRequestResponse::new_response(IppVersion::v1_1(), status, id).expect("reply");
    r.attributes_mut().groups_mut().extend(groups);
    r.to_bytes().to_vec()
}

fn op_int(a: &IppAttributes, name: &str) -> Option<i32> {
    a.groups_of(DelimiterTag::OperationAttributes)
        .find_map(|g| g.get(name))
        .and_then(|v| match v.value() {
            IppValue::Integer(i) => Some(*i),
            _ => None,
        })
}

fn op_str(a: &IppAttributes, name: &str) -> Option<String> {
    a.groups_of(DelimiterTag::OperationAttributes)
        .find_map(|g| g.get(name))
        .map(|v| v.value().to_string())
}

/// Answers one IPP request; with the job to wait for first when the printer is unspooled and
/// the request carried a document.
fn answer(world: &Mutex<World>, body: &[u8]) -> (Vec<u8>, Option<i32>) {
    let mut w = lock(world);
    let out = answer_in(&mut w, body);
    let op = body
        .get(2..4)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let after = if w.unspooled && matches!(op, 0x02 | 0x06) {
        w.doc_job.take()
    } else {
        None
    };
    (out, after)
}

fn answer_in(w: &mut World, body: &[u8]) -> Vec<u8> {
    let parsed = IppParser::new(IppReader::new(std::io::Cursor::new(body.to_vec()))).parse_parts();
    let Ok((head, attrs, rest)) = parsed else {
        return reply(StatusCode::ClientErrorBadRequest, 0, vec![]);
    };
    let mut doc = Vec::new();
    if rest.into_inner().read_to_end(&mut doc).is_err() {
        return reply(StatusCode::ClientErrorBadRequest, head.request_id, vec![]);
    }
    let rid = head.request_id;
    let op = head.operation_or_status as u16;
    w.operations.push(op);
    let job_at =
        |w: &World| op_int(&attrs, "job-id").and_then(|id| w.jobs.iter().position(|j| j.id == id));
    match op {
        0x0b => reply(StatusCode::SuccessfulOk, rid, vec![printer_group(w)]),
        0x04 => reply(StatusCode::SuccessfulOk, rid, vec![]),
        0x02 | 0x05 => {
            let pages = if op == 0x02 {
                match pwg_pages(&doc) {
                    Some(n) => Some(n),
                    None => return reply(StatusCode::ClientErrorDocumentFormatError, rid, vec![]),
                }
            } else {
                None
            };
            let id = w.next_id;
            w.next_id += 1;
            let job = Job {
                id,
                name: op_str(&attrs, "job-name").unwrap_or_default(),
                state: 3,
                reasons: vec![if pages.is_some() {
                    "none"
                } else {
                    "job-incoming"
                }
                .into()],
                printer_reasons: vec![],
                pages,
                done: 0,
            };
            let g = job_group(&job);
            if pages.is_some() {
                w.doc_job = Some(id);
            }
            w.jobs.push(job);
            reply(StatusCode::SuccessfulOk, rid, vec![g])
        }
        0x06 => {
            let Some(i) = job_at(w) else {
                return reply(StatusCode::ClientErrorNotFound, rid, vec![]);
            };
            let Some(n) = pwg_pages(&doc) else {
                w.jobs[i].state = 8;
                return reply(StatusCode::ClientErrorDocumentFormatError, rid, vec![]);
            };
            w.doc_job = Some(w.jobs[i].id);
            let j = &mut w.jobs[i];
            j.pages = Some(n);
            j.reasons = vec!["none".into()];
            reply(StatusCode::SuccessfulOk, rid, vec![job_group(j)])
        }
        0x09 => match job_at(w) {
            Some(i) => reply(StatusCode::SuccessfulOk, rid, vec![job_group(&w.jobs[i])]),
            None => reply(StatusCode::ClientErrorNotFound, rid, vec![]),
        },
        0x0a => {
            let which = op_str(&attrs, "which-jobs").unwrap_or_else(|| "not-completed".into());
            let groups = w
                .jobs
                .iter()
                .filter(|j| match which.as_str() {
                    "completed" => j.state >= 7,
                    "all" => true,
                    _ => j.state < 7,
                })
                .map(job_group)
                .collect();
            reply(StatusCode::SuccessfulOk, rid, groups)
        }
        0x08 => match job_at(w) {
            Some(i) if w.jobs[i].state < 7 => {
                w.jobs[i].state = 7;
                w.jobs[i].reasons = vec!["job-canceled-by-user".into()];
                reply(StatusCode::SuccessfulOk, rid, vec![])
            }
            Some(_) => reply(StatusCode::ClientErrorNotPossible, rid, vec![]),
            None => reply(StatusCode::ClientErrorNotFound, rid, vec![]),
        },
        0x3c => {
            w.identified += 1;
            reply(StatusCode::SuccessfulOk, rid, vec![])
        }
        _ => reply(StatusCode::ServerErrorOperationNotSupported, rid, vec![]),
    }
}
