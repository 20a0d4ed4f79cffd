//! The IPP backend against a real IPP Everywhere printer (`ippeveprinter` from
//! cups-ipp-utils, on loopback). Broken replies from a fake server: `ipp_fake_replies.rs`.
//!
//! Needs the Debian packages `cups-ipp-utils avahi-daemon dbus` and root (to start the system
//! bus); missing packages make the tests fail with a message saying what to install.

#![cfg(feature = "ipp")]

#[path = "peer_ipp/support.rs"]
mod support;

use std::time::{Duration, Instant};

use buergerkoffer::backend::ipp::{IppPrinter, IppProvider};
use buergerkoffer::pdf::{encode_page, EncodeOptions, Encoding, PdfOptions, PdfWriter};
use buergerkoffer::print::raster::{decode_rows, RasterType, HEADER_LEN};
use buergerkoffer::print::{
    Document, DocumentBody, DocumentFormat, JobId, JobState, JobStatus, PrintColor, PrintOptions,
    Printer, PrinterState, Sides, SupplyLevel,
};
use buergerkoffer::scan::{Page, PixelFormat};
use buergerkoffer::{DeviceId, DeviceKind, ErrorKind, Kit, Provider, RawCode};
use support::{set, Peer};

const T: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);

fn noise_page(w: u32, h: u32, format: PixelFormat, dpi: u32) -> Page {
    let n = format.row_bytes(w) * h as usize;
    let mut x: u32 = 0x1234_5678;
    let px: Vec<u8> = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Smooth gradient plus a little noise, so JPEG/Flate have work to do.
            ((i % 251) as u8).wrapping_add((x & 7) as u8)
        })
        .collect();
    Page::raw(0, w, h, (dpi, dpi), format, px).unwrap()
}

fn pdf_bytes(page: &Page) -> Vec<u8> {
    let opts = EncodeOptions {
        encoding: Encoding::Flate,
        ..EncodeOptions::default()
    };
    let img = encode_page(page, &opts).unwrap();
    let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new()).unwrap();
    w.add_page(&img).unwrap();
    w.finish().unwrap()
}

fn jpeg_bytes(page: &Page) -> Vec<u8> {
    let opts = EncodeOptions {
        encoding: Encoding::Jpeg,
        ..EncodeOptions::default()
    };
    encode_page(page, &opts).unwrap().data.to_vec()
}

async fn open(peer: &Peer) -> IppPrinter {
    IppPrinter::connect(&peer.uri, T).await.unwrap()
}

/// Waits (up to 60 s) for `job` to end and asserts that it completed.
async fn completed(printer: &IppPrinter, job: JobId) -> JobStatus {
    let done = printer
        .wait_for_job(job, Duration::from_secs(60), POLL)
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Completed, "{done:?}");
    done
}

#[tokio::test(flavor = "multi_thread")]
async fn capabilities_and_status_match_ipptool() {
    let peer = Peer::start("application/pdf,image/jpeg,image/pwg-raster", true);
    let printer = open(&peer).await;
    assert_eq!(printer.info().kind, DeviceKind::Printer);
    assert_eq!(printer.info().id.to_string(), peer.uri);
    assert_eq!(printer.info().name, "Buergerkoffer TestPrinter");
    assert_eq!(printer.info().vendor.as_deref(), Some("Buergerkoffer"));

    let caps = printer.capabilities().await.unwrap();
    let want = peer.ipptool_attributes();
    let get = |n: &str| {
        want.get(n)
            .unwrap_or_else(|| panic!("ipptool did not report {n}: {want:?}"))
            .1
            .clone()
    };
    let formats: Vec<String> = caps.formats.iter().map(|f| f.mime().to_owned()).collect();
    assert_eq!(formats, set(&get("document-format-supported")));
    assert!(caps.accepts(&DocumentFormat::Pdf));
    assert!(caps.accepts(&DocumentFormat::Jpeg));
    assert!(caps.accepts(&DocumentFormat::PwgRaster));
    assert_eq!(caps.media_supported, set(&get("media-supported")));
    assert_eq!(caps.media_ready, set(&get("media-ready")));
    let sides: Vec<String> = caps.sides.iter().map(|s| s.keyword().to_owned()).collect();
    assert_eq!(sides, set(&get("sides-supported")));
    assert_eq!(caps.sides.len(), 3, "started with -2 (duplex)");
    assert_eq!(caps.color, get("color-supported") == "true");
    let copies = get("copies-supported"); // e.g. 1-999
    let max: u32 = copies.rsplit('-').next().unwrap().parse().unwrap();
    assert_eq!(caps.max_copies, max);
    let res: Vec<(u32, u32)> = set(&get("printer-resolution-supported"))
        .iter()
        .map(|r| {
            let d: u32 = r.trim_end_matches("dpi").parse().unwrap();
            (d, d)
        })
        .collect();
    assert_eq!(caps.resolutions, res);

    let st = printer.status().await.unwrap();
    assert_eq!(st.state, PrinterState::Idle);
    assert_eq!(get("printer-state"), "idle");
    assert_eq!(get("printer-state-reasons"), "none");
    assert!(st.reasons.is_empty(), "{:?}", st.reasons);
    assert_eq!(
        st.message.as_deref(),
        Some(get("printer-state-message").as_str())
    );
    // Supplies: ippeveprinter has no marker-* attributes, only IPP Everywhere's
    // printer-supply (maxcapacity=100, so `level` is the percentage).
    let names = set(&get("printer-supply-description"));
    let levels: Vec<SupplyLevel> = set(&get("printer-supply"))
        .iter()
        .map(|v| {
            let l = v
                .split(';')
                .find_map(|kv| kv.strip_prefix("level="))
                .unwrap_or_else(|| panic!("no level in {v}"));
            SupplyLevel::Percent(l.parse().unwrap())
        })
        .collect();
    assert!(!names.is_empty());
    let got: Vec<&str> = st.supplies.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(got, names, "{:?}", st.supplies);
    let got: Vec<SupplyLevel> = st.supplies.iter().map(|s| s.level).collect();
    assert_eq!(got, levels);
}

#[tokio::test(flavor = "multi_thread")]
async fn pdf_and_jpeg_arrive_byte_identical_and_complete() {
    let peer = Peer::start("application/pdf,image/jpeg,image/pwg-raster", false);
    let printer = open(&peer).await;

    // A ~2 MB PDF, streamed from a file.
    let pdf = pdf_bytes(&noise_page(1000, 700, PixelFormat::Rgb8, 150));
    assert!(pdf.len() > 1_000_000, "{}", pdf.len());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("antrag.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let job = printer
        .print(
            Document::pdf_file(&path),
            &PrintOptions::new().job_name("Antrag"),
        )
        .await
        .unwrap();
    let done = completed(&printer, job).await;
    assert!(
        done.reasons
            .iter()
            .any(|r| r == "job-completed-successfully"),
        "{done:?}"
    );
    let (name, data) = peer.job_file(job.0);
    assert!(name.ends_with(".pdf") && name.contains("antrag"), "{name}");
    assert!(data == pdf, "the spooled PDF differs from the one sent");

    // A JPEG from memory, read through an async reader.
    let jpeg = jpeg_bytes(&noise_page(640, 480, PixelFormat::Rgb8, 150));
    let reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>> =
        Box::pin(std::io::Cursor::new(jpeg.clone()));
    let doc =
        Document::new(DocumentFormat::Jpeg, DocumentBody::Reader(reader)).with_name("foto.jpg");
    let job2 = printer.print(doc, &PrintOptions::new()).await.unwrap();
    assert!(job2 > job);
    completed(&printer, job2).await;
    let (name, data) = peer.job_file(job2.0);
    assert!(name.ends_with(".jpg") || name.ends_with(".jpeg"), "{name}");
    assert!(data == jpeg, "the spooled JPEG differs from the one sent");
    assert_eq!(peer.files().len(), 2, "{:?}", peer.files().keys());
}

#[tokio::test(flavor = "multi_thread")]
async fn options_are_sent_and_checked() {
    let peer = Peer::start("application/pdf,image/jpeg", true);
    let printer = open(&peer).await;
    let pdf = pdf_bytes(&noise_page(100, 100, PixelFormat::Gray8, 72));
    let opts = PrintOptions::new()
        .copies(2)
        .sides(Sides::TwoSidedLongEdge)
        .media("iso_a4_210x297mm")
        .color(PrintColor::Monochrome)
        .orientation(buergerkoffer::print::Orientation::Landscape)
        .job_name("Meldebescheinigung");
    let job = printer
        .print(Document::pdf(pdf.clone()), &opts)
        .await
        .unwrap();
    completed(&printer, job).await;
    let (name, data) = peer.job_file(job.0);
    assert!(
        name.contains("meldebescheinigung"),
        "job-name sent (lowercased in the file name): {name}"
    );
    assert_eq!(data, pdf);

    // Options the printer does not support are refused before anything is sent.
    let e = printer
        .print(
            Document::pdf(pdf.clone()),
            &PrintOptions::new().media("na_foolscap_1x1in"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("iso_a4_210x297mm"),
        "names what is supported: {e}"
    );
    let e = printer
        .print(
            Document::pdf(pdf.clone()),
            &PrintOptions::new().copies(100_000),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = printer
        .print(
            Document::pdf(pdf),
            &PrintOptions::new().color(PrintColor::Color),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(peer.files().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_a_long_job() {
    let peer = Peer::start("application/pdf", false);
    let printer = open(&peer).await;
    let pdf = pdf_bytes(&noise_page(100, 100, PixelFormat::Gray8, 72));
    // ippeveprinter "prints" about one copy per second: 60 copies keep it busy.
    let job = printer
        .print(Document::pdf(pdf), &PrintOptions::new().copies(60))
        .await
        .unwrap();
    let st = printer.job(job).await.unwrap();
    assert!(!st.state.is_terminal(), "{st:?}");
    // Get-Jobs lists it (not completed), and Identify-Printer is accepted.
    let list = printer.jobs().await.unwrap();
    assert!(
        list.iter().any(|j| j.id == job && !j.state.is_terminal()),
        "{list:?}"
    );
    printer.identify().await.unwrap();
    printer.cancel(job).await.unwrap();
    // The progress stream ends with the canceled job.
    use futures_util::StreamExt;
    let seen: Vec<_> = tokio::time::timeout(
        Duration::from_secs(20),
        printer.watch_job(job, POLL).collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    let done = seen.last().unwrap().as_ref().unwrap().clone();
    assert_eq!(done.state, JobState::Canceled, "{seen:?}");
    assert!(printer.jobs().await.unwrap().iter().all(|j| j.id != job));
    assert!(
        done.reasons.iter().any(|r| r.contains("canceled")),
        "{done:?}"
    );
    // Cancelling again: the job has ended.
    let e = printer.cancel(job).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("already ended"), "{e}");
    assert_eq!(e.raw(), Some(RawCode::Ipp(0x0404)));
    // An unknown job.
    let e = printer.job(JobId(4242)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.raw(), Some(RawCode::Ipp(0x0406)));
    let e = printer.cancel(JobId(4242)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

fn be32(h: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(h[off..off + 4].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn pwg_raster_only_printer_gets_raster_of_pages_pdfs_and_images() {
    let peer = Peer::start("image/pwg-raster", false);
    let printer = open(&peer).await;
    let caps = printer.capabilities().await.unwrap();
    assert!(caps.accepts(&DocumentFormat::PwgRaster));
    assert!(!caps.accepts(&DocumentFormat::Pdf));

    // A gray scan at 300 dpi (the printer takes 300 and 600 dpi, black_1 and sgray_8).
    let page = noise_page(413, 585, PixelFormat::Gray8, 300);
    let crate::peer_ipp_pixels::Pixels(pixels) = crate::peer_ipp_pixels::of(&page);
    let job = printer
        .print(Document::page(page).with_name("scan"), &PrintOptions::new())
        .await
        .unwrap();
    completed(&printer, job).await;
    let (name, data) = peer.job_file(job.0);
    assert!(name.ends_with(".pwg"), "{name}");
    assert_eq!(&data[..4], b"RaS2");
    let h = &data[4..4 + HEADER_LEN];
    assert_eq!(&h[..10], b"PwgRaster\0");
    assert_eq!((be32(h, 276), be32(h, 280)), (300, 300), "HWResolution");
    assert_eq!((be32(h, 372), be32(h, 376)), (413, 585), "Width, Height");
    assert_eq!(be32(h, 384), 8, "BitsPerColor");
    assert_eq!(be32(h, 388), 8, "BitsPerPixel");
    assert_eq!(be32(h, 392), 413, "BytesPerLine");
    assert_eq!(be32(h, 400), 18, "ColorSpace sGray");
    assert_eq!(be32(h, 420), 1, "NumColors");
    assert_eq!(
        (be32(h, 352), be32(h, 356)),
        (413 * 72 / 300, 585 * 72 / 300),
        "PageSize"
    );
    let rows = decode_rows(&data[4 + HEADER_LEN..], RasterType::Sgray8, 413, 585).unwrap();
    assert!(rows == pixels, "the raster's pixels differ from the page's");

    // A 1-bit page at 200 dpi: resampled to a supported resolution, sent as black_1.
    let bw = noise_page(160, 100, PixelFormat::Bw1, 200);
    let job = printer
        .print(Document::page(bw), &PrintOptions::new())
        .await
        .unwrap();
    printer
        .wait_for_job(job, Duration::from_secs(60), POLL)
        .await
        .unwrap();
    let (_, data) = peer.job_file(job.0);
    let h = &data[4..4 + HEADER_LEN];
    assert_eq!(be32(h, 276), 300);
    assert_eq!((be32(h, 372), be32(h, 376)), (240, 150));
    assert_eq!((be32(h, 388), be32(h, 400)), (1, 3), "black_1");

    // A PDF and a JPEG file are rendered in-process: one sheet each of the printer's
    // media-default (US letter), sgray_8, 300 dpi.
    let pdf = pdf_bytes(&noise_page(50, 50, PixelFormat::Gray8, 72));
    let jpeg = jpeg_bytes(&noise_page(32, 32, PixelFormat::Gray8, 72));
    for doc in [Document::pdf(pdf), Document::jpeg(jpeg)] {
        let job = printer.print(doc, &PrintOptions::new()).await.unwrap();
        completed(&printer, job).await;
        let (name, data) = peer.job_file(job.0);
        assert!(name.ends_with(".pwg"), "{name}");
        let h = &data[4..4 + HEADER_LEN];
        assert_eq!(
            (be32(h, 372), be32(h, 376)),
            (2550, 3300),
            "letter at 300 dpi"
        );
        assert_eq!((be32(h, 388), be32(h, 400)), (8, 18), "sgray_8");
        assert_eq!(&h[1732..1751], b"na_letter_8.5x11in\0");
    }
    assert_eq!(
        peer.files().len(),
        4,
        "nothing else was sent: {:?}",
        peer.files().keys()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kit_and_provider_open_ipp_uris() {
    let peer = Peer::start("application/pdf", false);
    let id: DeviceId = peer.uri.parse().unwrap();
    let kit = Kit::with_enabled_backends();
    let printer = kit.open_printer(&id).await.unwrap();
    assert_eq!(printer.info().id, id);
    assert_eq!(printer.status().await.unwrap().state, PrinterState::Idle);

    let dead = format!("ipp://127.0.0.1:{}/ipp/print", support::free_port());
    let provider = IppProvider::new()
        .with_printer(&peer.uri)
        .with_printer(&dead)
        .with_timeout(Duration::from_secs(3));
    let found = provider.devices().await.unwrap();
    assert_eq!(found.len(), 1, "only the printer that answers: {found:?}");
    assert_eq!(found[0].id, id);
    assert_eq!(found[0].kind, DeviceKind::Printer);
    let only_dead = IppProvider::new().with_printer(&dead);
    assert_eq!(
        only_dead.devices().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_printer_fails_within_the_timeout() {
    // Closed port: refused at once.
    let uri = format!("ipp://127.0.0.1:{}/ipp/print", support::free_port());
    let t0 = Instant::now();
    let e = IppPrinter::connect(&uri, Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(e.kind(), ErrorKind::DeviceGone, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&uri) && msg.contains("connection refused"),
        "{msg}"
    );

    // A server that accepts and never answers: Timeout after the timeout, not later.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let t0 = Instant::now();
    let e = IppPrinter::connect(
        &format!("ipp://127.0.0.1:{port}/ipp/print"),
        Duration::from_millis(800),
    )
    .await
    .unwrap_err();
    let dt = t0.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        dt >= Duration::from_millis(800) && dt < Duration::from_secs(3),
        "{dt:?}"
    );
    silent.abort();

    // Bad URIs.
    assert_eq!(
        IppPrinter::open("ipp://").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let ipps = IppPrinter::open("ipps://127.0.0.1/ipp/print");
    if cfg!(feature = "ipps") {
        assert!(ipps.is_ok());
    } else {
        let e = ipps.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("feature `ipps`"), "{e}");
    }
}

mod peer_ipp_pixels {
    use buergerkoffer::scan::{Page, PageData};

    pub struct Pixels(pub Vec<u8>);

    pub fn of(page: &Page) -> Pixels {
        match &page.data {
            PageData::Raw { pixels, .. } => Pixels(pixels.to_vec()),
            _ => panic!("raw page expected"),
        }
    }
}

#[cfg(feature = "ipps")]
#[tokio::test(flavor = "multi_thread")]
async fn ipps_with_the_printers_certificate() {
    let peer = Peer::start("application/pdf", false);
    // ippeveprinter serves TLS on the same port, with a self-signed certificate for the name
    // given with -n (made on the first TLS connection).
    let uri = format!("ipps://localhost:{}/ipp/print", peer.port);
    let e = IppPrinter::connect(&uri, T).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("certificate is not trusted"), "{e}");

    let cert = std::fs::read(peer.dir.path().join("keys/localhost.crt"))
        .expect("ippeveprinter wrote its certificate");
    let printer = IppPrinter::open(&uri)
        .unwrap()
        .with_tls_ca(cert)
        .connected()
        .await
        .unwrap();
    assert_eq!(printer.status().await.unwrap().state, PrinterState::Idle);
    let pdf = pdf_bytes(&noise_page(300, 300, PixelFormat::Rgb8, 72));
    let job = printer
        .print(Document::pdf(pdf.clone()), &PrintOptions::new())
        .await
        .unwrap();
    completed(&printer, job).await;
    assert!(
        peer.job_file(job.0).1 == pdf,
        "the PDF sent over TLS differs"
    );

    let insecure = IppPrinter::open(&uri).unwrap().with_insecure_tls(true);
    assert_eq!(insecure.status().await.unwrap().state, PrinterState::Idle);
}
