//! IPP printer backend (feature `ipp`): IPP Everywhere and CUPS printers by URI
//! (`ipp://`, `http://`, and with the `ipps` feature `ipps://` / `https://`).
//!
//! - [`IppPrinter`] implements [`Printer`]: capabilities and status from
//!   Get-Printer-Attributes (printer-state-reasons become typed [`StateReason`]s), print as
//!   Validate-Job then Print-Job with the document streamed from memory, file or reader, job
//!   status from Get-Job-Attributes, Cancel-Job.
//! - Format negotiation: a document goes as it is when the printer accepts its format. A
//!   scanned page ([`Document::page`]) is converted: raw pixels to PWG raster (own encoder,
//!   [`raster`](crate::print::raster)), else JPEG, else a one-page PDF; a JPEG page goes as
//!   JPEG or wrapped in PDF. Nothing else is converted (no PDF rasterizer): a PDF to a
//!   printer without PDF support is [`ErrorKind::Unsupported`] naming the formats the
//!   printer accepts.
//! - Every reply is read with a size limit and parsed by the backend's own bounded parser
//!   (the `ipp` crate builds the requests but never sees a reply): [`ReplyLimits`] caps the
//!   body size, the nesting of collections and the number of attributes and values, and
//!   [`decode_printer_reply`] runs the same decoding on captured bytes.
//! - Every IPP reply's status code is checked; codes map to [`ErrorKind`]s with the raw code
//!   kept as [`RawCode::Ipp`]. A reply that is not IPP, is truncated, malformed or over a
//!   limit is [`ErrorKind::Protocol`] (naming what is wrong, or the limit); a refused
//!   connection is [`ErrorKind::DeviceGone`]; no reply within the timeout is
//!   [`ErrorKind::Timeout`].
//! - [`IppProvider`] plugs configured printer URIs into a [`Kit`](crate::Kit), and opens any
//!   IPP URI given as a [`DeviceId`].
//!
//! TLS: the `ipp` feature alone has no TLS backend (it keeps the build small and free of C
//! code), so `ipps://` and `https://` URIs fail with [`ErrorKind::Unsupported`] when opened.
//! The `ipps` feature adds rustls: certificates are checked against the system roots plus
//! any given with `IppPrinter::with_tls_ca`; printers with self-signed certificates (most
//! of them) need their certificate there, or `IppPrinter::with_insecure_tls`.
//!
//! ```no_run
//! # async fn demo() -> buergerkoffer::Result<()> {
//! use std::time::Duration;
//! use buergerkoffer::Printer;
//! use buergerkoffer::print::{Document, PrintOptions, Sides};
//! use buergerkoffer::backend::ipp::IppPrinter;
//! let printer = IppPrinter::connect("ipp://127.0.0.1:8631/ipp/print", Duration::from_secs(5)).await?;
//! let job = printer
//!     .print(Document::pdf_file("antrag.pdf"), &PrintOptions::new().sides(Sides::TwoSidedLongEdge))
//!     .await?;
//! let done = printer.wait_for_job(job, Duration::from_secs(120), Duration::from_millis(500)).await?;
//! println!("{job}: {:?}", done.state);
//! # Ok(()) }
//! ```

mod attrs;
mod http;
mod job;
mod job_attrs;
mod ops;
mod patience;
mod provider;
mod reply;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use ipp::attribute::IppAttribute;
use ipp::model::{IppVersion, Operation};
use ipp::operation::{GetPrinterAttributes, IppOperation};
use ipp::payload::IppPayload;
use ipp::prelude::Uri;
use ipp::request::IppRequestResponse;
use ipp::value::IppValue;

use self::attrs::PrinterAttrs;
use self::http::Tls;
use self::patience::Wait;
pub use self::patience::STALL_CHECK;
pub use self::provider::IppProvider;
use self::reply::Reply;
pub use self::reply::ReplyLimits;
use crate::device::{Backend, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, RawCode, Result};
use crate::print::convert::Plan;
use crate::print::{
    Document, JobId, JobStatus, PrintOptions, Printer, PrinterCapabilities, PrinterStatus,
};

#[cfg(doc)]
use crate::print::StateReason;

/// Default time for one request without a document (attributes, job status, cancel).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for sending a document (Print-Job, Send-Document) while the printer works.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(300);

struct Inner {
    info: DeviceInfo,
    uri: Uri,
    timeout: Duration,
    send_timeout: Duration,
    user: String,
    tls: Tls,
    limits: ReplyLimits,
    /// Built on first use from `tls`.
    client: OnceLock<reqwest::Client>,
}

/// An IPP printer. Cloning is cheap and shares the printer; no connection is held between
/// calls (each request is one HTTP POST).
#[derive(Clone)]
pub struct IppPrinter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for IppPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IppPrinter")
            .field("uri", &self.inner.info.id.to_string())
            .field("timeout", &self.inner.timeout)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

fn parse_uri(uri: &str) -> Result<Uri> {
    let invalid = |why: String| {
        Error::new(ErrorKind::InvalidInput, uri.to_owned(), "open printer").with_detail(why)
    };
    let parsed: Uri =
        Uri::try_from(uri).map_err(|e| invalid("not a valid URI".into()).with_source(e))?;
    match parsed.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("ipp" | "http") => {}
        Some("ipps" | "https") if cfg!(feature = "ipps") => {}
        Some("ipps" | "https") => {
            return Err(
                Error::new(ErrorKind::Unsupported, uri.to_owned(), "open printer").with_detail(
                    "ipps:// and https:// need TLS: build with the cargo feature `ipps`, or use ipp:// or http://",
                ),
            )
        }
        _ => {
            return Err(invalid(
                "expected an ipp://, ipps://, http:// or https:// printer URI".into(),
            ))
        }
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(invalid("the URI has no host".into()));
    }
    Ok(parsed)
}

/// Parses a reply body within `limits`.
fn parse_reply(device: &str, op: &'static str, body: &[u8], limits: &ReplyLimits) -> Result<Reply> {
    reply::parse(body, limits)
        .map_err(|d| Error::new(ErrorKind::Protocol, device.to_owned(), op).with_detail(d))
}

/// Checks the status code of a reply; a failure names the IPP status and the printer's
/// status-message, and keeps the raw code.
fn check_status(device: &str, op: &'static str, resp: &Reply) -> Result<u16> {
    let code = resp.status;
    if attrs::is_success(code) {
        return Ok(code);
    }
    let mut detail = attrs::ipp_status_name(code).to_owned();
    if let Some(m) = attrs::status_message(&resp.attributes) {
        detail.push_str(": ");
        detail.push_str(&m);
    }
    let unsupported = attrs::unsupported_attributes(&resp.attributes);
    if !unsupported.is_empty() {
        detail.push_str(&format!(" (unsupported: {})", unsupported.join("; ")));
    }
    Err(
        Error::new(attrs::ipp_status_kind(code), device.to_owned(), op)
            .with_detail(detail)
            .with_raw(RawCode::Ipp(code)),
    )
}

/// The HTTP body of a request without document data.
fn fixed(req: &IppRequestResponse) -> reqwest::Body {
    reqwest::Body::from(req.to_bytes())
}

/// The HTTP body of a request with document data: streamed (chunked).
fn streamed(req: IppRequestResponse) -> reqwest::Body {
    let reader: std::pin::Pin<Box<dyn futures_util::io::AsyncRead + Send>> =
        Box::pin(req.into_async_read());
    reqwest::Body::wrap_stream(http::ReadStream::new(reader))
}

/// What a Get-Printer-Attributes reply says, decoded as [`IppPrinter`] decodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrinterReply {
    /// What [`Printer::capabilities`] returns.
    pub capabilities: PrinterCapabilities,
    /// What [`Printer::status`] returns; `None` when the reply has no printer-state.
    pub status: Option<PrinterStatus>,
    /// `printer-make-and-model`.
    pub make_and_model: Option<String>,
}

/// Decodes the body of a Get-Printer-Attributes reply (for instance one captured from a
/// printer) with the parser and the checks [`IppPrinter`] applies to every reply.
///
/// # Errors
/// [`ErrorKind::Protocol`] for a malformed reply or one over `limits` (the error names the
/// limit); the mapped IPP status for a reply that is not successful.
///
/// ```
/// use buergerkoffer::backend::ipp::{decode_printer_reply, ReplyLimits};
/// let e = decode_printer_reply(&[1, 1, 0, 0], &ReplyLimits::default()).unwrap_err();
/// assert_eq!(e.kind(), buergerkoffer::ErrorKind::Protocol);
/// ```
pub fn decode_printer_reply(body: &[u8], limits: &ReplyLimits) -> Result<PrinterReply> {
    const DEVICE: &str = "IPP reply";
    const OP: &str = "decode Get-Printer-Attributes reply";
    let reply = parse_reply(DEVICE, OP, body, limits)?;
    check_status(DEVICE, OP, &reply)?;
    let pa = attrs::printer_attrs(&reply.attributes);
    Ok(PrinterReply {
        capabilities: pa.caps,
        status: pa.status,
        make_and_model: pa.make_and_model,
    })
}

fn user_name() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty() && u.len() < 256)
        .unwrap_or_else(|| "buergerkoffer".to_owned())
}

impl IppPrinter {
    /// A printer handle for `uri`, without contacting it (its [`DeviceInfo::name`] is the
    /// URI). Use [`connect`](Self::connect) to check that it answers.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a URI that is not `ipp://` / `http://` with a host,
    /// [`ErrorKind::Unsupported`] for `ipps://` / `https://` without the `ipps` feature.
    pub fn open(uri: &str) -> Result<Self> {
        let parsed = parse_uri(uri)?;
        let id = DeviceId::new(Backend::Ipp, uri);
        Ok(IppPrinter {
            inner: Arc::new(Inner {
                info: DeviceInfo::new(id, DeviceKind::Printer, uri),
                uri: parsed,
                timeout: DEFAULT_TIMEOUT,
                send_timeout: DEFAULT_SEND_TIMEOUT,
                user: user_name(),
                tls: Tls::default(),
                limits: ReplyLimits::default(),
                client: OnceLock::new(),
            }),
        })
    }

    /// Opens `uri` and asks the printer for its attributes within `timeout`, which also
    /// becomes the timeout of later requests without a document. The device info then
    /// carries the printer's make and model.
    ///
    /// # Errors
    /// As [`open`](Self::open); [`ErrorKind::DeviceGone`] when the connection is refused,
    /// [`ErrorKind::Timeout`] when no reply comes in time, [`ErrorKind::Protocol`] for a
    /// reply that is not IPP, the mapped IPP status otherwise. Cancel-safe.
    pub async fn connect(uri: &str, timeout: Duration) -> Result<Self> {
        IppPrinter::open(uri)?
            .with_timeout(timeout)
            .connected()
            .await
    }

    /// Asks the printer for its attributes (within the handle's timeout) and returns the
    /// handle with the printer's make and model in its [`DeviceInfo`]. Use it after setting
    /// options on an [`open`](Self::open)ed handle, e.g. a TLS certificate to trust.
    ///
    /// # Errors
    /// As [`connect`](Self::connect). Cancel-safe.
    pub async fn connected(self) -> Result<Self> {
        let p = self;
        let pa = p.printer_attributes("open printer").await?;
        let mut info = p.inner.info.clone();
        if let Some(m) = pa.make_and_model.clone().or(pa.name.clone()) {
            info.name = m;
        }
        if let Some(mm) = &pa.make_and_model {
            if let Some((vendor, _)) = mm.split_once(' ') {
                info.vendor = Some(vendor.to_owned());
            }
        }
        info.serial = pa.uuid.clone();
        Ok(p.rebuild(|i| i.info = info))
    }

    fn rebuild(&self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            info: self.inner.info.clone(),
            uri: self.inner.uri.clone(),
            timeout: self.inner.timeout,
            send_timeout: self.inner.send_timeout,
            user: self.inner.user.clone(),
            tls: self.inner.tls.clone(),
            limits: self.inner.limits,
            client: OnceLock::new(),
        };
        f(&mut inner);
        IppPrinter {
            inner: Arc::new(inner),
        }
    }

    /// Sets the timeout of requests without a document (default 10 s).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.rebuild(|i| i.timeout = timeout)
    }

    /// Sets the timeout for sending a document (default 300 s). When it runs out the printer
    /// is asked: one that says it is processing, or stopped (out of paper, jammed, door
    /// open), is waited for, asked again every [`STALL_CHECK`] — a half-printed job is not
    /// given up; one that does not answer or is idle is. Drop the `print` future to give up
    /// at any time.
    #[must_use]
    pub fn with_send_timeout(self, timeout: Duration) -> Self {
        self.rebuild(|i| i.send_timeout = timeout)
    }

    /// Sets the limits on the printer's replies (default [`ReplyLimits::default`]: 4 MiB,
    /// collections 16 deep, 4096 attributes, 65 536 values). A reply over a limit is an
    /// [`ErrorKind::Protocol`] error naming the limit.
    #[must_use]
    pub fn with_reply_limits(self, limits: ReplyLimits) -> Self {
        self.rebuild(|i| i.limits = limits)
    }

    /// The limits on the printer's replies.
    pub fn reply_limits(&self) -> ReplyLimits {
        self.inner.limits
    }

    /// Sets the `requesting-user-name` (default `$USER`, else `buergerkoffer`).
    #[must_use]
    pub fn with_user(self, user: impl Into<String>) -> Self {
        let user = user.into();
        self.rebuild(|i| i.user = user)
    }

    /// Trusts this certificate (PEM or DER) for `ipps://` / `https://`, besides the system
    /// roots: typically the printer's own self-signed certificate. Feature `ipps`.
    #[cfg(feature = "ipps")]
    #[must_use]
    pub fn with_tls_ca(self, cert: impl Into<Vec<u8>>) -> Self {
        let cert = cert.into();
        self.rebuild(|i| i.tls.ca.push(cert))
    }

    /// Accepts any certificate and host name for `ipps://` / `https://`. This gives up the
    /// protection TLS gives against a rogue printer; prefer
    /// [`with_tls_ca`](Self::with_tls_ca). Feature `ipps`.
    #[cfg(feature = "ipps")]
    #[must_use]
    pub fn with_insecure_tls(self, insecure: bool) -> Self {
        self.rebuild(|i| i.tls.insecure = insecure)
    }

    fn client(&self, op: &'static str) -> Result<&reqwest::Client> {
        if let Some(c) = self.inner.client.get() {
            return Ok(c);
        }
        let c = http::client(&self.inner.tls).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, self.device(), op)
                .with_detail("cannot set up HTTP: is the TLS certificate PEM or DER?")
                .with_source(e)
        })?;
        Ok(self.inner.client.get_or_init(|| c))
    }

    /// The printer URI.
    pub fn uri(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn device(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn request(&self, op: Operation) -> Result<IppRequestResponse> {
        IppRequestResponse::new(IppVersion::v1_1(), op, Some(self.inner.uri.clone())).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, self.device(), "build IPP request")
                .with_detail("printer URI too long")
                .with_source(e)
        })
    }

    /// Sends one request (the body of [`fixed`] or [`streamed`]) within `wait`, reads the
    /// reply within the reply limits, parses it and checks the HTTP and IPP status.
    async fn send(
        &self,
        op: &'static str,
        body: reqwest::Body,
        wait: impl Into<Wait>,
    ) -> Result<Reply> {
        match wait.into() {
            Wait::Fixed(t) => self.send_fixed(op, body, t).await,
            Wait::WhileBusy(t) => {
                let got = self.within(op, t, self.post(op, body)?).await;
                self.reply_of(op, got, t, ", and the printer says it is not busy")
            }
        }
    }

    /// [`send`](Self::send) with a fixed timeout.
    async fn send_fixed(
        &self,
        op: &'static str,
        body: reqwest::Body,
        timeout: Duration,
    ) -> Result<Reply> {
        let got = tokio::time::timeout(timeout, self.post(op, body)?)
            .await
            .ok();
        self.reply_of(op, got, timeout, "")
    }

    /// The HTTP POST of one request.
    fn post(
        &self,
        op: &'static str,
        body: reqwest::Body,
    ) -> Result<impl Future<Output = std::result::Result<Vec<u8>, http::Failure>> + Send + '_> {
        let client = self.client(op)?;
        let url = http::http_url(&self.inner.uri);
        let max = self.inner.limits.max_bytes;
        Ok(async move { http::post(client, &url, body, max).await })
    }

    /// The reply of a POST (`None`: no reply within `limit`, with `why` in the message).
    fn reply_of(
        &self,
        op: &'static str,
        got: Option<std::result::Result<Vec<u8>, http::Failure>>,
        limit: Duration,
        why: &str,
    ) -> Result<Reply> {
        let device = self.device();
        let limits = &self.inner.limits;
        let bytes = match got {
            None => {
                return Err(Error::new(ErrorKind::Timeout, device, op)
                    .with_detail(format!("no reply within {limit:?}{why}")))
            }
            Some(Err(f)) => return Err(http::failure(&device, op, f, limits.too_large())),
            Some(Ok(b)) => b,
        };
        let resp = parse_reply(&device, op, &bytes, limits)?;
        drop(bytes);
        let code = check_status(&device, op, &resp)?;
        if code != 0 {
            tracing::debug!(
                printer = %device,
                op,
                status = attrs::ipp_status_name(code),
                unsupported = ?attrs::unsupported_attributes(&resp.attributes),
                "request succeeded with a warning"
            );
        }
        Ok(resp)
    }

    /// Get-Printer-Attributes with the attributes this backend uses.
    async fn printer_attributes(&self, op: &'static str) -> Result<PrinterAttrs> {
        let req = GetPrinterAttributes::with_attributes(
            self.inner.uri.clone(),
            attrs::PRINTER_ATTRIBUTES,
        )
        .map_err(|e| {
            Error::new(ErrorKind::InvalidInput, self.device(), op)
                .with_detail("printer URI too long")
                .with_source(e)
        })?
        .into_ipp_request();
        // Never patient: it is how a patient send asks the printer.
        let resp = self.send_fixed(op, fixed(&req), self.inner.timeout).await?;
        Ok(attrs::printer_attrs(&resp.attributes))
    }

    fn job_request(&self, op: Operation, id: JobId) -> Result<IppRequestResponse> {
        let mut req = self.request(op)?;
        let mut ops: Vec<IppAttribute> = IppAttribute::with_name(
            "job-id",
            IppValue::Integer(i32::try_from(id.0).unwrap_or(i32::MAX)),
        )
        .ok()
        .into_iter()
        .collect();
        ops.extend(job::user_attribute(&self.inner.user));
        job::add_attributes(&mut req, ops, vec![]);
        Ok(req)
    }
}

#[async_trait]
impl Printer for IppPrinter {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        Ok(self.printer_attributes("read capabilities").await?.caps)
    }

    async fn status(&self) -> Result<PrinterStatus> {
        let pa = self.printer_attributes("read status").await?;
        pa.status.ok_or_else(|| {
            Error::new(ErrorKind::Protocol, self.device(), "read status")
                .with_detail("the reply has no printer-state")
        })
    }

    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        let device = self.device();
        let pa = self
            .printer_attributes("print: Get-Printer-Attributes")
            .await?;
        if pa.accepting == Some(false) {
            return Err(Error::new(ErrorKind::Busy, device, "print")
                .with_detail("the printer is not accepting jobs"));
        }
        job::check_options(&device, options, &pa)?;
        let plan = job::plan(&device, &document, options, &pa)?;
        let format = plan.format();
        let job_name = options
            .job_name
            .clone()
            .or_else(|| document.name.clone())
            .unwrap_or_else(|| "buergerkoffer".to_owned());
        let doc_name = document.name.clone();
        let op_attrs =
            || job::operation_attributes(&self.inner.user, &job_name, doc_name.as_deref(), &format);
        let job_attrs = job::job_attributes(options, &pa, matches!(plan, Plan::AsIs(_)));

        // Validate-Job first, unless the printer says it does not have it.
        if pa.operations.is_empty() || pa.operations.contains(&(Operation::ValidateJob as i32)) {
            let mut req = self.request(Operation::ValidateJob)?;
            job::add_attributes(&mut req, op_attrs(), job_attrs.clone());
            self.send("print: Validate-Job", fixed(&req), self.inner.timeout)
                .await
                .map_err(|e| self.explain_format(e, &pa))?;
        }

        let body = job::body(&device, document, &plan, options.media.as_deref()).await?;
        let two_step = [Operation::CreateJob, Operation::SendDocument]
            .iter()
            .all(|op| pa.operations.contains(&(*op as i32)));
        let id = if two_step {
            self.create_and_send(op_attrs(), job_attrs, body)
                .await
                .map_err(|e| self.explain_format(e, &pa))?
        } else {
            let mut req = self.request(Operation::PrintJob)?;
            job::add_attributes(&mut req, op_attrs(), job_attrs);
            *req.payload_mut() = IppPayload::new_async(job::Compat(body));
            let resp = self
                .send(
                    "print: Print-Job",
                    streamed(req),
                    Wait::WhileBusy(self.inner.send_timeout),
                )
                .await
                .map_err(|e| self.explain_format(e, &pa))?;
            job_attrs::reply_job_id(&device, "print: Print-Job", &resp.attributes)?
        };
        tracing::debug!(printer = %device, %id, format = %format, "job created");
        Ok(id)
    }

    async fn job(&self, id: JobId) -> Result<JobStatus> {
        let mut req = self.job_request(Operation::GetJobAttributes, id)?;
        if let Some(a) = ops::requested(job_attrs::JOB_ATTRIBUTES) {
            job::add_attributes(&mut req, vec![a], vec![]);
        }
        let op = "Get-Job-Attributes";
        let resp = self
            .send(op, fixed(&req), self.inner.timeout)
            .await
            .map_err(|e| e.with_operation(format!("read status of {id}")))?;
        job_attrs::job_status(&resp.attributes, id).ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                self.device(),
                format!("read status of {id}"),
            )
            .with_detail("the reply has no valid job-state")
        })
    }

    async fn cancel(&self, id: JobId) -> Result<()> {
        match self.cancel_request(id).await {
            Ok(_) => Ok(()),
            Err(e) if e.raw() == Some(RawCode::Ipp(0x0404)) => {
                let state = self.job(id).await.ok().map(|s| format!(" ({:?})", s.state));
                Err(e
                    .with_operation(format!("cancel {id}"))
                    .with_detail(format!(
                        "the job has already ended{}",
                        state.unwrap_or_default()
                    )))
            }
            Err(e) => Err(e.with_operation(format!("cancel {id}"))),
        }
    }

    async fn jobs(&self) -> Result<Vec<JobStatus>> {
        self.get_jobs().await
    }

    async fn identify(&self) -> Result<()> {
        self.identify_printer().await
    }
}

impl IppPrinter {
    /// Adds the accepted formats to a document-format-not-supported error.
    fn explain_format(&self, e: Error, pa: &PrinterAttrs) -> Error {
        if e.raw() == Some(RawCode::Ipp(0x040A)) {
            let v: Vec<&str> = pa.caps.formats.iter().map(|f| f.mime()).collect();
            let d = format!(
                "{}; the printer accepts {}",
                e.context()
                    .detail()
                    .unwrap_or("document format not supported"),
                v.join(", ")
            );
            e.with_detail(d)
        } else {
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_sync() {
        static_assertions::assert_impl_all!(IppPrinter: Send, Sync, Clone);
        static_assertions::assert_impl_all!(IppProvider: Send, Sync);
    }

    #[test]
    fn uris_are_checked() {
        assert!(IppPrinter::open("ipp://127.0.0.1:8631/ipp/print").is_ok());
        assert!(IppPrinter::open("http://printer:631/printers/x").is_ok());
        let ipps = IppPrinter::open("ipps://printer/ipp/print");
        if cfg!(feature = "ipps") {
            assert!(ipps.is_ok());
        } else {
            assert_eq!(ipps.unwrap_err().kind(), ErrorKind::Unsupported);
        }
        assert_eq!(
            IppPrinter::open("mock:printer").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            IppPrinter::open("ipp:///nohost").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
