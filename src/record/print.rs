//! [`RecordingPrinter`]: wraps any [`Printer`] and writes its capabilities, status and state
//! reasons, every print call (document format, name, kind, byte length and fingerprint, and
//! the options), every job status it reports — so the job's state sequence — and cancels.
//!
//! The document itself is not stored: its length and FNV-1a fingerprint identify it. To
//! compute them, a file or reader body is read into memory before it is passed on; a scanned
//! page is fingerprinted by its pixels and passed on as it is (the printer converts it).

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{json, Value};

use super::format::{fingerprint, Fnv};
use super::print_values::{JobRec, JobStatusRec, OptionsRec, PrintCapsRec, PrinterStatusRec};
use super::recorder::{Rec, Recorder};
use super::values::{pixel_format_name, to_value};
use crate::device::DeviceInfo;
use crate::error::Result;
use crate::print::{
    Document, DocumentBody, JobId, JobStatus, PrintOptions, Printer, PrinterCapabilities,
    PrinterStatus,
};
use crate::scan::PageData;

/// A [`Printer`] that records everything done with it (see [`Recorder::printer`]).
pub struct RecordingPrinter {
    inner: Box<dyn Printer>,
    rec: Recorder,
    dev: String,
}

impl fmt::Debug for RecordingPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingPrinter")
            .field("id", &self.dev)
            .finish()
    }
}

impl RecordingPrinter {
    pub(crate) fn new(inner: Box<dyn Printer>, rec: Recorder) -> Self {
        rec.device(inner.info());
        let dev = inner.info().id.to_string();
        RecordingPrinter { inner, rec, dev }
    }
}

/// What the session says about a document: format, name, body kind, length, fingerprint,
/// and for a scanned page its size and pixel format.
pub(crate) fn document_value(
    format: &str,
    name: Option<&str>,
    body: &str,
    data: &[u8],
    page: Option<Value>,
) -> Value {
    let mut v = json!({
        "format": format,
        "name": name,
        "body": body,
        "bytes": data.len(),
        "hash": fingerprint(data),
    });
    if let (Some(p), Some(o)) = (page, v.as_object_mut()) {
        o.insert("page".into(), p);
    }
    v
}

/// Reads the document's body as far as needed to describe it, and gives back a document
/// that prints the same.
///
/// # Errors
/// As [`Document::read_all`] for an unreadable file or reader.
pub(crate) async fn describe(doc: Document, device: &str) -> Result<(Value, Document)> {
    let format = doc.format.mime().to_owned();
    let name = doc.name.clone();
    match doc.body {
        DocumentBody::Page(page) => {
            let (pixels, fmt) = match &page.data {
                PageData::Raw { format, pixels } => (pixels, pixel_format_name(*format)),
                PageData::Jpeg { data, .. } => (data, "jpeg"),
            };
            let mut h = Fnv::new();
            h.update(pixels);
            let mut v = document_value(
                &format,
                name.as_deref(),
                "page",
                &[],
                Some(json!({
                    "width": page.width,
                    "height": page.height,
                    "dpi": [page.dpi.0, page.dpi.1],
                    "format": fmt,
                })),
            );
            if let Some(o) = v.as_object_mut() {
                o.insert("bytes".into(), pixels.len().into());
                o.insert("hash".into(), h.finish().into());
            }
            let doc = Document {
                format: doc.format,
                body: DocumentBody::Page(page),
                name,
            };
            Ok((v, doc))
        }
        body => {
            let kind = match &body {
                DocumentBody::Bytes(_) => "bytes",
                DocumentBody::File(_) => "file",
                _ => "reader",
            };
            let fmt = doc.format;
            let bytes: Bytes = Document {
                format: fmt.clone(),
                body,
                name: None,
            }
            .read_all(device)
            .await?;
            let v = document_value(&format, name.as_deref(), kind, &bytes, None);
            let doc = Document {
                format: fmt,
                body: DocumentBody::Bytes(bytes),
                name,
            };
            Ok((v, doc))
        }
    }
}

#[async_trait]
impl Printer for RecordingPrinter {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }

    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        let t0 = self.rec.now();
        let r = self.inner.capabilities().await;
        self.rec.write(
            Rec::new(&self.dev, "capabilities", t0).result(&r, |c| to_value(&PrintCapsRec::of(c))),
        );
        r
    }

    async fn status(&self) -> Result<PrinterStatus> {
        let t0 = self.rec.now();
        let r = self.inner.status().await;
        self.rec.write(
            Rec::new(&self.dev, "status", t0).result(&r, |s| to_value(&PrinterStatusRec::of(s))),
        );
        r
    }

    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        let t0 = self.rec.now();
        let (doc, document) = match describe(document, &self.dev).await {
            Ok(d) => d,
            Err(e) => {
                // An unreadable document fails here as it would in the backend.
                self.rec.write(
                    Rec::new(&self.dev, "print", t0)
                        .req(json!({ "document": null, "options": to_value(&OptionsRec::of(options)) }))
                        .err(&e),
                );
                return Err(e);
            }
        };
        let req = json!({ "document": doc, "options": to_value(&OptionsRec::of(options)) });
        let r = self.inner.print(document, options).await;
        self.rec.write(
            Rec::new(&self.dev, "print", t0)
                .req(req)
                .result(&r, |j| to_value(&JobRec { job: j.0 })),
        );
        r
    }

    async fn job(&self, id: JobId) -> Result<JobStatus> {
        let t0 = self.rec.now();
        let r = self.inner.job(id).await;
        self.rec.write(
            Rec::new(&self.dev, "job", t0)
                .req(json!({ "job": id.0 }))
                .result(&r, |s| to_value(&JobStatusRec::of(s))),
        );
        r
    }

    async fn cancel(&self, id: JobId) -> Result<()> {
        let t0 = self.rec.now();
        let r = self.inner.cancel(id).await;
        self.rec.write(
            Rec::new(&self.dev, "cancel", t0)
                .req(json!({ "job": id.0 }))
                .result(&r, |()| json!({})),
        );
        r
    }

    async fn jobs(&self) -> Result<Vec<JobStatus>> {
        let t0 = self.rec.now();
        let r = self.inner.jobs().await;
        self.rec
            .write(Rec::new(&self.dev, "jobs", t0).result(&r, |v| {
                Value::Array(v.iter().map(|s| to_value(&JobStatusRec::of(s))).collect())
            }));
        r
    }

    async fn identify(&self) -> Result<()> {
        let t0 = self.rec.now();
        let r = self.inner.identify().await;
        self.rec
            .write(Rec::new(&self.dev, "identify", t0).result(&r, |()| json!({})));
        r
    }
}
