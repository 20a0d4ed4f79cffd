//! The eSCL scanner against the real eSCL client sane-airscan (Debian `sane-airscan`, driven
//! by `scanimage` from `sane-utils`), pointed at the in-process service by a static entry in
//! a private `airscan.conf` (`SANE_CONFIG_DIR`, DNS-SD discovery off): flatbed colour, ADF
//! gray and ADF duplex pages arrive, each identical in size to the kit (mock) scanner's own
//! page for the same request. Plus JPEG and PNG straight from `NextDocument`. A missing peer
//! fails the test naming the Debian package.
#![cfg(feature = "service")]

mod service_support;

use std::path::{Path, PathBuf};

use buergerkoffer::mock::MockKit;
use buergerkoffer::scan::{ColorMode, ScanArea, ScanRequest, Source};
use buergerkoffer::{DeviceId, Kit};
use service_support::{http, start_with, Running};

fn scanimage() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("scanimage"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`scanimage` not found: install the Debian package sane-utils (apt-get install sane-utils sane-airscan)")
        })
}

fn need_airscan() {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("sane/libsane-airscan.so.1"))
        .chain([PathBuf::from("/usr/lib/sane/libsane-airscan.so.1")])
        .any(|p| p.is_file());
    assert!(
        found,
        "the SANE airscan backend (libsane-airscan.so.1) is missing: install the Debian package sane-airscan (apt-get install sane-airscan)"
    );
}

/// A private SANE configuration with only the airscan backend and one static eSCL device.
fn sane_config(dir: &Path, port: u16) -> PathBuf {
    let conf = dir.join("sane.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("dll.conf"), "airscan\n").unwrap();
    std::fs::write(
        conf.join("airscan.conf"),
        format!(
            "[devices]\n\"Kit\" = http://127.0.0.1:{port}/eSCL, eSCL\n\n[options]\ndiscovery = disable\n"
        ),
    )
    .unwrap();
    conf
}

/// Width, height and channels of a PNM file (P5/P6), checking the pixel bytes.
fn pnm_size(path: &Path) -> (u32, u32, u32) {
    let data = std::fs::read(path).unwrap();
    let mut tokens = Vec::new();
    let mut i = 0;
    while tokens.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data[i] == b'#' {
            while data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        tokens.push(String::from_utf8(data[start..i].to_vec()).unwrap());
    }
    let channels = match tokens[0].as_str() {
        "P5" => 1,
        "P6" => 3,
        other => panic!("not a PNM: {other}"),
    };
    let w: u32 = tokens[1].parse().unwrap();
    let h: u32 = tokens[2].parse().unwrap();
    assert_eq!(tokens[3], "255");
    assert_eq!(
        data.len() - i - 1,
        (w * h * channels) as usize,
        "pixel bytes of {}",
        path.display()
    );
    (w, h, channels)
}

/// The kit scanner's own page size for a request of its whole area as eSCL can express it:
/// the mock's 216 x 356 mm rounded down to a multiple of 4/300 inch (2548 x 4204 units),
/// which the service offers as the largest area and sane-airscan asks for by default.
async fn kit_page(kit: &Kit, req: ScanRequest) -> (u32, u32) {
    let unit = |mm: f64| f64::from((mm / 25.4 * 300.0).floor() as u32 & !3) / 300.0 * 25.4;
    let req = req.area(ScanArea::whole((unit(216.0), unit(356.0))));
    let s = kit.open_scanner(&DeviceId::mock("scanner")).await.unwrap();
    let mut pages = s.scan(&req.max_pages(1)).await.unwrap();
    let p = pages.next_page().await.unwrap().unwrap();
    (p.width, p.height)
}

async fn run_scanimage(conf: &Path, out: &Path, args: &[&str]) -> String {
    let o = tokio::process::Command::new(scanimage())
        .env("SANE_CONFIG_DIR", conf)
        .current_dir(out)
        .args(["-d", "airscan:e0:Kit", "--format=pnm"])
        .args(args)
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "scanimage {args:?} failed: {err}");
    err
}

async fn escl_service() -> (Running, MockKit, Kit) {
    let mock = MockKit::standard();
    let kit = Kit::new().with_provider(mock.clone());
    let r = start_with(kit.clone(), |c| c.escl(true)).await;
    (r, mock, kit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sane_airscan_scans_flatbed_adf_and_duplex_pages_of_the_kits_size() {
    let scan = scanimage();
    need_airscan();
    let (r, mock, kit) = escl_service().await;
    let tmp = tempfile::tempdir().unwrap();
    let conf = sane_config(tmp.path(), r.port);

    let list = tokio::process::Command::new(&scan)
        .env("SANE_CONFIG_DIR", &conf)
        .arg("-L")
        .output()
        .await
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.contains("airscan:e0:Kit"), "scanimage -L: {list}");

    // Flatbed, colour, two resolutions.
    for dpi in [75u32, 100, 150, 200, 300] {
        let out = tmp.path().join(format!("flatbed{dpi}"));
        std::fs::create_dir_all(&out).unwrap();
        let file = out.join("page.pnm");
        run_scanimage(
            &conf,
            &out,
            &[
                "--source",
                "Flatbed",
                "--mode",
                "Color",
                "--resolution",
                &dpi.to_string(),
                "-o",
                file.to_str().unwrap(),
            ],
        )
        .await;
        let (w, h, c) = pnm_size(&file);
        assert_eq!(c, 3);
        let want = kit_page(
            &kit,
            ScanRequest::new()
                .resolution(dpi)
                .mode(ColorMode::Color)
                .depth(8)
                .source(Source::Flatbed),
        )
        .await;
        assert_eq!((w, h), want, "flatbed {dpi} dpi");
    }

    // Feeder, gray: every sheet of the mock feeder (10), then a clean end of the batch.
    for (source, sheets) in [("ADF", 10usize), ("ADF Duplex", 20)] {
        let out = tmp.path().join(source.replace(' ', "_"));
        std::fs::create_dir_all(&out).unwrap();
        let err = run_scanimage(
            &conf,
            &out,
            &[
                "--source",
                source,
                "--mode",
                "Gray",
                "--resolution",
                "75",
                "--batch=p%02d.pnm",
            ],
        )
        .await;
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        assert_eq!(files.len(), sheets, "{source}: {err}");
        assert!(err.contains(&format!("{sheets} pages scanned")), "{err}");
        let want = kit_page(
            &kit,
            ScanRequest::new()
                .resolution(75)
                .mode(ColorMode::Gray)
                .depth(8)
                .source(Source::Adf),
        )
        .await;
        for f in &files {
            let (w, h, c) = pnm_size(f);
            assert_eq!(c, 1);
            assert_eq!((w, h), want, "{}", f.display());
        }
    }
    let scanner = mock.scanner("scanner").unwrap();
    assert!(!scanner.is_busy(), "every eSCL job released the scanner");
    assert_eq!(scanner.jobs_failed(), 0);
}

fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h)
}

fn jpeg_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..2], &[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        let marker = b[i + 1];
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if (0xC0..=0xC2).contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]);
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]);
            return (u32::from(w), u32::from(h));
        }
        i += 2 + len;
    }
}

fn settings(format: &str, source: &str, w: u32, h: u32) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
<pwg:Version>2.0</pwg:Version><pwg:ScanRegions><pwg:ScanRegion>
<pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
<pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset><pwg:Width>{w}</pwg:Width><pwg:Height>{h}</pwg:Height>
</pwg:ScanRegion></pwg:ScanRegions><pwg:InputSource>{source}</pwg:InputSource>
<scan:ColorMode>RGB24</scan:ColorMode><pwg:DocumentFormat>{format}</pwg:DocumentFormat>
<scan:DocumentFormatExt>{format}</scan:DocumentFormatExt>
<scan:XResolution>100</scan:XResolution><scan:YResolution>100</scan:YResolution>
</scan:ScanSettings>"#
    )
}

#[tokio::test]
async fn escl_jobs_deliver_jpeg_and_png_and_can_be_deleted() {
    let (r, mock, _kit) = escl_service().await;
    let status = http(r.port, "GET", "/eSCL/ScannerStatus", &[], b"").await;
    assert!(status.text().contains("<pwg:State>Idle</pwg:State>"));
    for (format, source) in [("image/jpeg", "Platen"), ("image/png", "Feeder")] {
        // A region of 1 x 2 inches at 100 dpi: 100 x 200 pixels.
        let job = http(
            r.port,
            "POST",
            "/eSCL/ScanJobs",
            &[("Content-Type", "text/xml")],
            settings(format, source, 300, 600).as_bytes(),
        )
        .await;
        assert_eq!(job.status, 201, "{}", job.text());
        let loc = job.header("location").unwrap().to_owned();
        let path = loc
            .split_once("/eSCL/")
            .map(|(_, p)| format!("/eSCL/{p}"))
            .unwrap();
        let doc = http(r.port, "GET", &format!("{path}/NextDocument"), &[], b"").await;
        assert_eq!(doc.status, 200);
        assert_eq!(doc.header("content-type"), Some(format));
        let size = if format == "image/png" {
            png_size(&doc.body)
        } else {
            jpeg_size(&doc.body)
        };
        assert_eq!(size, (100, 200), "{format}");
        if source == "Platen" {
            let end = http(r.port, "GET", &format!("{path}/NextDocument"), &[], b"").await;
            assert_eq!(end.status, 404, "a flatbed job has one page");
        } else {
            // The feeder job is still running: a second job is busy until it is deleted.
            let busy = http(
                r.port,
                "POST",
                "/eSCL/ScanJobs",
                &[],
                settings(format, source, 300, 600).as_bytes(),
            )
            .await;
            assert_eq!(busy.status, 503);
            let s = http(r.port, "GET", "/eSCL/ScannerStatus", &[], b"").await;
            assert!(
                s.text().contains("<pwg:State>Processing</pwg:State>"),
                "{}",
                s.text()
            );
            let del = http(r.port, "DELETE", &path, &[], b"").await;
            assert_eq!(del.status, 200);
            let s = http(r.port, "GET", "/eSCL/ScannerStatus", &[], b"").await;
            assert!(s.text().contains("Canceled"), "{}", s.text());
        }
    }
    assert!(!mock.scanner("scanner").unwrap().is_busy());
    let bad = http(
        r.port,
        "POST",
        "/eSCL/ScanJobs",
        &[],
        b"<Width>x</Width><Height>1</Height>",
    )
    .await;
    assert_eq!(bad.status, 400);
    let lineart = settings("image/png", "Platen", 300, 300).replace("RGB24", "BlackAndWhite1");
    let refused = http(r.port, "POST", "/eSCL/ScanJobs", &[], lineart.as_bytes()).await;
    assert_eq!(refused.status, 409);
}

/// A client that walks away from a feeder job (no more `NextDocument`, no `DELETE`) does not
/// keep the kit's scanner busy: the job is cancelled after 15 s without a request.
#[tokio::test]
async fn an_abandoned_feeder_job_frees_the_scanner() {
    let (r, mock, _kit) = escl_service().await;
    let job = http(
        r.port,
        "POST",
        "/eSCL/ScanJobs",
        &[],
        settings("image/jpeg", "Feeder", 300, 300).as_bytes(),
    )
    .await;
    assert_eq!(job.status, 201);
    let loc = job.header("location").unwrap().to_owned();
    let path = loc
        .split_once("/eSCL/")
        .map(|(_, p)| format!("/eSCL/{p}"))
        .unwrap();
    let doc = http(r.port, "GET", &format!("{path}/NextDocument"), &[], b"").await;
    assert_eq!(doc.status, 200);
    let scanner = mock.scanner("scanner").unwrap();
    assert!(scanner.is_busy());
    let t0 = std::time::Instant::now();
    while scanner.is_busy() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(40),
            "the abandoned job still holds the scanner"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let s = http(r.port, "GET", "/eSCL/ScannerStatus", &[], b"").await;
    assert!(s.text().contains("JobCanceledBySystem"), "{}", s.text());
}
