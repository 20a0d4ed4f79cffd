//! MockPrinter through `dyn Printer`: recorded documents and options, the job lifecycle on a
//! paused clock, media-empty holding jobs, media-jam stopping them, cancel, refused formats,
//! injected failures and expectations.

use std::time::Duration;

use buergerkoffer::mock::MockPrinter;
use buergerkoffer::print::raster::{decode_rows, RasterType, HEADER_LEN};
use buergerkoffer::print::{
    Document, DocumentFormat, JobId, JobState, JobStatus, PageRange, PrintOptions, PrintQuality,
    PrinterState, ReasonKind, Sides, StateReason,
};
use buergerkoffer::scan::{Page, PixelFormat};
use buergerkoffer::{ErrorKind, Printer};

static_assertions::assert_impl_all!(MockPrinter: Send, Sync, Clone, std::fmt::Debug);

fn reason(k: &str) -> StateReason {
    StateReason::from_keyword(k).unwrap()
}

fn printer() -> (MockPrinter, Box<dyn Printer>) {
    let mock = MockPrinter::new("p").with_durations(Duration::from_secs(1), Duration::from_secs(4));
    let dynp: Box<dyn Printer> = Box::new(mock.clone());
    (mock, dynp)
}

#[tokio::test(start_paused = true)]
async fn lifecycle_pending_processing_completed_and_recording() {
    let (mock, p) = printer();
    let opts = PrintOptions::new()
        .copies(2)
        .sides(Sides::TwoSidedLongEdge)
        .media("iso_a4_210x297mm");
    let job = p
        .print(
            Document::pdf(&b"%PDF-1.7 test"[..]).with_name("antrag.pdf"),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(p.job(job).await.unwrap().state, JobState::Pending);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(p.job(job).await.unwrap().state, JobState::Processing);
    assert_eq!(p.status().await.unwrap().state, PrinterState::Processing);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(p.job(job).await.unwrap().state, JobState::Completed);
    assert_eq!(p.status().await.unwrap().state, PrinterState::Idle);
    let docs = mock.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].job, job);
    assert_eq!(docs[0].format, DocumentFormat::Pdf);
    assert_eq!(docs[0].name.as_deref(), Some("antrag.pdf"));
    assert_eq!(docs[0].options, opts);
    assert_eq!(docs[0].data.as_ref(), b"%PDF-1.7 test");
    // Jobs get distinct ids.
    let j2 = p
        .print(Document::jpeg(&b"\xff\xd8x"[..]), &PrintOptions::new())
        .await
        .unwrap();
    assert_ne!(j2, job);
}

#[tokio::test(start_paused = true)]
async fn media_empty_holds_jobs_until_cleared() {
    let (mock, p) = printer();
    mock.set_reasons(vec![reason("media-empty-error")]);
    let st = p.status().await.unwrap();
    assert_eq!(st.state, PrinterState::Stopped);
    assert!(st.has(&ReasonKind::MediaEmpty));
    assert_eq!(st.blocking_error(), Some(ErrorKind::MediaEmpty));
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let js = p.job(job).await.unwrap();
    assert_eq!(js.state, JobState::Pending);
    assert_eq!(js.reasons, ["printer-stopped"]);
    assert_eq!(js.printer_state_reasons, ["media-empty-error"]);
    let typed = js.printer_reasons();
    assert_eq!(typed.len(), 1, "{typed:?}");
    assert_eq!(typed[0].kind, ReasonKind::MediaEmpty);
    // waiting times out naming the state
    let e = p
        .wait_for_job(job, Duration::from_secs(10), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    mock.clear_reasons();
    let done = p
        .wait_for_job(job, Duration::from_secs(60), Duration::from_millis(250))
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn media_jam_stops_the_job_being_printed() {
    let (mock, p) = printer();
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await; // 1 s into processing
    assert_eq!(p.job(job).await.unwrap().state, JobState::Processing);
    mock.add_reason(reason("media-jam-error"));
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(p.job(job).await.unwrap().state, JobState::Stopped);
    assert_eq!(
        p.status().await.unwrap().blocking_error(),
        Some(ErrorKind::PaperJam)
    );
    mock.clear_reasons();
    tokio::time::sleep(Duration::from_secs(2)).await; // 3 of 4 s done
    assert_eq!(p.job(job).await.unwrap().state, JobState::Processing);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(p.job(job).await.unwrap().state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn warnings_do_not_hold_jobs() {
    let (mock, p) = printer();
    mock.set_reasons(vec![reason("toner-low-warning")]);
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(p.job(job).await.unwrap().state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancel_and_unknown_jobs() {
    let (_mock, p) = printer();
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    p.cancel(job).await.unwrap();
    assert_eq!(p.job(job).await.unwrap().state, JobState::Canceled);
    assert_eq!(
        p.cancel(job).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        p.job(JobId(999)).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        p.cancel(JobId(999)).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn unsupported_format_names_the_accepted_ones() {
    let mock =
        MockPrinter::new("p").with_formats(vec![DocumentFormat::Pdf, DocumentFormat::PwgRaster]);
    let p: Box<dyn Printer> = Box::new(mock.clone());
    // A broken JPEG would be rendered to PWG raster: it cannot be read.
    let e = p
        .print(Document::jpeg(&b"\xff\xd8"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let text = buergerkoffer::print::DocumentBody::Bytes(bytes::Bytes::from_static(b"hello"));
    let e = p
        .print(
            Document::new(DocumentFormat::Other("text/plain".into()), text),
            &PrintOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let msg = e.to_string();
    assert!(
        msg.contains("application/pdf") && msg.contains("image/pwg-raster"),
        "{msg}"
    );
    assert!(mock.documents().is_empty());
    assert_eq!(p.capabilities().await.unwrap().formats.len(), 2);
    // A raw scanned page goes as PWG raster, as the IPP backend sends it; the mock records
    // what the printer received, and it decodes back to the page's pixels.
    let page = Page::raw(0, 2, 1, (300, 300), PixelFormat::Gray8, vec![7u8, 9]).unwrap();
    p.print(Document::page(page), &PrintOptions::new())
        .await
        .unwrap();
    let doc = &mock.documents()[0];
    assert_eq!(doc.format, DocumentFormat::PwgRaster);
    assert_eq!(&doc.data[..4], b"RaS2");
    let rows = decode_rows(&doc.data[4 + HEADER_LEN..], RasterType::Sgray8, 2, 1).unwrap();
    assert_eq!(rows, vec![7, 9]);
}

#[tokio::test]
async fn bad_options_injected_failures_busy_and_gone() {
    let (mock, p) = printer();
    let doc = || Document::pdf(&b"%PDF"[..]);
    for opts in [
        PrintOptions::new().copies(0),
        PrintOptions::new().copies(100),
        PrintOptions::new().media("iso_a0_841x1189mm"),
    ] {
        assert_eq!(
            p.print(doc(), &opts).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    mock.fail_next_print(ErrorKind::Timeout);
    assert_eq!(
        p.print(doc(), &PrintOptions::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Timeout
    );
    assert!(
        p.print(doc(), &PrintOptions::new()).await.is_ok(),
        "one-shot"
    );
    mock.set_accepting(false);
    assert_eq!(
        p.print(doc(), &PrintOptions::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Busy
    );
    mock.set_accepting(true);
    mock.set_gone(true);
    assert_eq!(
        p.print(doc(), &PrintOptions::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(p.status().await.unwrap_err().kind(), ErrorKind::DeviceGone);
    assert_eq!(
        p.capabilities().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        p.job(JobId(1)).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    // An unreadable file is an error of the print, not a panic.
    mock.set_gone(false);
    let e = p
        .print(
            Document::pdf_file("/nonexistent/buergerkoffer.pdf"),
            &PrintOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(mock.documents().len(), 1);
}

#[tokio::test]
async fn expectations_report_differences_and_unused_prints() {
    let (mock, p) = printer();
    mock.expect_prints([
        (DocumentFormat::Pdf, PrintOptions::new()),
        (DocumentFormat::Pdf, PrintOptions::new().copies(2)),
    ]);
    p.print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    let e = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new().copies(3))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = mock.done().unwrap_err();
    assert!(e.to_string().contains("copies: 3"), "{e}");

    mock.expect_prints([(DocumentFormat::Jpeg, PrintOptions::new())]);
    let e = mock.done().unwrap_err();
    assert!(e.to_string().contains("never made"), "{e}");

    mock.expect_prints([(DocumentFormat::Jpeg, PrintOptions::new())]);
    p.print(Document::jpeg(&b"\xff\xd8"[..]), &PrintOptions::new())
        .await
        .unwrap();
    assert!(p
        .print(Document::jpeg(&b"\xff\xd8"[..]), &PrintOptions::new())
        .await
        .is_err());
    assert!(mock.done().unwrap_err().to_string().contains("unexpected"));
    mock.done().unwrap();
}

#[test]
#[should_panic(expected = "without done()")]
fn a_printer_with_expectations_dropped_without_done_panics() {
    let mock = MockPrinter::new("p");
    mock.expect_prints([(DocumentFormat::Pdf, PrintOptions::new())]);
    drop(mock);
}

#[tokio::test(start_paused = true)]
async fn progress_stream_jobs_list_and_identify() {
    use futures_util::StreamExt;
    let (mock, p) = printer();
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    assert_eq!(p.jobs().await.unwrap().len(), 1);
    mock.add_reason(StateReason::from_keyword("media-empty-error").unwrap());
    let mut stream = p.watch_job(job, Duration::from_millis(200));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.state, JobState::Pending, "{first:?}");
    let typed = first.printer_reasons();
    assert_eq!(typed.len(), 1, "{first:?}");
    assert_eq!(typed[0].kind, ReasonKind::MediaEmpty);
    // Waiting for paper: the list still has the job, nothing new is reported.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(p.jobs().await.unwrap()[0].id, job);
    // Another fault: the job's reasons stay `printer-stopped`, the printer's change.
    mock.set_reasons(vec![StateReason::from_keyword("media-jam-error").unwrap()]);
    let jam = stream.next().await.unwrap().unwrap();
    assert_eq!(jam.reasons, first.reasons);
    assert_eq!(
        jam.printer_reasons()[0].kind,
        ReasonKind::MediaJam,
        "{jam:?}"
    );
    mock.clear_reasons();
    let rest: Vec<JobStatus> = stream.map(|r| r.unwrap()).collect().await;
    let states: Vec<JobState> = rest.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        vec![JobState::Pending, JobState::Processing, JobState::Completed],
        "{rest:?}"
    );
    assert!(p.jobs().await.unwrap().is_empty());
    assert_eq!(mock.documents().len(), 1, "printed once");
    p.identify().await.unwrap();
    assert_eq!(mock.identify_count(), 1);
}

#[tokio::test]
async fn tray_paper_quality_and_page_ranges_are_checked() {
    let (_mock, p) = printer();
    let pdf = || Document::pdf(&b"%PDF"[..]);
    let ok = PrintOptions::new()
        .media_source("manual")
        .media_type("labels")
        .quality(PrintQuality::High)
        .page_ranges(PageRange::parse_list("1-2,4").unwrap());
    p.print(pdf(), &ok).await.unwrap();
    let e = p
        .print(pdf(), &PrintOptions::new().media_source("tray-9"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("main, manual"), "{e}");
    let e = p
        .print(
            pdf(),
            &PrintOptions::new().page_ranges(vec![PageRange::new(3, 1)]),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // A one-page document: page 1 may be chosen, no other.
    let jpeg = || Document::jpeg(&b"\xff\xd8"[..]);
    let first = PrintOptions::new().page_ranges(vec![PageRange::new(1, 1)]);
    p.print(jpeg(), &first).await.unwrap();
    let second = PrintOptions::new().page_ranges(vec![PageRange::new(2, 3)]);
    let e = p.print(jpeg(), &second).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("one-page"), "{e}");
}

/// A PDF of `n` one-inch gray pages, made with the crate's PDF writer.
fn pdf_of(n: usize) -> Vec<u8> {
    use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
    use buergerkoffer::scan::{Page, PixelFormat};
    let page = Page::raw(0, 72, 72, (72, 72), PixelFormat::Gray8, vec![128; 72 * 72]).unwrap();
    let img = encode_page(&page, &EncodeOptions::default()).unwrap();
    let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new()).unwrap();
    for _ in 0..n {
        w.add_page(&img).unwrap();
    }
    w.finish().unwrap()
}

#[tokio::test(start_paused = true)]
async fn sides_printed_grow_to_pages_times_copies() {
    use futures_util::StreamExt;
    let (_mock, p) = printer();
    // Pages 2-3 of five, twice: four sides.
    let o = PrintOptions::new()
        .copies(2)
        .page_ranges(PageRange::parse_list("2-3").unwrap());
    let job = p.print(Document::pdf(pdf_of(5)), &o).await.unwrap();
    let seen: Vec<JobStatus> = p
        .watch_job(job, Duration::from_millis(100))
        .map(|r| r.unwrap())
        .collect()
        .await;
    let done: Vec<u32> = seen
        .iter()
        .filter_map(|s| s.impressions_completed)
        .collect();
    assert_eq!(
        done.len(),
        seen.len(),
        "every status counts sides: {seen:?}"
    );
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert_eq!(done.last(), Some(&4), "{seen:?}");
    assert!(
        done.iter().any(|&d| d > 0 && d < 4),
        "progress in between: {done:?}"
    );
    assert_eq!(seen.last().unwrap().state, JobState::Completed);
    // A document the mock cannot read says nothing about sides.
    let job = p
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    assert_eq!(p.job(job).await.unwrap().impressions_completed, None);
}
