//! Conformance checks for [`Printer`]s: the promises of [`Printer::print`], [`JobState`] and
//! [`PrinterStatus`](crate::print::PrinterStatus).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ensure, fail, promise, run, Check, Miss, Report};
use crate::error::{ErrorKind, Result};
use crate::print::convert::{self, Plan, Target};
use crate::print::render::Output;
use crate::print::{
    Document, DocumentBody, DocumentFormat, JobId, JobState, PrintOptions, Printer,
    PrinterCapabilities, ReasonKind,
};
use crate::scan::{Page, PixelFormat};

/// The printer under test, and a way to make it run out of paper.
#[async_trait]
pub trait PrinterRig: Send + Sync {
    /// The printer under test.
    fn printer(&self) -> &dyn Printer;

    /// Takes the paper out (`true`) or puts it back (`false`). Returns `false` when this
    /// printer cannot be made to run out of paper.
    ///
    /// # Errors
    /// Any error of the rig; the check then fails with it.
    async fn set_media_empty(&self, empty: bool) -> Result<bool>;

    /// The document the printer received for `job` (its format and bytes), when the rig can
    /// see it (a mock records it, a test printer keeps its spool files). Default: `None`,
    /// and the received bytes are not checked.
    async fn received(&self, job: JobId) -> Option<(DocumentFormat, Bytes)> {
        let _ = job;
        None
    }

    /// How long one job may take to complete. Default: 60 s.
    fn job_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }
}

/// The printer checks: name and the promise each one checks.
pub const PRINTER_CHECKS: &[(&str, &str)] = &[
    ("capabilities_are_consistent", "capabilities list formats, sides and at least one copy"),
    ("every_document_kind_prints", "every Document kind (pages, PDFs, JPEG/PNG/TIFF) prints, received exactly as print::convert makes it, or is Unsupported exactly when nothing fits"),
    ("job_states_as_documented", "a job runs Pending/Processing to Completed; unknown jobs are NotFound"),
    ("cancel_ends_canceled", "a cancelled job ends Canceled; cancelling an ended job is InvalidInput"),
    ("media_empty_holds_the_job", "with media empty the status says so, a job waits Pending with the reason, and completes once paper is back"),
];

/// Runs every printer check against the rig's printer.
pub async fn check_printer(rig: &dyn PrinterRig) -> Report {
    let p = rig.printer();
    let mut report = Report::new(p.info().id.to_string());
    let caps = p.capabilities().await;
    let pr = |n| promise(PRINTER_CHECKS, n);
    let caps = match caps {
        Ok(c) => c,
        Err(e) => {
            for (name, text) in PRINTER_CHECKS {
                report.push(super::CheckResult {
                    check: name,
                    promise: text,
                    outcome: super::Outcome::Failed(format!("capabilities: {e}")),
                });
            }
            return report;
        }
    };
    run(
        &mut report,
        "capabilities_are_consistent",
        pr("capabilities_are_consistent"),
        capabilities(&caps),
    )
    .await;
    run(
        &mut report,
        "every_document_kind_prints",
        pr("every_document_kind_prints"),
        every_kind(rig, &caps),
    )
    .await;
    run(
        &mut report,
        "job_states_as_documented",
        pr("job_states_as_documented"),
        job_states(rig, &caps),
    )
    .await;
    run(
        &mut report,
        "cancel_ends_canceled",
        pr("cancel_ends_canceled"),
        cancel(rig, &caps),
    )
    .await;
    run(
        &mut report,
        "media_empty_holds_the_job",
        pr("media_empty_holds_the_job"),
        media_empty(rig, &caps),
    )
    .await;
    report
}

const POLL: Duration = Duration::from_millis(200);

fn page(format: PixelFormat) -> Page {
    // A 1 x 1.5 inch test page at 100 dpi with a gradient, so encoders have something to do.
    let (w, h) = (100u32, 150u32);
    let row = format.row_bytes(w);
    let pixels: Vec<u8> = (0..row * h as usize).map(|i| (i % 251) as u8).collect();
    match Page::raw(0, w, h, (100, 100), format, pixels) {
        Ok(p) => p,
        Err(_) => unreachable!("the test page has exactly its size"),
    }
}

/// A PNG or TIFF of the page.
fn image_file(page: &Page, format: image::ImageFormat) -> std::result::Result<Vec<u8>, Miss> {
    let pic = crate::print::render::source::page_picture(page).map_err(fail("page pixels"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    pic.rgb
        .write_to(&mut out, format)
        .map_err(|e| Miss::Failed(format!("encode {format:?}: {e}")))?;
    Ok(out.into_inner())
}

/// A PDF of `n` pages made of the page.
fn pdf_of(page: &Page, n: usize) -> std::result::Result<Vec<u8>, Miss> {
    use crate::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
    let img = encode_page(page, &EncodeOptions::default()).map_err(fail("encode a page"))?;
    let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new()).map_err(fail("PDF"))?;
    for _ in 0..n {
        w.add_page(&img).map_err(fail("PDF page"))?;
    }
    w.finish().map_err(fail("PDF"))
}

/// Every kind of document the trait allows: raw pages in each format, a JPEG page, one- and
/// three-page PDFs, JPEG, PNG and TIFF files in memory.
fn documents() -> std::result::Result<Vec<(&'static str, Document)>, Miss> {
    let gray = page(PixelFormat::Gray8);
    let jpeg = convert::convert_page(&gray, &Plan::Jpeg, None).map_err(fail("make a JPEG"))?;
    let pdf = pdf_of(&gray, 1)?;
    let pdf3 = pdf_of(&gray, 3)?;
    let png = image_file(&gray, image::ImageFormat::Png)?;
    let tiff = image_file(&gray, image::ImageFormat::Tiff)?;
    let jpeg_page = Page::jpeg(0, gray.width, gray.height, gray.dpi, 1, jpeg.clone())
        .map_err(fail("JPEG page"))?;
    Ok(vec![
        ("gray page", Document::page(gray)),
        ("colour page", Document::page(page(PixelFormat::Rgb8))),
        ("lineart page", Document::page(page(PixelFormat::Bw1))),
        (
            "16-bit gray page",
            Document::page(page(PixelFormat::Gray16)),
        ),
        ("JPEG page", Document::page(jpeg_page)),
        ("PDF", Document::pdf(pdf)),
        ("3-page PDF", Document::pdf(pdf3)),
        ("JPEG", Document::jpeg(jpeg)),
        (
            "PNG",
            Document::new(DocumentFormat::Png, DocumentBody::Bytes(png.into())),
        ),
        (
            "TIFF",
            Document::new(DocumentFormat::Tiff, DocumentBody::Bytes(tiff.into())),
        ),
    ])
}

async fn capabilities(caps: &PrinterCapabilities) -> Check {
    ensure!(!caps.formats.is_empty(), "no document formats");
    ensure!(!caps.sides.is_empty(), "no sides");
    ensure!(caps.max_copies >= 1, "max_copies {}", caps.max_copies);
    Ok(())
}

async fn completes(rig: &dyn PrinterRig, job: JobId, what: &str) -> Check {
    let st = rig
        .printer()
        .wait_for_job(job, rig.job_timeout(), POLL)
        .await
        .map_err(fail(what))?;
    ensure!(
        st.state == JobState::Completed,
        "{what}: ended {:?} {:?}",
        st.state,
        st.reasons
    );
    Ok(())
}

/// A copy of a document held in memory.
fn duplicate(doc: &Document) -> Option<Document> {
    let body = match &doc.body {
        DocumentBody::Bytes(b) => DocumentBody::Bytes(b.clone()),
        DocumentBody::Page(p) => DocumentBody::Page(p.clone()),
        _ => return None,
    };
    Some(Document::new(doc.format.clone(), body))
}

/// Whether the document fits the printer: [`convert::plan`] finds a way, and a document of
/// more than one page is not planned as a single JPEG.
fn fits(id: &str, doc: &Document, pages: usize, caps: &PrinterCapabilities) -> Option<Plan> {
    let plan = convert::plan(id, doc, &PrintOptions::new(), &Target::new(caps)).ok()?;
    let one_jpeg = matches!(&plan, Plan::Render(s) if s.output == Output::Jpeg);
    (!one_jpeg || pages == 1).then_some(plan)
}

async fn every_kind(rig: &dyn PrinterRig, caps: &PrinterCapabilities) -> Check {
    let p = rig.printer();
    let id = p.info().id.to_string();
    for (what, doc) in documents()? {
        let copy = duplicate(&doc);
        let pages = if what.starts_with('3') { 3 } else { 1 };
        let plan = fits(&id, &doc, pages, caps);
        match p.print(doc, &PrintOptions::new()).await {
            Ok(job) => {
                let Some(plan) = plan else {
                    return Err(Miss::Failed(format!(
                        "{what} printed although no accepted format fits it"
                    )));
                };
                completes(rig, job, what).await?;
                if let (Some((format, data)), Some(copy)) = (rig.received(job).await, copy) {
                    ensure!(
                        format == plan.format(),
                        "{what} arrived as {format}, print::convert plans {}",
                        plan.format()
                    );
                    // A page wrapped in PDF carries its creation time and file ID: only its
                    // format is compared.
                    if plan == Plan::Pdf {
                        continue;
                    }
                    let want = convert::body_bytes(&id, copy, &plan, None)
                        .await
                        .map_err(fail("convert the document here"))?;
                    ensure!(
                        data == want,
                        "{what}: the printer received {} bytes that differ from the {} bytes print::convert makes",
                        data.len(),
                        want.len()
                    );
                }
            }
            Err(e) if plan.is_none() => ensure!(
                e.kind() == ErrorKind::Unsupported,
                "{what}: expected Unsupported, got {e}"
            ),
            Err(e) => ensure!(false, "{what}: {e}"),
        }
    }
    Ok(())
}

/// A document this printer takes, or not applicable.
fn printable(id: &str, caps: &PrinterCapabilities) -> std::result::Result<Document, Miss> {
    documents()?
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| fits(id, d, 1, caps).is_some())
        .ok_or_else(|| Miss::NotApplicable("the printer takes no document kind".into()))
}

async fn job_states(rig: &dyn PrinterRig, caps: &PrinterCapabilities) -> Check {
    let p = rig.printer();
    let id = p.info().id.to_string();
    let job = p
        .print(printable(&id, caps)?, &PrintOptions::new())
        .await
        .map_err(fail("print"))?;
    let deadline = tokio::time::Instant::now() + rig.job_timeout();
    loop {
        let st = p.job(job).await.map_err(fail("job status"))?;
        ensure!(st.id == job, "status of {job} names {}", st.id);
        match st.state {
            JobState::Pending | JobState::Processing => {}
            JobState::Completed => break,
            other => ensure!(
                false,
                "job went {other:?} {:?} with paper loaded",
                st.reasons
            ),
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "job still {:?}",
            st.state
        );
        tokio::time::sleep(POLL).await;
    }
    let unknown = p.job(JobId(999_999)).await;
    ensure!(
        matches!(&unknown, Err(e) if e.kind() == ErrorKind::NotFound),
        "unknown job: {unknown:?}"
    );
    let again = p.cancel(job).await;
    ensure!(
        matches!(&again, Err(e) if e.kind() == ErrorKind::InvalidInput),
        "cancel of a completed job: {again:?}"
    );
    Ok(())
}

/// How often [`cancel`] tries again when the printer accepted the cancel but finished the job
/// anyway.
const CANCEL_ATTEMPTS: usize = 3;

/// A printer may accept Cancel-Job in the very moment it finishes the job (ippeveprinter does,
/// about once in a few hundred short jobs): that attempt proves nothing either way, so the
/// check tries again, up to [`CANCEL_ATTEMPTS`] jobs. A backend that ignores cancel ends
/// every job Completed and fails.
async fn cancel(rig: &dyn PrinterRig, caps: &PrinterCapabilities) -> Check {
    let p = rig.printer();
    let id = p.info().id.to_string();
    for _ in 0..CANCEL_ATTEMPTS {
        let job = p
            .print(printable(&id, caps)?, &PrintOptions::new())
            .await
            .map_err(fail("print"))?;
        match p.cancel(job).await {
            Ok(()) => {
                let st = p
                    .wait_for_job(job, rig.job_timeout(), POLL)
                    .await
                    .map_err(fail("wait for the cancelled job"))?;
                match st.state {
                    JobState::Canceled => return Ok(()),
                    JobState::Completed => continue,
                    other => ensure!(false, "cancelled job ended {other:?}"),
                }
            }
            // The printer was quicker: the job had already ended.
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                let st = p.job(job).await.map_err(fail("job status"))?;
                ensure!(
                    st.state.is_terminal(),
                    "cancel refused for a {:?} job: {e}",
                    st.state
                );
                return Ok(());
            }
            Err(e) => ensure!(false, "cancel: {e}"),
        }
    }
    ensure!(
        false,
        "cancelled job ended Completed {CANCEL_ATTEMPTS} times out of {CANCEL_ATTEMPTS}"
    );
    Ok(())
}

async fn media_empty(rig: &dyn PrinterRig, caps: &PrinterCapabilities) -> Check {
    let p = rig.printer();
    let id = p.info().id.to_string();
    let doc = printable(&id, caps)?;
    if !rig
        .set_media_empty(true)
        .await
        .map_err(fail("take the paper out"))?
    {
        return Err(Miss::NotApplicable(
            "the rig cannot make this printer run out of paper".into(),
        ));
    }
    let result = media_empty_job(rig, doc).await;
    let back = rig
        .set_media_empty(false)
        .await
        .map_err(fail("put the paper back"));
    let job = result?;
    back?;
    completes(rig, job, "job after paper is back").await
}

async fn media_empty_job(rig: &dyn PrinterRig, doc: Document) -> std::result::Result<JobId, Miss> {
    let p = rig.printer();
    let st = p.status().await.map_err(fail("status"))?;
    ensure!(
        st.has(&ReasonKind::MediaEmpty),
        "status without media-empty: {:?}",
        st.reasons
    );
    ensure!(
        st.blocking_error() == Some(ErrorKind::MediaEmpty),
        "blocking error {:?}",
        st.blocking_error()
    );
    let job = p
        .print(doc, &PrintOptions::new())
        .await
        .map_err(fail("print"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let js = p.job(job).await.map_err(fail("job status"))?;
    ensure!(
        js.state == JobState::Pending,
        "job is {:?} without paper, documented: Pending",
        js.state
    );
    ensure!(
        js.printer_reasons()
            .iter()
            .any(|r| r.kind == ReasonKind::MediaEmpty),
        "job reasons {:?} / printer reasons {:?} do not name media-empty",
        js.reasons,
        js.printer_state_reasons
    );
    Ok(job)
}
