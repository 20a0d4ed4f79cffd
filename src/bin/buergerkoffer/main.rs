//! `buergerkoffer`, the kit tool (feature `cli`): the user-facing front of the crate.
//!
//! ```text
//! buergerkoffer [--mock] [--mock-fault DEVICE=FAULT ...] [--json] [--log FILE] [--profile FILE] COMMAND
//!   devices [--watch] [--timeout SECS]   list the kit's devices; --watch follows hotplug
//!   check [--test-scan]                  self-check of the whole kit in seconds, with fixes
//!   scan --output FILE [...]             the main job: scan a batch to one PDF
//!   print FILE [...]                     print a file and follow the job
//!   card [--watch] [--verify-pin]        reader status, ATR, eID data; card events
//!   serve [--port P] [--allow-origin O ...] [--escl]
//!                                        the local device service for office web apps
//! ```
//!
//! `--mock` runs every command against the mock kit; `--mock-fault` makes it misbehave
//! (`scanner=hang|gone|jam`, `printer=media-empty|jam|offline|gone`,
//! `reader=no-card|gone|hang`). `--json` prints one JSON document on stdout (`devices --watch`
//! and `card --watch`: one per line). `--log FILE` appends a support log (no secrets).
//!
//! Exit codes: see [`exit`].

mod card;
mod check;
mod devices;
mod exit;
mod print;
mod scan;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use buergerkoffer::check::mock::{MockFault, MockSetup};
use buergerkoffer::profile::KitProfile;
use buergerkoffer::{Error, Kit};
use clap::{Parser, Subcommand};

/// The kit tool: list, check and use the devices of a Bürgerkoffer (card reader, scanner,
/// printer).
#[derive(Parser, Debug)]
#[command(name = "buergerkoffer", version, about, long_about, after_help = exit::HELP)]
struct Cli {
    /// Use the mock kit instead of real devices (no hardware needed).
    #[arg(long, global = true)]
    mock: bool,
    /// Make the mock kit misbehave, e.g. `scanner=hang`, `printer=media-empty`,
    /// `reader=no-card` (repeatable; implies --mock).
    #[arg(long = "mock-fault", value_name = "DEVICE=FAULT", global = true)]
    mock_faults: Vec<MockFault>,
    /// Print JSON on stdout for other programs (one document; one per line with --watch).
    #[arg(long, global = true)]
    json: bool,
    /// Append a support log to this file (never contains PINs or keys).
    #[arg(long, value_name = "FILE", global = true)]
    log: Option<PathBuf>,
    /// Detail of the support log: error, warn, info, debug or trace.
    #[arg(long, value_name = "LEVEL", default_value = "debug", global = true)]
    log_level: tracing::Level,
    /// The kit profile (TOML) saying which devices the kit should have (default: the
    /// standard kit).
    #[arg(long, value_name = "FILE", global = true)]
    profile: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the kit's devices (and the USB bus); --watch follows devices coming and going.
    Devices(devices::Args),
    /// Check the whole kit at once, each device within its own time limit: one table, and
    /// what to do about each failure.
    Check(check::Args),
    /// Scan a batch of pages to one PDF (the main job).
    Scan(Box<scan::Args>),
    /// Print a file (PDF, JPEG, PNM scan) and follow the job to its end.
    Print(print::Args),
    /// Show the card reader, the card's ATR and its eID data; --watch prints card events.
    Card(card::Args),
    /// Serve the kit to office software in the browser (HTTP + WebSocket on loopback, with
    /// a pairing token; --escl: the scanner as an eSCL scanner). Prints the token file.
    Serve(serve::Args),
}

/// What every command gets: the kit, the mock (when --mock), the profile and the output mode.
pub struct Ctx {
    /// The kit to use.
    pub kit: Kit,
    /// The mock kit, with --mock.
    pub mock: Option<MockSetup>,
    /// The kit profile.
    pub profile: KitProfile,
    /// Whether to print JSON.
    pub json: bool,
}

fn init_log(cli: &Cli) -> Result<(), Error> {
    let Some(path) = &cli.log else {
        return Ok(());
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path.display().to_string(), "open the support log", e))?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_max_level(cli.log_level)
        .with_target(true)
        .init();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        args = ?std::env::args().skip(1).collect::<Vec<_>>(),
        "buergerkoffer started"
    );
    Ok(())
}

fn context(cli: &Cli) -> Result<Ctx, Error> {
    let profile = match &cli.profile {
        Some(p) => KitProfile::load(p)?,
        None => KitProfile::standard(),
    };
    let mock = (cli.mock || !cli.mock_faults.is_empty()).then(|| MockSetup::new(&cli.mock_faults));
    let kit = match &mock {
        Some(m) => m.kit.clone(),
        None => real_kit(&profile),
    };
    Ok(Ctx {
        kit,
        mock,
        profile,
        json: cli.json,
    })
}

/// The backends of this build; the profile's printer URI is listed by the IPP backend.
fn real_kit(profile: &KitProfile) -> Kit {
    #[allow(unused_mut)]
    let mut kit = Kit::with_enabled_backends();
    #[cfg(feature = "ipp")]
    if let Some(uri) = profile.printer.as_ref().and_then(|p| p.id.as_deref()) {
        if uri
            .parse::<buergerkoffer::DeviceId>()
            .is_ok_and(|id| id.backend() == &buergerkoffer::Backend::Ipp)
        {
            kit = kit.with_provider(
                buergerkoffer::backend::ipp::IppProvider::new()
                    .with_printer(uri)
                    .with_timeout(Duration::from_secs(3)),
            );
        }
    }
    let _ = profile;
    kit
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let code = match init_log(&cli).and_then(|()| context(&cli)) {
        Err(e) => exit::report_error(&e, json),
        Ok(ctx) => rt.block_on(async move {
            match cli.command {
                Command::Devices(a) => devices::run(&ctx, a).await,
                Command::Check(a) => check::run(&ctx, a).await,
                Command::Scan(a) => scan::run(&ctx, *a).await,
                Command::Print(a) => print::run(&ctx, a).await,
                Command::Card(a) => card::run(&ctx, a).await,
                Command::Serve(a) => serve::run(&ctx, a).await,
            }
        }),
    };
    tracing::info!(exit = code, "buergerkoffer finished");
    // A hung backend call (a blocking PC/SC or SANE call that never returns) must not keep
    // the process alive: do not wait for blocking threads.
    rt.shutdown_timeout(Duration::from_millis(200));
    ExitCode::from(code)
}
