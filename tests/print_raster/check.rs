//! Independent readers for what a printer received: PWG raster and URF go through
//! cups-filters' `rastertopdf` (libcups' raster reader, not ours) and poppler's `pdfinfo` /
//! `pdfimages -list`; JPEG through ImageMagick's `identify`. And poppler's `pdftoppm` as the
//! reference renderer.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

pub const PACKAGES: &str = "cups-filters poppler-utils imagemagick";

fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: {e}; the raster checks need the Debian packages {PACKAGES}")
    });
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One page as an independent reader sees it.
#[derive(Debug, PartialEq)]
pub struct SeenPage {
    /// Page size in points, rounded.
    pub size_pt: (u32, u32),
    /// Image pixels.
    pub pixels: (u32, u32),
    /// Image resolution, dpi.
    pub ppi: (u32, u32),
    /// `gray` or `rgb`.
    pub color: String,
}

/// Reads a PWG raster or URF file with `rastertopdf`, then `pdfinfo` and `pdfimages`.
pub fn raster_pages(file: &Path, mime: &str) -> Vec<SeenPage> {
    let filter = Path::new("/usr/lib/cups/filter/rastertopdf");
    assert!(
        filter.is_file(),
        "{} missing: install the Debian packages {PACKAGES}",
        filter.display()
    );
    let pdf = run(
        Command::new(filter)
            .args(["1", "test", "check", "1", ""])
            .arg(file)
            .env("CONTENT_TYPE", mime)
            .env("FINAL_CONTENT_TYPE", "application/pdf"),
        "rastertopdf",
    );
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("out.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let info = String::from_utf8_lossy(&run(
        Command::new("pdfinfo")
            .args(["-f", "1", "-l", "9999"])
            .arg(&pdf_path),
        "pdfinfo",
    ))
    .into_owned();
    let sizes: Vec<(u32, u32)> = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains(" size:"))
        .map(|l| {
            let v: Vec<f64> = l
                .split_once("size:")
                .unwrap()
                .1
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (v[0].round() as u32, v[1].round() as u32)
        })
        .collect();
    let list = String::from_utf8_lossy(&run(
        Command::new("pdfimages").arg("-list").arg(&pdf_path),
        "pdfimages -list",
    ))
    .into_owned();
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
    let images: Vec<Vec<String>> = list
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        sizes.len(),
        images.len(),
        "one image per page:\n{info}\n{list}"
    );
    sizes
        .into_iter()
        .zip(images)
        .map(|(size_pt, im)| SeenPage {
            size_pt,
            pixels: (im[3].parse().unwrap(), im[4].parse().unwrap()),
            ppi: (im[12].parse().unwrap(), im[13].parse().unwrap()),
            color: im[5].clone(),
        })
        .collect()
}

/// A JPEG's (width, height, x dpi, y dpi, colourspace) by ImageMagick's `identify`.
pub fn jpeg_info(file: &Path) -> (u32, u32, f64, f64, String) {
    let out = String::from_utf8_lossy(&run(
        Command::new("identify")
            .args([
                "-units",
                "PixelsPerInch",
                "-format",
                "%w %h %x %y %[colorspace]",
            ])
            .arg(file),
        "identify",
    ))
    .into_owned();
    let v: Vec<&str> = out.split_whitespace().collect();
    (
        v[0].parse().unwrap(),
        v[1].parse().unwrap(),
        v[2].parse().unwrap(),
        v[3].parse().unwrap(),
        v[4].to_owned(),
    )
}

/// Pages `first..=last` of `pdf` rendered gray by `pdftoppm -r DPI`: (width, height, pixels).
pub fn pdftoppm_gray(pdf: &Path, dpi: u32, first: usize, last: usize) -> Vec<(u32, u32, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    run(
        Command::new("pdftoppm")
            .args(["-gray", "-r", &dpi.to_string()])
            .args(["-f", &first.to_string(), "-l", &last.to_string()])
            .arg(pdf)
            .arg(dir.path().join("p")),
        "pdftoppm",
    );
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| read_pgm(&std::fs::read(f).unwrap()))
        .collect()
}

fn read_pgm(d: &[u8]) -> (u32, u32, Vec<u8>) {
    // P5\n<w> <h>\n255\n<data>
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while d[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while !d[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&d[s..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, d[i + 1..].to_vec())
}

/// Mean absolute difference of two gray images over their common area.
pub fn mean_abs_diff(a: (u32, u32, &[u8]), b: (u32, u32, &[u8])) -> f64 {
    let (w, h) = (a.0.min(b.0) as usize, a.1.min(b.1) as usize);
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w {
            let pa = a.2[y * a.0 as usize + x];
            let pb = b.2[y * b.0 as usize + x];
            sum += u64::from(pa.abs_diff(pb));
        }
    }
    sum as f64 / (w * h) as f64
}

/// The share of pixels darker than 128 (ink coverage), to see that text is there.
pub fn ink(px: &[u8]) -> f64 {
    px.iter().filter(|&&p| p < 128).count() as f64 / px.len() as f64
}
