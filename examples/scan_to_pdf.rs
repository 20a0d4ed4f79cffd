//! The main job: scan a batch to one PDF.
//!
//! ```text
//! cargo run --release --example scan_to_pdf -- --output FILE [--pages N] [--input-dir DIR]
//!     [--device ID] [--resolution DPI] [--mode color|gray|lineart]
//!     [--depth 1|8|16] [--paper a4|a5|letter|max] [--area WxH+X+Y]
//!     [--source flatbed|adf|duplex] [--encoding jpeg|flate|g4|auto] [--quality Q] [--pdfa]
//!     [--threads N] [--jpeg-encoder auto|rust|turbo] [--drop-blank] [--ocr LANGS]
//!     [--option NAME=VALUE ...]
//! ```
//!
//! Without `--device` it scans N pages from the mock scanner (`mock:scanner`, feeder);
//! `--input-dir` replays a folder of PNM/JPEG files in name order; `--device` opens any
//! discovered device (`sane:test` with the `sane` feature, `mock:scanner`, ...). Prints a
//! progress bar, then pages, blank pages dropped, the JPEG encoder that ran (libjpeg-turbo when
//! `libturbojpeg.so.0` is installed, the pure-Rust encoder otherwise), seconds, pages/s and
//! the output size. `--ocr deu+eng` (build with `--features ocr`) gives each page an
//! invisible text layer from Tesseract. Errors print their chain and exit with status 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use buergerkoffer::mock::{FolderScanner, MockKit, MockScanner};
use buergerkoffer::pdf::{Encoding, JpegEncoder, Metadata};
use buergerkoffer::pipeline::{scan_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{ColorMode, Paper, ScanArea, ScanRequest, Source};
use buergerkoffer::{DeviceId, Kit, Scanner};
use clap::Parser;

/// Page buffers are tens of megabytes each and are allocated and freed on different threads.
/// glibc's malloc raises its mmap threshold after the first such buffer is freed and from
/// then on keeps freed page buffers in its per-thread arenas: peak memory then creeps up with
/// the number of pages (about 120 MB for 10 A4 colour pages, 300 MB for 100). mimalloc gives
/// large blocks back, so memory stays flat in the number of pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Scan a batch of pages to one PDF.
///
/// Scans from the mock scanner (default: 10 pages from its feeder), a folder of PNM/JPEG files
/// (`--input-dir`) or any scanner of the kit (`--device sane:test`), encodes the pages on all
/// cores and writes them in scan order to one PDF (PDF/A-2b with `--pdfa`). The file appears
/// only when complete; if the scanner fails mid-batch, the pages scanned so far are saved and
/// the error says how many. Prints pages, seconds, pages/s and the output size.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// The PDF to write (written under a temporary name, renamed when complete).
    #[arg(long)]
    output: PathBuf,
    /// Number of pages (the mock scanner's feeder holds this many; a limit otherwise).
    #[arg(long)]
    pages: Option<u32>,
    /// Replay the PNM/JPEG files of this folder, in name order.
    #[arg(long, conflicts_with = "device")]
    input_dir: Option<PathBuf>,
    /// Scanner to use, e.g. `sane:test` or `mock:scanner`.
    #[arg(long)]
    device: Option<String>,
    /// Resolution in dpi.
    #[arg(long, default_value_t = 300)]
    resolution: u32,
    /// Colour mode: color, gray or lineart.
    #[arg(long, default_value = "color")]
    mode: ColorMode,
    /// Bits per sample (1 for lineart, 8 or 16 for gray and colour; default: the mode's).
    #[arg(long)]
    depth: Option<u8>,
    /// Paper size to scan from the top-left corner: a4, a5, letter, or max (the whole area of
    /// the source, as `scanimage` scans by default). Ignored when --area is given.
    #[arg(long, default_value = "a4")]
    paper: Paper,
    /// Scan area in mm as WIDTHxHEIGHT+LEFT+TOP, e.g. `100x50+10+20` (like scanimage's
    /// `-x 100 -y 50 -l 10 -t 20`).
    #[arg(long)]
    area: Option<ScanArea>,
    /// Paper source: flatbed, adf or duplex (default: adf for the mock scanner and folders,
    /// flatbed for devices).
    #[arg(long)]
    source: Option<Source>,
    /// Page encoding: jpeg, flate, g4 or auto.
    #[arg(long, default_value = "auto")]
    encoding: Encoding,
    /// JPEG quality 1..=100.
    #[arg(long, default_value_t = 85)]
    quality: u8,
    /// Write PDF/A-2b.
    #[arg(long)]
    pdfa: bool,
    /// Encoder threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// JPEG encoder: auto (libjpeg-turbo when installed), rust, or turbo.
    #[arg(long, default_value = "auto")]
    jpeg_encoder: JpegEncoder,
    /// Drop blank pages (e.g. the empty back sides of a duplex batch).
    #[arg(long)]
    drop_blank: bool,
    /// OCR the pages with Tesseract in these languages (e.g. `deu` or `deu+eng`) and write a
    /// searchable text layer (needs `--features ocr`).
    #[arg(long, value_name = "LANGS")]
    ocr: Option<String>,
    /// Backend-specific option, e.g. `--option brightness=10` (repeatable).
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
}

fn main() -> ExitCode {
    // Tesseract (--ocr) runs one page per encoder thread; OpenMP threads inside each page
    // would only compete for the same cores. Set before any thread starts.
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&*e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut mock = MockKit::new();
    let (id, default_source) = if let Some(dir) = &args.input_dir {
        mock = mock.with_folder_scanner(FolderScanner::new("folder", dir));
        (DeviceId::mock("folder"), Source::Adf)
    } else if let Some(dev) = &args.device {
        (dev.parse::<DeviceId>()?, Source::Flatbed)
    } else {
        let pages = args.pages.unwrap_or(10);
        let sheets = match args.source {
            Some(Source::AdfDuplex) => pages.div_ceil(2),
            _ => pages,
        };
        mock = mock.with_scanner(MockScanner::new("scanner").with_adf_pages(sheets));
        (DeviceId::mock("scanner"), Source::Adf)
    };
    let kit = if args.device.is_some() {
        // Real backends (as enabled by features) plus the standard mock kit.
        Kit::with_enabled_backends().with_provider(MockKit::standard())
    } else {
        Kit::new().with_provider(mock)
    };
    let scanner: Box<dyn Scanner> = kit.open_scanner(&id).await?;

    let mut request = ScanRequest::new()
        .resolution(args.resolution)
        .mode(args.mode)
        .source(args.source.unwrap_or(default_source));
    if let Some(n) = args.pages {
        request = request.max_pages(n);
    }
    if let Some(d) = args.depth {
        request = request.depth(d);
    }
    if let Some(area) = args.area.or(args.paper.area()) {
        request = request.area(area);
    }
    for o in &args.options {
        let Some((name, value)) = o.split_once('=') else {
            return Err(format!("--option `{o}`: expected NAME=VALUE").into());
        };
        request = request.option(name, value);
    }

    let bar = match args.pages {
        Some(n) => indicatif::ProgressBar::new(u64::from(n)),
        None => indicatif::ProgressBar::no_length(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} pages {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let bar = Arc::new(bar);
    let b2 = bar.clone();
    let title = args
        .output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scan".to_owned());
    let mut opts = ScanToPdfOptions::new()
        .encoding(args.encoding)
        .quality(args.quality)
        .pdfa(args.pdfa)
        .jpeg_encoder(args.jpeg_encoder)
        .drop_blank(args.drop_blank)
        .metadata(Metadata::titled(title).creator("buergerkoffer scan_to_pdf example"))
        .on_progress(move |p| {
            b2.set_position(p.pages_written as u64);
            b2.set_message(format!("{:.1} MB", p.bytes_written as f64 / 1e6));
        });
    if let Some(t) = args.threads {
        opts = opts.threads(t);
    }
    if let Some(langs) = &args.ocr {
        #[cfg(feature = "ocr")]
        {
            opts = opts.ocr(buergerkoffer::ocr::OcrOptions::new(langs.as_str()));
        }
        #[cfg(not(feature = "ocr"))]
        return Err(format!(
            "--ocr {langs}: this build has no OCR; build the example with --features ocr"
        )
        .into());
    }

    let result = scan_to_pdf(scanner.as_ref(), &request, &args.output, &opts).await;
    bar.finish_and_clear();
    let done = result?;
    let secs = done.duration.as_secs_f64();
    println!("device:   {id}");
    println!("pages:    {}", done.pages);
    println!("blank:    {} dropped", done.blank_pages_dropped);
    match done.jpeg_encoder {
        Some(e) => println!("encoder:  {e}"),
        None => println!("encoder:  none (no page JPEG-encoded here)"),
    }
    if args.ocr.is_some() {
        println!(
            "ocr:      {} pages with text, {} failed",
            done.pages_with_text,
            done.ocr_failures.len()
        );
        for f in &done.ocr_failures {
            println!(
                "          page {}: {} (kept without text)",
                f.page, f.reason
            );
        }
    }
    println!("seconds:  {secs:.3}");
    println!(
        "tail:     {:.3} s from the last page leaving the scanner to the durable PDF",
        done.after_last_page.as_secs_f64()
    );
    println!("pages/s:  {:.2}", done.pages_per_second());
    println!(
        "size:     {} bytes ({:.2} MB, input {:.1} MB, {:.1} MB/s in)",
        done.bytes,
        done.bytes as f64 / 1e6,
        done.input_bytes as f64 / 1e6,
        done.input_bytes as f64 / 1e6 / secs.max(1e-9)
    );
    println!("output:   {}", done.path.display());
    Ok(())
}
