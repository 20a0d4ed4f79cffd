//! Records a session with the kit's devices, and replays it with no hardware.
//!
//! ```text
//! # with the real kit on the desk (every backend of this build):
//! cargo run --example record_replay --features record,pcsc,sane,ipp -- record sessions/desk-1
//! # or against the mock kit:
//! cargo run --example record_replay --features record -- record --mock sessions/mock-1
//! # later, anywhere, no devices needed:
//! cargo run --example record_replay --features record -- replay sessions/desk-1
//! cargo run --example record_replay --features record -- replay --real-time sessions/desk-1
//! ```
//!
//! Both runs do the same thing with every device found: a reader's status (and, with a card,
//! its EF.CardAccess), a scanner's capabilities and one small page, a printer's capabilities
//! and status. `replay` then checks that each call got its recorded answer and that the
//! recording was used up, and prints the first difference if not.

use std::path::PathBuf;
use std::process::ExitCode;

use buergerkoffer::card::eid::{self, ReadLength};
use buergerkoffer::card::{Disposition, ShareMode};
use buergerkoffer::mock::MockKit;
use buergerkoffer::record::{Recorder, ReplayKit, ReplayOptions};
use buergerkoffer::scan::{ColorMode, Resolutions, ScanArea, ScanRequest};
use buergerkoffer::{DeviceKind, Kit};

/// Record a session with the kit's devices, or replay one.
#[derive(clap::Parser)]
#[command(about, long_about)]
enum Args {
    /// Record: use every device found and write the session to DIR (a new directory).
    Record {
        /// Use the mock kit instead of the backends of this build.
        #[arg(long)]
        mock: bool,
        /// The session directory to create.
        dir: PathBuf,
    },
    /// Replay the session in DIR: the same calls, answered from the recording.
    Replay {
        /// Take as long as the recorded calls did.
        #[arg(long)]
        real_time: bool,
        /// The session directory.
        dir: PathBuf,
    },
}

fn low_dpi(r: &Resolutions) -> u32 {
    match r {
        Resolutions::List(v) => v.iter().copied().filter(|d| *d >= 50).min().unwrap_or(75),
        Resolutions::Range { min, .. } => (*min).max(50),
        _ => 75,
    }
}

/// What both runs do with the kit. Device failures are printed, not fatal: they are part of
/// what is recorded.
async fn tour(kit: &Kit) {
    let found = kit.discover().await;
    for e in &found.failures {
        println!("backend failed: {e}");
    }
    for d in &found.devices {
        println!("{} {}", d.kind, d.id);
        let result: buergerkoffer::Result<()> = async {
            match d.kind {
                DeviceKind::CardReader => {
                    let r = kit.open_reader(&d.id).await?;
                    let st = r.status().await?;
                    println!("  card: {:?}", st.atr.as_ref().map(ToString::to_string));
                    if st.card_present() {
                        let mut card = r.connect(ShareMode::Shared).await?;
                        match eid::read_card_access(&mut *card, ReadLength::Short).await {
                            Ok(info) => println!(
                                "  EF.CardAccess: {} bytes, German eID: {}",
                                info.card_access.len(),
                                info.is_german_eid()
                            ),
                            Err(e) => println!("  EF.CardAccess: {e}"),
                        }
                        card.disconnect(Disposition::Leave).await?;
                    }
                }
                DeviceKind::Scanner => {
                    let s = kit.open_scanner(&d.id).await?;
                    let caps = s.capabilities().await?;
                    let req = ScanRequest::new()
                        .resolution(low_dpi(&caps.resolutions))
                        .mode(ColorMode::Gray)
                        .area(ScanArea {
                            x_mm: 0.0,
                            y_mm: 0.0,
                            width_mm: 50.0,
                            height_mm: 50.0,
                        })
                        .max_pages(1);
                    for page in s.scan(&req).await?.collect_all().await? {
                        println!(
                            "  page {}: {}x{} px",
                            page.index + 1,
                            page.width,
                            page.height
                        );
                    }
                }
                DeviceKind::Printer => {
                    let p = kit.open_printer(&d.id).await?;
                    let caps = p.capabilities().await?;
                    let st = p.status().await?;
                    println!(
                        "  formats {:?}, state {:?} {:?}",
                        caps.formats, st.state, st.reasons
                    );
                }
                _ => {}
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            println!("  failed: {e}");
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match <Args as clap::Parser>::parse() {
        Args::Record { mock, dir } => {
            let recorder = match Recorder::create(&dir) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let kit = if mock {
                Kit::new().with_provider(MockKit::standard())
            } else {
                Kit::with_enabled_backends()
            };
            if kit.providers().is_empty() {
                eprintln!("no backend in this build: add --features pcsc,sane,ipp, or use --mock");
                return ExitCode::FAILURE;
            }
            tour(&recorder.kit(kit)).await;
            match recorder.finish() {
                Ok(()) => {
                    println!("recorded to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Args::Replay { real_time, dir } => {
            let opts = if real_time {
                ReplayOptions::new().real_time()
            } else {
                ReplayOptions::new()
            };
            let replay = match ReplayKit::with_options(&dir, opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            tour(&replay.kit()).await;
            match replay.done() {
                Ok(()) => {
                    println!(
                        "replayed {}: every call matched the recording",
                        dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
