//! `buergerkoffer scan`: the main job, a batch of pages to one PDF
//! ([`buergerkoffer::pipeline::scan_to_pdf`]), with every option of the `scan_to_pdf` example
//! and a progress bar.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use buergerkoffer::mock::FolderScanner;
use buergerkoffer::pdf::{Encoding, Metadata};
use buergerkoffer::pipeline::{scan_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{ColorMode, Paper, ScanArea, ScanRequest, Source};
use buergerkoffer::{Backend, DeviceId, DeviceKind, Error, ErrorKind, Kit};
use serde_json::json;

use crate::exit;
use crate::Ctx;

/// Scan a batch of pages to one PDF.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The PDF to write (written under a temporary name, renamed when complete).
    #[arg(long)]
    output: PathBuf,
    /// Number of pages (with --mock the mock feeder holds this many; a limit otherwise).
    #[arg(long)]
    pages: Option<u32>,
    /// Replay the PNM/JPEG files of this folder, in name order.
    #[arg(long, conflicts_with = "device")]
    input_dir: Option<PathBuf>,
    /// Scanner to use, e.g. `sane:test` (default: the profile's scanner, else the first found;
    /// `mock:scanner` with --mock).
    #[arg(long)]
    device: Option<DeviceId>,
    /// Resolution in dpi.
    #[arg(long, default_value_t = 300)]
    resolution: u32,
    /// Colour mode: color, gray or lineart.
    #[arg(long, default_value = "color")]
    mode: ColorMode,
    /// Bits per sample (1 for lineart, 8 or 16 for gray and colour; default: the mode's).
    #[arg(long)]
    depth: Option<u8>,
    /// Paper size to scan from the top-left corner: a4, a5, letter, or max (the whole area).
    /// Ignored when --area is given.
    #[arg(long, default_value = "a4")]
    paper: Paper,
    /// Scan area in mm as WIDTHxHEIGHT+LEFT+TOP, e.g. `100x50+10+20`.
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
    /// Backend-specific option, e.g. `--option brightness=10` (repeatable).
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
}

/// The kit and scanner id to use, and the default source.
async fn choose(ctx: &Ctx, args: &Args) -> Result<(Kit, DeviceId, Source), Error> {
    if let Some(dir) = &args.input_dir {
        let kit = Kit::new().with_provider(
            buergerkoffer::mock::MockKit::new()
                .with_folder_scanner(FolderScanner::new("folder", dir)),
        );
        return Ok((kit, DeviceId::mock("folder"), Source::Adf));
    }
    if let Some(id) = &args.device {
        let source = if id.backend() == &Backend::Mock {
            Source::Adf
        } else {
            Source::Flatbed
        };
        return Ok((ctx.kit.clone(), id.clone(), source));
    }
    if let Some(m) = &ctx.mock {
        if let (Some(s), Some(n)) = (m.mock.scanner("scanner"), args.pages) {
            let sheets = match args.source {
                Some(Source::AdfDuplex) => n.div_ceil(2),
                _ => n,
            };
            s.set_adf_pages(sheets);
        }
    }
    if let Some(id) = ctx.profile.scanner.as_ref().and_then(|e| e.id.as_deref()) {
        if ctx.mock.is_none() {
            return Ok((ctx.kit.clone(), id.parse()?, Source::Flatbed));
        }
    }
    let found = tokio::time::timeout(Duration::from_secs(20), ctx.kit.discover())
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "kit", "list scanners"))?;
    let expected = ctx.profile.scanner.as_ref();
    let pick = found
        .of_kind(DeviceKind::Scanner)
        .find(|d| {
            ctx.mock.is_some() || expected.is_none_or(|e| e.matches(&d.id.to_string(), &d.name))
        })
        .map(|d| d.id.clone());
    match pick {
        Some(id) => {
            let source = if id.backend() == &Backend::Mock {
                Source::Adf
            } else {
                Source::Flatbed
            };
            Ok((ctx.kit.clone(), id, source))
        }
        None => {
            let why = found
                .failures
                .first()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            Err(Error::new(ErrorKind::NotFound, "kit", "find scanner")
                .with_detail(format!("no scanner found{why}: plug in the scanner (USB)")))
        }
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    match scan(ctx, &args).await {
        Ok(()) => exit::OK,
        Err(e) => exit::report_error(&e, ctx.json),
    }
}

async fn scan(ctx: &Ctx, args: &Args) -> Result<(), Error> {
    let (kit, id, default_source) = choose(ctx, args).await?;
    tracing::info!(device = %id, "scan to PDF");
    let scanner = kit.open_scanner(&id).await?;
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
            return Err(
                Error::new(ErrorKind::InvalidInput, "scan", "parse --option")
                    .with_detail(format!("`{o}`: expected NAME=VALUE")),
            );
        };
        request = request.option(name, value);
    }
    let bar = match (ctx.json, args.pages) {
        (true, _) => indicatif::ProgressBar::hidden(),
        (false, Some(n)) => indicatif::ProgressBar::new(u64::from(n)),
        (false, None) => indicatif::ProgressBar::no_length(),
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
        .metadata(Metadata::titled(title).creator("buergerkoffer scan"))
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
    tracing::info!(device = %id, pages = done.pages, bytes = done.bytes, secs, "scan done");
    if ctx.json {
        exit::print_json(&json!({
            "device": id.to_string(),
            "pages": done.pages,
            "seconds": secs,
            "pages_per_second": done.pages_per_second(),
            "bytes": done.bytes,
            "input_bytes": done.input_bytes,
            "output": done.path.display().to_string(),
        }));
    } else {
        println!("device:   {id}");
        println!("pages:    {}", done.pages);
        println!("seconds:  {secs:.3}");
        println!("pages/s:  {:.2}", done.pages_per_second());
        println!(
            "size:     {} bytes ({:.2} MB)",
            done.bytes,
            done.bytes as f64 / 1e6
        );
        println!("output:   {}", done.path.display());
    }
    Ok(())
}
