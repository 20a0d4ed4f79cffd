//! Prints a file (PDF, JPEG, PNG, TIFF, or a PNM scan: PBM/PGM/PPM) on an IPP printer and
//! follows the job to its end, printing each change of the job's and the printer's state.
//! A printer that takes only PWG raster, URF or JPEG gets the document rendered in-process.
//!
//! `--raster-to FILE` renders the document to a PWG raster file (sgray_8, 300 dpi, A4, or
//! `--media`) without a printer; `scripts/compare_print_raster.sh` times that against
//! cups-filters.
//!
//! ```text
//! cargo run --features ipp --example print -- --printer ipp://127.0.0.1:8631/ipp/print antrag.pdf
//! cargo run --features ipp --example print -- --printer ipp://HOST/ipp/print \
//!     --copies 2 --sides two-sided-long-edge --media iso_a4_210x297mm --job-name Antrag scan.pgm
//! ```
//!
//! `ipps://` printers need `--features ipps` and usually `--tls-ca printer.crt`.
//!
//! A PNM file is sent as a scanned page: the backend converts it to a format the printer
//! accepts (PWG raster, JPEG or PDF). `--dpi` sets its resolution (default 300).

use std::path::PathBuf;
use std::time::Duration;

use buergerkoffer::backend::ipp::IppPrinter;
use buergerkoffer::print::convert::{self, Plan, Target};
use buergerkoffer::print::render::Output;
use buergerkoffer::print::{
    Document, DocumentFormat, JobId, JobState, PageRange, PrintOptions, PrintScaling,
    PrinterCapabilities, Sides,
};
use buergerkoffer::{Error, ErrorKind, Printer, Result};
use clap::Parser;
use futures_util::StreamExt;

/// Print a file on an IPP printer and follow the job.
#[derive(Parser, Debug)]
struct Args {
    /// Printer URI, e.g. ipp://127.0.0.1:8631/ipp/print.
    #[arg(long, required_unless_present = "raster_to")]
    printer: Option<String>,
    /// Render to this PWG raster file instead of printing.
    #[arg(long)]
    raster_to: Option<PathBuf>,
    /// With --raster-to: threads rendering PDF pages (0: one per core, at most 4).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// print-scaling: auto, auto-fit, fit, fill or none.
    #[arg(long, default_value = "auto")]
    scaling: String,
    /// Number of copies.
    #[arg(long, default_value_t = 1)]
    copies: u32,
    /// one-sided, two-sided-long-edge or two-sided-short-edge.
    #[arg(long, default_value = "one-sided")]
    sides: String,
    /// Media (PWG name), e.g. iso_a4_210x297mm.
    #[arg(long)]
    media: Option<String>,
    /// Job name (default: the file name).
    #[arg(long)]
    job_name: Option<String>,
    /// Pages to print, e.g. 1-3,5 (a PDF goes with page-ranges to a printer that selects
    /// pages itself; otherwise only these pages are rendered).
    #[arg(long)]
    pages: Option<String>,
    /// Make the printer show itself (Identify-Printer: a sound or a light) and list its
    /// unfinished jobs, then stop, without printing.
    #[arg(long)]
    identify: bool,
    /// Resolution of a PNM scan, in dpi.
    #[arg(long, default_value_t = 300)]
    dpi: u32,
    /// For ipps:// (feature `ipps`): trust this certificate file (PEM or DER), e.g. the
    /// printer's self-signed one.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// For ipps:// (feature `ipps`): accept any certificate. Unsafe outside a test setup.
    #[arg(long)]
    insecure_tls: bool,
    /// Seconds to wait for the job to end.
    #[arg(long, default_value_t = 300)]
    wait: u64,
    /// The file: .pdf, .jpg/.jpeg, .png, .tif/.tiff, .pbm/.pgm/.ppm/.pnm.
    #[arg(required_unless_present = "identify")]
    file: Option<PathBuf>,
}

fn document(args: &Args) -> Result<Document> {
    let file = args.file.clone().unwrap_or_default();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "pdf" | "jpg" | "jpeg" | "png" | "tif" | "tiff" => Document::file(&file),
        "pbm" | "pgm" | "ppm" | "pnm" => {
            let data = std::fs::read(&file)
                .map_err(|e| Error::io("print", format!("read {}", file.display()), e))?;
            let page = buergerkoffer::scan::pnm::decode(&data, &name)?
                .into_page(0, (args.dpi, args.dpi))?;
            Document::page(page).with_name(name)
        }
        _ => {
            return Err(
                Error::new(ErrorKind::InvalidInput, "print", "choose format").with_detail(format!(
                    "{}: expected .pdf, .jpg, .jpeg, .png, .tif, .tiff, .pbm, .pgm, .ppm or .pnm",
                    file.display()
                )),
            )
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<()> {
    let sides = Sides::from_keyword(&args.sides).ok_or_else(|| {
        Error::new(ErrorKind::InvalidInput, "print", "parse --sides").with_detail(format!(
            "`{}`: expected one-sided, two-sided-long-edge or two-sided-short-edge",
            args.sides
        ))
    })?;
    let scaling = PrintScaling::from_keyword(&args.scaling).ok_or_else(|| {
        Error::new(ErrorKind::InvalidInput, "print", "parse --scaling").with_detail(format!(
            "`{}`: expected auto, auto-fit, fit, fill or none",
            args.scaling
        ))
    })?;
    if let Some(out) = &args.raster_to {
        return raster_to(&args, scaling, out).await;
    }
    let uri = args.printer.clone().unwrap_or_default();
    #[allow(unused_mut)]
    let mut printer = IppPrinter::open(&uri)?.with_timeout(Duration::from_secs(10));
    if args.tls_ca.is_some() || args.insecure_tls {
        #[cfg(feature = "ipps")]
        {
            if let Some(p) = &args.tls_ca {
                let cert = std::fs::read(p)
                    .map_err(|e| Error::io("print", format!("read {}", p.display()), e))?;
                printer = printer.with_tls_ca(cert);
            }
            printer = printer.with_insecure_tls(args.insecure_tls);
        }
        #[cfg(not(feature = "ipps"))]
        return Err(Error::new(ErrorKind::Unsupported, "print", "set up TLS")
            .with_detail("--tls-ca and --insecure-tls need the cargo feature `ipps`"));
    }
    let printer = printer.connected().await?;
    println!("printer: {} ({})", printer.info().name, printer.uri());
    if args.identify {
        return identify(&printer).await;
    }
    let caps = printer.capabilities().await?;
    let formats: Vec<&str> = caps.formats.iter().map(DocumentFormat::mime).collect();
    println!("accepts: {}", formats.join(", "));

    let mut options = PrintOptions::new()
        .copies(args.copies)
        .sides(sides)
        .scaling(scaling);
    if let Some(m) = &args.media {
        options = options.media(m.clone());
    }
    if let Some(n) = &args.job_name {
        options = options.job_name(n.clone());
    }
    options = job_options(&args, options)?;
    let doc = document(&args)?;
    let job = printer.print(doc, &options).await?;
    println!("{job} created");

    follow(&printer, job, Duration::from_secs(args.wait)).await
}

/// `--pages` (tray, paper type and quality: see `buergerkoffer print --help`).
fn job_options(args: &Args, options: PrintOptions) -> Result<PrintOptions> {
    Ok(match &args.pages {
        Some(p) => options.page_ranges(PageRange::parse_list(p)?),
        None => options,
    })
}

/// Follows the job with the progress stream until it ends, printing each change of the
/// job (state, reasons, sides printed) and of the printer (state, reasons, supplies low).
async fn follow(printer: &IppPrinter, job: JobId, wait: Duration) -> Result<()> {
    let mut progress = printer.watch_job(job, Duration::from_millis(500));
    let mut last_printer = None;
    let watch = async {
        let mut last = None;
        while let Some(st) = progress.next().await {
            let st = st?;
            let mut line = format!("{job}: {:?}", st.state);
            if let Some(n) = st.impressions_completed {
                line += &format!(", {n} side(s) printed");
            }
            if !st.reasons.is_empty() {
                line += &format!(" [{}]", st.reasons.join(", "));
            }
            for r in st.printer_reasons() {
                line += &format!("\n  held up by: {}", r.keyword());
            }
            if let Some(m) = &st.message {
                line += &format!(" \"{m}\"");
            }
            println!("{line}");
            let ps = printer.status().await?;
            let reasons: Vec<String> = ps.reasons.iter().map(|r| r.keyword()).collect();
            let pline = format!("printer: {:?} [{}]", ps.state, reasons.join(", "));
            if last_printer.as_ref() != Some(&pline) {
                println!("{pline}");
                if let Some(kind) = ps.blocking_error() {
                    println!("  needs attention: {}", kind.describe());
                }
                last_printer = Some(pline);
            }
            last = Some(st);
        }
        Ok::<_, Error>(last)
    };
    let last = match tokio::time::timeout(wait, watch).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(
                Error::new(ErrorKind::Timeout, printer.uri(), format!("wait for {job}"))
                    .with_detail(format!("not ended after {} s", wait.as_secs())),
            )
        }
    };
    match last.map(|s| s.state) {
        Some(JobState::Completed) => Ok(()),
        s => Err(
            Error::new(ErrorKind::Cancelled, printer.uri(), format!("{job}"))
                .with_detail(format!("the job ended {s:?}")),
        ),
    }
}

/// `--identify`: Identify-Printer, then the unfinished jobs.
async fn identify(printer: &IppPrinter) -> Result<()> {
    printer.identify().await?;
    println!("identify: sent");
    let jobs = printer.jobs().await?;
    println!("{} unfinished job(s)", jobs.len());
    for j in jobs {
        println!(
            "  {}: {:?} {}",
            j.id,
            j.state,
            j.name.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// Renders the document to a PWG raster file, as a PWG-raster-only printer would get it.
async fn raster_to(args: &Args, scaling: PrintScaling, out: &std::path::Path) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let caps = PrinterCapabilities::new(vec![DocumentFormat::PwgRaster]);
    let mut options = PrintOptions::new().scaling(scaling);
    if let Some(m) = &args.media {
        options = options.media(m.clone());
    }
    let options = job_options(args, options)?;
    let doc = document(args)?;
    let plan = match convert::plan("file", &doc, &options, &Target::new(&caps))? {
        Plan::Render(mut spec) => {
            spec.output = Output::PwgRaster;
            spec.raster = buergerkoffer::print::raster::RasterType::Sgray8;
            spec.dpi = (300, 300);
            spec.threads = args.threads;
            Plan::Render(spec)
        }
        p => p,
    };
    let mut reader = convert::body("file", doc, &plan, args.media.as_deref()).await?;
    let mut file = tokio::fs::File::create(out)
        .await
        .map_err(|e| Error::io("file", format!("create {}", out.display()), e))?;
    tokio::io::copy(&mut reader, &mut file)
        .await
        .map_err(|e| Error::io("file", format!("write {}", out.display()), e))?;
    file.flush()
        .await
        .map_err(|e| Error::io("file", format!("write {}", out.display()), e))?;
    Ok(())
}
