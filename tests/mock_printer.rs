//! Mock printer: recording, state reasons that hold or stop jobs, lifecycle, cancel, faults.

use std::time::Duration;

use buergerkoffer::mock::{MockKit, MockPrinter};
use buergerkoffer::print::{
    Document, DocumentFormat, JobState, PrintOptions, PrinterState, ReasonKind, Sides,
};
use buergerkoffer::scan::{Page, PixelFormat};
use buergerkoffer::{DeviceId, ErrorKind, Kit, Printer};

static_assertions::assert_impl_all!(MockPrinter: Send, Sync, Clone);

async fn opened(p: MockPrinter) -> Box<dyn Printer> {
    Kit::new()
        .with_provider(MockKit::new().with_printer(p))
        .open_printer(&DeviceId::mock("p"))
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn lifecycle_pending_processing_completed_and_recording() {
    let handle = MockPrinter::new("p").processing_time(Duration::from_secs(3));
    let printer = opened(handle.clone()).await;
    let opts = PrintOptions::new()
        .copies(2)
        .sides(Sides::TwoSidedLongEdge)
        .media("iso_a4_210x297mm")
        .job_name("Antrag");
    let job = printer
        .print(
            Document::pdf(&b"%PDF-1.7 test"[..]).with_name("antrag.pdf"),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(printer.job(job).await.unwrap().state, JobState::Pending);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(printer.job(job).await.unwrap().state, JobState::Processing);
    assert_eq!(
        printer.status().await.unwrap().state,
        PrinterState::Processing
    );
    let end = printer
        .wait_for_job(job, Duration::from_secs(10), Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(end.state, JobState::Completed);
    let docs = handle.printed();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].data.as_ref(), b"%PDF-1.7 test");
    assert_eq!(docs[0].options, opts);
    assert_eq!(docs[0].name.as_deref(), Some("antrag.pdf"));
}

#[tokio::test(start_paused = true)]
async fn media_empty_holds_jobs_until_cleared() {
    let handle = MockPrinter::new("p");
    let printer = opened(handle.clone()).await;
    handle.set_reason_keyword("media-empty-error");
    let status = printer.status().await.unwrap();
    assert_eq!(status.state, PrinterState::Stopped);
    assert_eq!(status.blocking_error(), Some(ErrorKind::MediaEmpty));
    let job = printer
        .print(
            Document::jpeg(vec![0xFF, 0xD8, 0xFF, 0xD9]),
            &PrintOptions::new(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let st = printer.job(job).await.unwrap();
    assert_eq!(st.state, JobState::Pending);
    assert_eq!(st.message.as_deref(), Some("media-empty-error"));
    let e = printer
        .wait_for_job(job, Duration::from_secs(5), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    handle.clear_reason(&ReasonKind::MediaEmpty);
    let end = printer
        .wait_for_job(job, Duration::from_secs(5), Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(end.state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn jam_during_printing_stops_the_job() {
    let handle = MockPrinter::new("p").processing_time(Duration::from_secs(2));
    let printer = opened(handle.clone()).await;
    let job = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.set_reason_keyword("media-jam-error");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(printer.job(job).await.unwrap().state, JobState::Stopped);
    assert_eq!(
        printer.status().await.unwrap().blocking_error(),
        Some(ErrorKind::PaperJam)
    );
    handle.clear_reasons();
    let end = printer
        .wait_for_job(job, Duration::from_secs(5), Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(end.state, JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancel_pending_job_and_errors_for_unknown_or_ended_jobs() {
    let handle = MockPrinter::new("p");
    let printer = opened(handle.clone()).await;
    handle.set_reason_keyword("door-open-error");
    let job = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    printer.cancel(job).await.unwrap();
    assert_eq!(printer.job(job).await.unwrap().state, JobState::Canceled);
    assert_eq!(
        printer.cancel(job).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let unknown = buergerkoffer::print::JobId(999);
    assert_eq!(
        printer.job(unknown).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        printer.cancel(unknown).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn unsupported_format_names_accepted_ones() {
    let printer = opened(MockPrinter::new("p").accepting(vec![DocumentFormat::PwgRaster])).await;
    let e = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("image/pwg-raster"), "{e}");
    // A raw page goes through as PWG raster and is recorded.
    let page = Page::raw(0, 8, 2, (300, 300), PixelFormat::Gray8, vec![7u8; 16]).unwrap();
    assert!(printer
        .print(Document::page(page), &PrintOptions::new())
        .await
        .is_ok());
}

#[tokio::test]
async fn bad_options_and_unreadable_documents_are_typed_errors() {
    let printer = opened(MockPrinter::new("p")).await;
    let e = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new().copies(0))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = printer
        .print(
            Document::pdf(&b"%PDF"[..]),
            &PrintOptions::new().media("iso_a0_841x1189mm"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = printer
        .print(
            Document::pdf_file("/nonexistent/antrag.pdf"),
            &PrintOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("/nonexistent/antrag.pdf"), "{e}");
}

#[tokio::test]
async fn unplugged_printer_is_gone() {
    let kit = MockKit::standard();
    let printer = Kit::new()
        .with_provider(kit.clone())
        .open_printer(&DeviceId::mock("printer"))
        .await
        .unwrap();
    kit.unplug(&DeviceId::mock("printer"));
    assert_eq!(
        printer.status().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    let e = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone);
}

#[tokio::test]
async fn expectations() {
    let handle =
        MockPrinter::new("p").expect_print(DocumentFormat::Pdf, PrintOptions::new().copies(2));
    let printer = opened(handle.clone()).await;
    let e = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = handle.done().unwrap_err().to_string();
    assert!(report.contains("copies: 2"), "{report}");
    assert!(handle.printed().is_empty());
}
