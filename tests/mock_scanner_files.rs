//! FolderScanner through `dyn Scanner` (name order, corrupt and missing files), and the PNM /
//! JPEG parsers on valid, truncated and corrupted input.

use std::path::PathBuf;

use buergerkoffer::mock::{render_page, FolderScanner};
use buergerkoffer::scan::{jpeg, pnm, PageData, PixelFormat, ScanRequest};
use buergerkoffer::{ErrorKind, Scanner};

// ---------------------------------------------------------------- FolderScanner

/// A temporary folder removed on drop (also when the test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "buergerkoffer-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn folder_scanner_replays_pnm_and_jpeg_in_name_order() {
    let dir = TempDir::new("folder");
    let gray = render_page(PixelFormat::Gray8, 40, 30, 50);
    std::fs::write(
        dir.0.join("01.pgm"),
        pnm::encode(PixelFormat::Gray8, 40, 30, &gray).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.0.join("02.JPG"), COLOR_JPEG).unwrap();
    std::fs::write(dir.0.join("03.txt"), b"not an image").unwrap();
    let bw = render_page(PixelFormat::Bw1, 17, 5, 50);
    std::fs::write(
        dir.0.join("04.pbm"),
        pnm::encode(PixelFormat::Bw1, 17, 5, &bw).unwrap(),
    )
    .unwrap();

    let scanner: Box<dyn Scanner> = Box::new(FolderScanner::new("folder", &dir.0));
    let req = ScanRequest::new().resolution(150);
    let pages = scanner
        .scan(&req)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        (pages[0].width, pages[0].height, pages[0].dpi),
        (40, 30, (150, 150))
    );
    assert_eq!(
        pages[0].data,
        PageData::Raw {
            format: PixelFormat::Gray8,
            pixels: gray
        }
    );
    assert_eq!(
        (pages[1].width, pages[1].height, pages[1].dpi),
        (16, 8, (200, 200))
    );
    match &pages[1].data {
        PageData::Jpeg { channels, data } => {
            assert_eq!(*channels, 3);
            assert_eq!(data.as_ref(), COLOR_JPEG, "JPEG passes through untouched");
        }
        other => panic!("JPEG page expected, got {other:?}"),
    }
    assert_eq!(pages[2].index, 2);
    assert_eq!(
        pages[2].data,
        PageData::Raw {
            format: PixelFormat::Bw1,
            pixels: bw
        }
    );
    let two = scanner
        .scan(&req.clone().max_pages(2))
        .await
        .unwrap()
        .collect_all()
        .await;
    assert_eq!(two.unwrap().len(), 2);
}

#[tokio::test]
async fn folder_scanner_names_the_corrupt_file_and_keeps_earlier_pages() {
    let dir = TempDir::new("corrupt");
    let px = render_page(PixelFormat::Rgb8, 10, 10, 50);
    let good = pnm::encode(PixelFormat::Rgb8, 10, 10, &px).unwrap();
    std::fs::write(dir.0.join("a.ppm"), &good).unwrap();
    std::fs::write(dir.0.join("b.ppm"), &good[..good.len() - 7]).unwrap();
    std::fs::write(dir.0.join("c.ppm"), &good).unwrap();
    let scanner: Box<dyn Scanner> = Box::new(FolderScanner::new("folder", &dir.0));
    let mut pages = scanner.scan(&ScanRequest::new()).await.unwrap();
    assert!(pages.next_page().await.unwrap().is_ok());
    let e = pages.next_page().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert_eq!(e.pages(), Some(1));
    assert!(e.to_string().contains("b.ppm"), "{e}");
    assert!(pages.next_page().await.is_none());

    std::fs::write(dir.0.join("b.ppm"), b"\xff\xd8garbage").unwrap();
    std::fs::rename(dir.0.join("b.ppm"), dir.0.join("b.jpeg")).unwrap();
    let e = scanner
        .scan(&ScanRequest::new())
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("b.jpeg"), "{e}");
}

#[tokio::test]
async fn folder_scanner_empty_missing_and_gone() {
    let dir = TempDir::new("empty");
    std::fs::write(dir.0.join("notes.txt"), b"x").unwrap();
    let fs = FolderScanner::new("folder", &dir.0);
    let scanner: Box<dyn Scanner> = Box::new(fs.clone());
    let e = scanner
        .scan(&ScanRequest::new())
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoDocuments);
    let missing: Box<dyn Scanner> = Box::new(FolderScanner::new("m", dir.0.join("nope")));
    let e = missing.scan(&ScanRequest::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    fs.set_gone(true);
    assert_eq!(
        scanner.scan(&ScanRequest::new()).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
}

// ---------------------------------------------------------------- PNM

#[test]
fn pnm_round_trips_every_format() {
    for f in [
        PixelFormat::Bw1,
        PixelFormat::Gray8,
        PixelFormat::Gray16,
        PixelFormat::Rgb8,
        PixelFormat::Rgb16,
    ] {
        let (w, h) = (37, 11);
        let px = render_page(f, w, h, 300);
        let file = pnm::encode(f, w, h, &px).unwrap();
        let img = pnm::decode(&file, "x").unwrap();
        assert_eq!((img.width, img.height, img.format), (w, h, f));
        assert_eq!(img.pixels, px);
        // The owned variant shares the file's buffer and decodes the same image.
        let shared = bytes::Bytes::from(file.clone());
        let owned = pnm::decode_bytes(shared.clone(), "x").unwrap();
        assert_eq!((owned.width, owned.height, owned.format), (w, h, f));
        assert_eq!(owned.pixels, px);
        let base = shared.as_ptr() as usize;
        let at = owned.pixels.as_ptr() as usize;
        assert!(at > base && at < base + shared.len(), "pixels were copied");
        let wide = matches!(f, PixelFormat::Gray16 | PixelFormat::Rgb16);
        assert_eq!(
            img.maxval,
            if f == PixelFormat::Bw1 {
                1
            } else if wide {
                65535
            } else {
                255
            }
        );
        // Every truncation is a typed error, never a panic.
        for cut in 0..file.len() {
            let e = pnm::decode(&file[..cut], "cut.pnm").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "cut at {cut}");
            assert!(e.to_string().contains("cut.pnm"));
        }
    }
    assert_eq!(
        pnm::encode(PixelFormat::Rgb8, 2, 2, &[0; 11])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn pnm_rejects_malformed_headers() {
    let cases: &[(&[u8], ErrorKind)] = &[
        (b"", ErrorKind::Protocol),
        (b"GIF89a", ErrorKind::Protocol),
        (b"P2\n1 1\n255\n0\n", ErrorKind::Unsupported),
        (b"P7\nWIDTH 1\n", ErrorKind::Unsupported),
        (b"P5\n0 1\n255\n", ErrorKind::Protocol),
        (b"P5\n1 1\n0\n\x00", ErrorKind::Protocol),
        (b"P5\n1 1\n65536\n\x00\x00", ErrorKind::Protocol),
        (b"P5\n1 1\n99999999999999\n", ErrorKind::Protocol),
        (b"P5\n-1 1\n255\n\x00", ErrorKind::Protocol),
        (b"P5\n1 1\n255x\x00", ErrorKind::Protocol),
        (b"P6\n4000000 4000000\n255\n", ErrorKind::Protocol),
        (b"P4\n1048576 1048576\n\x00", ErrorKind::Protocol),
        (b"P5 # only a comment", ErrorKind::Protocol),
    ];
    for (data, kind) in cases {
        let e = pnm::decode(data, "bad.pnm").unwrap_err();
        assert_eq!(e.kind(), *kind, "{:?}", String::from_utf8_lossy(data));
    }
}

// ---------------------------------------------------------------- JPEG

#[test]
fn jpeg_header_of_real_files() {
    let c = jpeg::read_header(COLOR_JPEG, "c.jpg").unwrap();
    assert_eq!((c.width, c.height, c.components, c.bits), (16, 8, 3, 8));
    assert!(!c.progressive);
    assert_eq!(c.density_dpi, Some((200, 200)));
    let g = jpeg::read_header(GRAY_JPEG, "g.jpg").unwrap();
    assert_eq!((g.width, g.height, g.components), (8, 8, 1));
    assert!(g.progressive);
    assert_eq!(g.density_dpi, Some((102, 102)), "40 dots/cm is 101.6 dpi");
}

/// Offset just past the frame header (SOF0 or SOF2) of a file.
fn sof_end(data: &[u8]) -> usize {
    let i = data
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .unwrap();
    i + 2 + usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]))
}

#[test]
fn jpeg_truncations_and_corruptions_never_panic() {
    for file in [COLOR_JPEG, GRAY_JPEG] {
        let end = sof_end(file);
        for cut in 0..file.len() {
            let r = jpeg::read_header(&file[..cut], "t.jpg");
            if cut < end {
                let e = r.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Protocol, "cut at {cut}");
                assert!(e.to_string().contains("t.jpg"));
            } else {
                assert!(r.is_ok(), "cut at {cut} keeps the whole header");
            }
        }
        for i in 0..end {
            for v in [0x00, 0xFF, 0x01, 0xC0] {
                let mut d = file.to_vec();
                d[i] = v;
                let _ = jpeg::read_header(&d, "flip.jpg");
            }
        }
    }
    for bad in [
        &b""[..],
        b"\xff",
        b"\xff\xd8",
        b"\xff\xd8\xff\xd9",
        b"\xff\xd8\xff\xda\x00\x02",
        b"\xff\xd8\xff\xe0\x00\x01",
    ] {
        assert_eq!(
            jpeg::read_header(bad, "b").unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}

/// 16x8 colour baseline JPEG, JFIF 200 dpi (ImageMagick).
const COLOR_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x01, 0x00, 0xC8,
    0x00, 0xC8, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x10, 0x0B, 0x0C, 0x0E, 0x0C, 0x0A, 0x10,
    0x0E, 0x0D, 0x0E, 0x12, 0x11, 0x10, 0x13, 0x18, 0x28, 0x1A, 0x18, 0x16, 0x16, 0x18, 0x31, 0x23,
    0x25, 0x1D, 0x28, 0x3A, 0x33, 0x3D, 0x3C, 0x39, 0x33, 0x38, 0x37, 0x40, 0x48, 0x5C, 0x4E, 0x40,
    0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6D, 0x51, 0x57, 0x5F, 0x62, 0x67, 0x68, 0x67, 0x3E, 0x4D,
    0x71, 0x79, 0x70, 0x64, 0x78, 0x5C, 0x65, 0x67, 0x63, 0xFF, 0xDB, 0x00, 0x43, 0x01, 0x11, 0x12,
    0x12, 0x18, 0x15, 0x18, 0x2F, 0x1A, 0x1A, 0x2F, 0x63, 0x42, 0x38, 0x42, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0xFF, 0xC0,
    0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xFF, 0xC4, 0x00, 0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0xFF, 0xC4, 0x00, 0x16, 0x10, 0x01, 0x01, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x61,
    0xFF, 0xC4, 0x00, 0x15, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x06, 0xFF, 0xC4, 0x00, 0x18, 0x11, 0x00, 0x03, 0x01, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x15, 0x51,
    0x52, 0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00, 0x99,
    0xAB, 0x4A, 0xB4, 0x14, 0xB2, 0xD6, 0xE4, 0x55, 0x16, 0x34, 0xFF, 0xD9,
];

/// 8x8 gray progressive JPEG, JFIF 40 dots/cm (ImageMagick).
const GRAY_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x02, 0x00, 0x28,
    0x00, 0x28, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x02, 0x02, 0x02, 0x03,
    0x02, 0x02, 0x02, 0x03, 0x03, 0x03, 0x03, 0x04, 0x06, 0x04, 0x04, 0x04, 0x04, 0x04, 0x08, 0x06,
    0x06, 0x05, 0x06, 0x09, 0x08, 0x0A, 0x0A, 0x09, 0x08, 0x09, 0x09, 0x0A, 0x0C, 0x0F, 0x0C, 0x0A,
    0x0B, 0x0E, 0x0B, 0x09, 0x09, 0x0D, 0x11, 0x0D, 0x0E, 0x0F, 0x10, 0x10, 0x11, 0x10, 0x0A, 0x0C,
    0x12, 0x13, 0x12, 0x10, 0x13, 0x0F, 0x10, 0x10, 0x10, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x08,
    0x00, 0x08, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xDA, 0x00, 0x08,
    0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x3F, 0xFF, 0xC4, 0x00, 0x15, 0x10, 0x01, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0xFF, 0xDA,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x05, 0x02, 0xA9, 0xBF, 0xFF, 0xC4, 0x00, 0x16, 0x10, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x34, 0xA1, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x06, 0x3F, 0x02, 0x62, 0x9F, 0xFF, 0xC4,
    0x00, 0x14, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3F, 0x21, 0x2F, 0xFF,
    0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x10, 0xFF, 0x00, 0xFF, 0xC4, 0x00, 0x14, 0x10,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3F, 0x10, 0x3F, 0xFF, 0xD9,
];
