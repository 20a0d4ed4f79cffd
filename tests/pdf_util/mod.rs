//! Helpers for tests that check PDFs with qpdf and poppler-utils. A missing tool FAILS the
//! test with the Debian packages to install; nothing is skipped.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

const INSTALL: &str = "install qpdf poppler-utils (apt-get install qpdf poppler-utils)";

/// Runs `tool args...`, failing the test with install advice when the tool is missing.
pub fn run(tool: &str, args: &[&str]) -> Output {
    match Command::new(tool).args(args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{tool}` not found: {INSTALL}")
        }
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `qpdf --check` must pass (exit 0, no warnings).
pub fn qpdf_check(pdf: &Path) {
    let o = run("qpdf", &["--check", s(pdf)]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(0),
        "qpdf --check failed ({:?}):\n{out}\n{err}",
        o.status
    );
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

/// One row of `pdfimages -list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub page: u32,
    pub width: u32,
    pub height: u32,
    pub color: String,
    pub bpc: u32,
    pub enc: String,
}

/// Parses `pdfimages -list`.
pub fn pdfimages_list(pdf: &Path) -> Vec<ImageRow> {
    let o = run("pdfimages", &["-list", s(pdf)]);
    assert!(o.status.success(), "pdfimages -list failed: {:?}", o);
    let text = String::from_utf8_lossy(&o.stdout);
    text.lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
            ImageRow {
                page: f[0].parse().unwrap(),
                width: f[3].parse().unwrap(),
                height: f[4].parse().unwrap(),
                color: f[5].to_owned(),
                bpc: f[7].parse().unwrap(),
                enc: f[8].to_owned(),
            }
        })
        .collect()
}

/// `pdfinfo` output as text.
pub fn pdfinfo(pdf: &Path, extra: &[&str]) -> String {
    let mut args = extra.to_vec();
    args.push(s(pdf));
    let o = run("pdfinfo", &args);
    assert!(o.status.success(), "pdfinfo failed: {:?}", o);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Number of pages according to pdfinfo.
pub fn page_count(pdf: &Path) -> u32 {
    pdfinfo(pdf, &[])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages: line")
        .trim()
        .parse()
        .unwrap()
}

/// Renders page `page` (1-based) as 8-bit gray at `dpi` with pdftoppm; returns
/// (width, height, pixels).
pub fn render_gray(pdf: &Path, page: u32, dpi: u32) -> (usize, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("r");
    let p = page.to_string();
    let r = dpi.to_string();
    let o = run(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            &r,
            "-f",
            &p,
            "-l",
            &p,
            "-singlefile",
            s(pdf),
            s(&base),
        ],
    );
    assert!(o.status.success(), "pdftoppm failed: {:?}", o);
    let pgm = std::fs::read(dir.path().join("r.pgm")).unwrap();
    parse_pgm(&pgm)
}

fn parse_pgm(b: &[u8]) -> (usize, usize, Vec<u8>) {
    // "P5\n<w> <h>\n255\n<data>"
    let mut fields = Vec::new();
    let mut i = 2;
    while fields.len() < 3 {
        while b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !b[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(
            std::str::from_utf8(&b[start..i])
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
    }
    assert_eq!(&b[..2], b"P5");
    let data = b[i + 1..].to_vec();
    assert_eq!(data.len(), fields[0] * fields[1]);
    (fields[0], fields[1], data)
}
