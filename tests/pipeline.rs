//! `scan_to_pdf` against the mock scanner: every encoding, a jam mid-batch, unwritable
//! output, cancellation, progress and page order. Checks outputs with qpdf and poppler-utils
//! (fails, never skips, without them).

mod pdf_util;

use std::path::Path;
use std::sync::{Arc, Mutex};

use buergerkoffer::mock::MockScanner;
use buergerkoffer::pdf::{Encoding, Metadata};
use buergerkoffer::pipeline::{pages_to_pdf, scan_to_pdf, Progress, ScanToPdfOptions};
use buergerkoffer::scan::{
    ColorMode, Page, PageStream, PixelFormat, ScanArea, ScanRequest, Source,
};
use buergerkoffer::{ErrorKind, Scanner};
use pdf_util::*;

fn adf(dpi: u32, mode: ColorMode) -> ScanRequest {
    ScanRequest::new()
        .resolution(dpi)
        .mode(mode)
        .source(Source::Adf)
        .area(ScanArea::A4)
}

/// Files in `dir` other than `keep`.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoding_makes_a_valid_pdf_with_one_image_per_page() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (ColorMode::Gray, None, Encoding::Jpeg, "jpeg", "gray", 8),
        (ColorMode::Color, None, Encoding::Jpeg, "jpeg", "rgb", 8),
        (ColorMode::Color, None, Encoding::Flate, "image", "rgb", 8),
        (
            ColorMode::Gray,
            Some(16),
            Encoding::Flate,
            "image",
            "gray",
            8,
        ),
        (ColorMode::Lineart, None, Encoding::G4, "ccitt", "gray", 1),
        (ColorMode::Lineart, None, Encoding::Auto, "ccitt", "gray", 1),
        (ColorMode::Color, Some(16), Encoding::Auto, "jpeg", "rgb", 8),
    ];
    for (i, (mode, depth, enc, want_enc, want_color, want_bpc)) in cases.into_iter().enumerate() {
        let scanner = MockScanner::new("scanner").with_adf_pages(3);
        let mut req = adf(75, mode);
        if let Some(d) = depth {
            req = req.depth(d);
        }
        let out = dir.path().join(format!("{i}-{mode}-{enc}.pdf"));
        let opts = ScanToPdfOptions::new().encoding(enc).threads(2);
        let done = scan_to_pdf(&scanner, &req, &out, &opts).await.unwrap();
        assert_eq!(done.pages, 3);
        assert_eq!(done.bytes, std::fs::metadata(&out).unwrap().len());
        qpdf_check(&out);
        let rows = pdfimages_list(&out);
        assert_eq!(rows.len(), 3, "{mode} {enc}: {rows:?}");
        // A4 at 75 dpi.
        for (n, r) in rows.iter().enumerate() {
            assert_eq!(r.page, n as u32 + 1);
            assert_eq!((r.width, r.height), (620, 877), "{mode} {enc}");
            assert_eq!(
                (r.enc.as_str(), r.color.as_str(), r.bpc),
                (want_enc, want_color, want_bpc),
                "{mode} {enc}"
            );
        }
        let info = pdfinfo(&out, &[]);
        assert!(
            info.contains("Page size:       595.2 x 841.92 pts"),
            "{info}"
        );
    }
    assert_eq!(
        leftovers(dir.path(), &[])
            .iter()
            .filter(|n| n.ends_with(".part"))
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_at_page_4_keeps_a_valid_3_page_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("antrag.pdf");
    let scanner = MockScanner::new("scanner").with_adf_pages(10);
    scanner.fail_at(4, ErrorKind::PaperJam);
    let err = scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Gray),
        &out,
        &ScanToPdfOptions::new(),
    )
    .await
    .unwrap_err();
    eprintln!("jam: {err}");
    assert_eq!(err.kind(), ErrorKind::PaperJam, "{err}");
    assert_eq!(err.pages(), Some(3), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("mock:scanner"), "{msg}");
    assert!(msg.contains("antrag.pdf"), "{msg}");
    assert!(msg.contains("(3 pages kept)"), "{msg}");
    qpdf_check(&out);
    assert_eq!(page_count(&out), 3);
    assert_eq!(pdfimages_list(&out).len(), 3);
    assert_eq!(leftovers(dir.path(), &["antrag.pdf"]), Vec::<String>::new());
    assert!(!scanner.is_busy(), "the job must be over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_feeder_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.pdf");
    let scanner = MockScanner::new("scanner").with_adf_pages(0);
    let err = scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Gray),
        &out,
        &ScanToPdfOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoDocuments, "{err}");
    assert_eq!(err.pages(), Some(0));
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());
}

#[tokio::test]
async fn unwritable_output_fails_before_scanning_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scanner = MockScanner::new("scanner");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let bad = [
        dir.path().join("no-such-dir").join("out.pdf"),
        file.join("out.pdf"),     // parent is a file
        dir.path().to_path_buf(), // a directory
    ];
    for out in bad {
        let err = scan_to_pdf(
            &scanner,
            &ScanRequest::new().resolution(75),
            &out,
            &ScanToPdfOptions::new(),
        )
        .await
        .unwrap_err();
        eprintln!("unwritable: {err}");
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "{}: {err}",
            out.display()
        );
        assert!(
            err.to_string().contains(&out.display().to_string()),
            "{err}"
        );
    }
    assert_eq!(
        scanner.jobs_started(),
        0,
        "no scan may start for an unwritable output"
    );
    assert_eq!(leftovers(dir.path(), &["a-file"]), Vec::<String>::new());

    let err = scan_to_pdf(
        &scanner,
        &ScanRequest::new(),
        dir.path().join("q.pdf"),
        &ScanToPdfOptions::new().quality(0),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(scanner.jobs_started(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_cancels_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cancel.pdf");
    let scanner = MockScanner::new("scanner").with_adf_pages(10);
    scanner.hang_at(4);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let opts = ScanToPdfOptions::new().on_progress(move |p| {
        let _ = tx.send(p);
    });
    let req = adf(75, ColorMode::Gray);
    {
        let job = scan_to_pdf(&scanner, &req, &out, &opts);
        tokio::pin!(job);
        // Run the job until 3 pages are written (page 4 never comes), then drop it.
        loop {
            tokio::select! {
                r = &mut job => panic!("the job cannot finish: {r:?}"),
                p = rx.recv() => if p.unwrap().pages_written == 3 { break },
            }
        }
        let parts: Vec<String> = leftovers(dir.path(), &[]);
        assert_eq!(parts.len(), 1, "a temp file while running: {parts:?}");
        assert!(parts[0].ends_with(".part"), "{parts:?}");
    }
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());
    assert!(!out.exists());
    assert!(!scanner.is_busy(), "dropping the job must cancel the scan");
    assert_eq!(scanner.jobs_cancelled(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_every_page_and_pdfa_works_through_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.pdf");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let opts = ScanToPdfOptions::new()
        .pdfa(true)
        .metadata(Metadata::titled("Meldebescheinigung"))
        .threads(3)
        .on_progress(move |p| s2.lock().unwrap().push(p.pages_written));
    let scanner = MockScanner::new("scanner").with_adf_pages(5);
    let done = scan_to_pdf(&scanner, &adf(75, ColorMode::Color), &out, &opts)
        .await
        .unwrap();
    assert_eq!(done.pages, 5);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    qpdf_check(&out);
    let xmp = pdfinfo(&out, &["-meta"]);
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(xmp.contains("Meldebescheinigung"), "{xmp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_written_in_scan_order_whatever_finishes_first() {
    // Big pages first, tiny ones after: with 4 encoders the tiny ones finish first.
    let pages: Vec<_> = (0..8u32)
        .map(|i| {
            let w = if i % 2 == 0 { 1200 - i * 10 } else { 16 + i };
            let h = if i % 2 == 0 { 1600 } else { 16 };
            let px: Vec<u8> = (0..w * h * 3).map(|v| (v * 7 % 251) as u8).collect();
            Ok(Page::raw(i, w, h, (150, 150), PixelFormat::Rgb8, px).unwrap())
        })
        .collect();
    let widths: Vec<u32> = pages
        .iter()
        .map(|p: &buergerkoffer::Result<Page>| p.as_ref().unwrap().width)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("order.pdf");
    let stream = PageStream::new(futures_util::stream::iter(pages));
    let done = pages_to_pdf(
        "test:vec",
        stream,
        &out,
        &ScanToPdfOptions::new().threads(4),
    )
    .await
    .unwrap();
    assert_eq!(done.pages, 8);
    qpdf_check(&out);
    let got: Vec<u32> = pdfimages_list(&out).iter().map(|r| r.width).collect();
    assert_eq!(got, widths);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g4_on_a_colour_scan_is_unsupported_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g4.pdf");
    let scanner = MockScanner::new("scanner").with_adf_pages(2);
    let err = scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Color),
        &out,
        &ScanToPdfOptions::new().encoding(Encoding::G4),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(leftovers(dir.path(), &[]), Vec::<String>::new());
    // The scanner is free again for the next job.
    let _ = scanner.info();
    assert!(!scanner.is_busy());
}

// ------------------------------------------------- output files: part files, mode, read-only

/// Start time of this process in clock ticks since boot (`/proc/self/stat` field 22).
fn my_start_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v = leftovers(dir, &[]);
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_part_files_of_dead_runs_are_removed_at_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A pid above the kernel's pid_max can belong to no process.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = pid_max + 1;
    let me = std::process::id();
    let start = my_start_ticks();
    let stale = [
        format!(".old.pdf.{dead}-0.part"), // the naming of earlier versions
        format!(".antrag.pdf.{dead}-12345-3.part"),
        format!(".reused.pdf.{me}-{}-0.part", start + 1), // our pid, another process
    ];
    let kept = [
        format!(".live.pdf.{me}-{start}-9.part"), // this process: may be a running job
        ".notes.part".to_owned(),
        format!("old.pdf.{dead}-0.part"),
        format!(".a.pdf.{dead}-x-0.part"),
        format!(".b.pdf.{dead}-0.part.bak"),
    ];
    for n in stale.iter().chain(&kept) {
        std::fs::write(d.join(n), vec![7u8; 1 << 20]).unwrap();
    }
    let dir_like = format!(".dir.pdf.{dead}-0.part");
    std::fs::create_dir(d.join(&dir_like)).unwrap();
    let link_like = format!(".link.pdf.{dead}-0.part");
    std::os::unix::fs::symlink("elsewhere", d.join(&link_like)).unwrap();

    let scanner = MockScanner::new("scanner").with_adf_pages(1);
    let out = d.join("new.pdf");
    scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Gray),
        &out,
        &ScanToPdfOptions::new(),
    )
    .await
    .unwrap();
    qpdf_check(&out);
    let mut want: Vec<String> = kept.to_vec();
    want.extend([dir_like, link_like, "new.pdf".to_owned()]);
    want.sort();
    assert_eq!(names(d), want, "only the part files of dead runs go");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_pdfs_are_private_from_the_first_byte_or_take_the_callers_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let part_modes = Arc::new(Mutex::new(Vec::new()));
    let seen = part_modes.clone();
    let opts = ScanToPdfOptions::new().on_progress(move |_| {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".part") {
                seen.lock().unwrap().push(mode(&p));
            }
        }
    });
    let scanner = MockScanner::new("scanner").with_adf_pages(2);
    let out = dir.path().join("private.pdf");
    scan_to_pdf(&scanner, &adf(75, ColorMode::Gray), &out, &opts)
        .await
        .unwrap();
    assert_eq!(mode(&out), 0o600, "the umask is {:?}", umask());
    assert_eq!(*part_modes.lock().unwrap(), vec![0o600, 0o600]);

    let shared = dir.path().join("shared.pdf");
    let opts = ScanToPdfOptions::new().file_mode(0o640);
    scan_to_pdf(&scanner, &adf(75, ColorMode::Gray), &shared, &opts)
        .await
        .unwrap();
    assert_eq!(mode(&shared), 0o640);
    let e = scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Gray),
        dir.path().join("odd.pdf"),
        &ScanToPdfOptions::new().file_mode(0o170_000),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

fn umask() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Umask"))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_target_is_kept_unless_replacing_is_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bescheid.pdf");
    std::fs::write(&out, b"keep me").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o444)).unwrap();
    let scanner = MockScanner::new("scanner").with_adf_pages(2);
    let err = scan_to_pdf(
        &scanner,
        &adf(75, ColorMode::Gray),
        &out,
        &ScanToPdfOptions::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("bescheid.pdf") && msg.contains("read-only"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_eq!(scanner.jobs_started(), 0, "refused before scanning");
    assert_eq!(
        leftovers(dir.path(), &["bescheid.pdf"]),
        Vec::<String>::new()
    );

    let opts = ScanToPdfOptions::new().replace_read_only(true);
    let done = scan_to_pdf(&scanner, &adf(75, ColorMode::Gray), &out, &opts)
        .await
        .unwrap();
    assert_eq!(done.pages, 2);
    qpdf_check(&out);
    assert_eq!(
        leftovers(dir.path(), &["bescheid.pdf"]),
        Vec::<String>::new()
    );
}
