//! The main job: scan a batch to one PDF.
//!
//! ```text
//! cargo run --release --example scan_to_pdf -- --output FILE [--pages N] [--input-dir DIR]
//!     [--device ID] [--resolution DPI] [--mode color|gray|lineart]
//!     [--source flatbed|adf|duplex] [--encoding jpeg|flate|g4|auto] [--quality Q] [--pdfa]
//!     [--threads N] [--option NAME=VALUE ...]
//! ```
//!
//! Without `--device` it scans N pages from the mock scanner (`mock:scanner`, feeder);
//! `--input-dir` replays a folder of PNM/JPEG files in name order; `--device` opens any
//! discovered device (`sane:test` with the `sane` feature, `mock:scanner`, ...). Prints a
//! progress bar, then pages, seconds, pages/s and the output size. Errors print their chain
//! and exit with status 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use buergerkoffer::mock::{FolderScanner, MockKit, MockScanner};
use buergerkoffer::pdf::{Encoding, Metadata};
use buergerkoffer::pipeline::{scan_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{ColorMode, ScanRequest, Source};
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
#[derive(Parser, Debug)]
#[command(version, about)]
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
    /// Backend-specific option, e.g. `--option brightness=10` (repeatable).
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
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
        .metadata(Metadata::titled(title).creator("buergerkoffer scan_to_pdf example"))
        .on_progress(move |p| {
            b2.set_position(p.pages_written as u64);
            b2.set_message(format!("{:.1} MB", p.bytes_written as f64 / 1e6));
        });
    if let Some(t) = args.threads {
        opts = opts.threads(t);
    }

    let result = scan_to_pdf(scanner.as_ref(), &request, &args.output, &opts).await;
    bar.finish_and_clear();
    let done = result?;
    let secs = done.duration.as_secs_f64();
    println!("device:   {id}");
    println!("pages:    {}", done.pages);
    println!("seconds:  {secs:.3}");
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
