//! `buergerkoffer print FILE`: prints a PDF, JPEG or PNM scan and follows the job to its end,
//! saying what the printer needs when it waits ("printer: media-empty — load paper").

use std::path::PathBuf;
use std::time::Duration;

use buergerkoffer::check::fix;
use buergerkoffer::print::{Document, JobState, PageRange, PrintOptions, PrintQuality, Sides};
use buergerkoffer::{DeviceId, DeviceKind, Error, ErrorKind};
use serde_json::json;

use crate::exit;
use crate::Ctx;

/// Print a file and follow the job.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file: .pdf, .jpg/.jpeg, .pbm/.pgm/.ppm/.pnm.
    file: PathBuf,
    /// Printer to use, e.g. `ipp://127.0.0.1:8631/ipp/print` (default: the profile's printer,
    /// else the first found; `mock:printer` with --mock).
    #[arg(long)]
    printer: Option<DeviceId>,
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
    /// Tray (media-source), e.g. main, manual, by-pass-tray.
    #[arg(long)]
    tray: Option<String>,
    /// Paper type (media-type), e.g. stationery, labels.
    #[arg(long)]
    media_type: Option<String>,
    /// print-quality: draft, normal or high.
    #[arg(long)]
    quality: Option<String>,
    /// Pages to print, e.g. 1-3,5.
    #[arg(long)]
    pages: Option<String>,
    /// With several copies, print each page's copies together instead of whole copies.
    #[arg(long)]
    uncollated: bool,
    /// Resolution of a PNM scan, in dpi.
    #[arg(long, default_value_t = 300)]
    dpi: u32,
    /// Seconds to wait for the job to end.
    #[arg(long, default_value_t = 300.0)]
    wait: f64,
}

fn document(args: &Args) -> Result<Document, Error> {
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = args
        .file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !args.file.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            args.file.display().to_string(),
            "read document",
        )
        .with_detail("no such file"));
    }
    Ok(match ext.as_str() {
        "pdf" => Document::pdf_file(&args.file).with_name(name),
        "jpg" | "jpeg" => Document::jpeg_file(&args.file).with_name(name),
        "pbm" | "pgm" | "ppm" | "pnm" => {
            let data = std::fs::read(&args.file)
                .map_err(|e| Error::io(args.file.display().to_string(), "read document", e))?;
            let page = buergerkoffer::scan::pnm::decode(&data, &name)?
                .into_page(0, (args.dpi, args.dpi))?;
            Document::page(page).with_name(name)
        }
        _ => {
            return Err(
                Error::new(ErrorKind::InvalidInput, "print", "choose format").with_detail(format!(
                    "{}: expected .pdf, .jpg, .jpeg, .pbm, .pgm, .ppm or .pnm",
                    args.file.display()
                )),
            )
        }
    })
}

async fn choose(ctx: &Ctx, args: &Args) -> Result<DeviceId, Error> {
    if let Some(id) = &args.printer {
        return Ok(id.clone());
    }
    let expected = ctx.profile.printer.as_ref();
    if ctx.mock.is_none() {
        if let Some(uri) = expected.and_then(|e| e.id.as_deref()) {
            return uri.parse();
        }
    }
    let found = tokio::time::timeout(Duration::from_secs(20), ctx.kit.discover())
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "kit", "list printers"))?;
    let pick = found
        .of_kind(DeviceKind::Printer)
        .find(|d| {
            ctx.mock.is_some() || expected.is_none_or(|e| e.matches(&d.id.to_string(), &d.name))
        })
        .map(|d| d.id.clone())
        .ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "kit", "find printer").with_detail(
                "no printer found: give --printer URI or set [printer] uri in the kit profile",
            )
        });
    pick
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    match print(ctx, &args).await {
        Ok(()) => exit::OK,
        Err(e) => exit::report_error(&e, ctx.json),
    }
}

async fn print(ctx: &Ctx, args: &Args) -> Result<(), Error> {
    let sides = Sides::from_keyword(&args.sides).ok_or_else(|| {
        Error::new(ErrorKind::InvalidInput, "print", "parse --sides").with_detail(format!(
            "`{}`: expected one-sided, two-sided-long-edge or two-sided-short-edge",
            args.sides
        ))
    })?;
    let doc = document(args)?;
    let id = choose(ctx, args).await?;
    let printer = ctx.kit.open_printer(&id).await?;
    let mut options = PrintOptions::new().copies(args.copies).sides(sides);
    if let Some(m) = &args.media {
        options = options.media(m.clone());
    }
    if let Some(n) = &args.job_name {
        options = options.job_name(n.clone());
    }
    if let Some(t) = &args.tray {
        options = options.media_source(t.clone());
    }
    if let Some(t) = &args.media_type {
        options = options.media_type(t.clone());
    }
    if let Some(q) = &args.quality {
        let q = PrintQuality::from_name(q).ok_or_else(|| {
            Error::new(ErrorKind::InvalidInput, "print", "parse --quality")
                .with_detail(format!("`{q}`: expected draft, normal or high"))
        })?;
        options = options.quality(q);
    }
    if let Some(p) = &args.pages {
        options = options.page_ranges(PageRange::parse_list(p)?);
    }
    let options = options.collate(!args.uncollated);
    let job = printer.print(doc, &options).await?;
    tracing::info!(printer = %id, %job, "job sent");
    if !ctx.json {
        println!("{id}: {job} created");
    }
    let bar = if ctx.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(args.wait.max(0.0));
    let mut last = String::new();
    loop {
        let st = printer.job(job).await?;
        let ps = printer.status().await?;
        let need: Vec<String> = ps
            .reasons
            .iter()
            .filter_map(fix::for_reason)
            .map(|(_, f)| f)
            .collect();
        let line = format!(
            "{job}: {:?}{}{}{}",
            st.state,
            st.impressions_completed
                .map(|n| format!(", {n} side(s) printed"))
                .unwrap_or_default(),
            if st.reasons.is_empty() {
                String::new()
            } else {
                format!(" [{}]", st.reasons.join(", "))
            },
            if need.is_empty() {
                String::new()
            } else {
                format!(" — {}", need.join("; "))
            }
        );
        if line != last {
            tracing::info!(%line, "job state");
            bar.suspend(|| {
                if !ctx.json {
                    println!("{line}");
                }
            });
            last = line;
        }
        if st.state.is_terminal() {
            bar.finish_and_clear();
            if ctx.json {
                exit::print_json(&json!({
                    "printer": id.to_string(), "job": job.0, "state": format!("{:?}", st.state),
                    "reasons": st.reasons, "impressions": st.impressions_completed,
                }));
            }
            return match st.state {
                JobState::Completed => Ok(()),
                s => Err(
                    Error::new(ErrorKind::Cancelled, id.to_string(), format!("{job}"))
                        .with_detail(format!("the job ended {s:?}")),
                ),
            };
        }
        if tokio::time::Instant::now() > deadline {
            bar.finish_and_clear();
            let kind = ps.blocking_error().unwrap_or(ErrorKind::Timeout);
            let mut detail = format!("still {:?} after {} s", st.state, args.wait);
            if !need.is_empty() {
                detail.push_str(&format!(": {}", need.join("; ")));
            }
            return Err(
                Error::new(kind, id.to_string(), format!("wait for {job}")).with_detail(detail)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
