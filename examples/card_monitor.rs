//! Prints the card events of a reader: insertions (with ATR), removals, reader removal.
//! For every card it finds it reads EF.CardAccess and, for a German eID card, prints the
//! PACE protocols and domain parameters the card offers.
//!
//! ```text
//! cargo run --example card_monitor            # the mock kit's reader; waits for events
//! cargo run --example card_monitor -- --demo  # the mock card is inserted and removed for you
//! ```
//!
//! `--device ID` picks another reader (default `mock:reader`); readers of other backends are
//! reached through `Kit::with_enabled_backends()`, e.g.
//! `--device "pcsc:Virtual PCD 00 00"` in a build with `--features pcsc`:
//!
//! ```text
//! cargo run --example card_monitor --features pcsc -- --device "pcsc:REINER SCT cyberJack RFID basis 00 00"
//! ```

use std::time::Duration;

use buergerkoffer::card::eid::{self, ReadLength, SecurityInfo};
use buergerkoffer::card::{ReaderEvent, ShareMode};
use buergerkoffer::mock::{MockCard, MockKit};
use buergerkoffer::{Backend, CardReader, DeviceId, Kit, Result};
use futures_util::StreamExt;

/// Print the card events of a reader: insertions (with ATR and, for a German eID card, the
/// PACE protocols it offers), removals, reader removal.
#[derive(clap::Parser)]
#[command(about, long_about)]
struct Args {
    /// Reader to watch, e.g. `mock:reader` or `pcsc:Virtual PCD 00 00` (with `--features pcsc`).
    #[arg(long, default_value = "mock:reader")]
    device: DeviceId,
    /// Insert and remove the mock card for you (mock reader only), then exit.
    #[arg(long)]
    demo: bool,
}

fn args() -> Result<Args> {
    Ok(<Args as clap::Parser>::parse())
}

fn describe(reader: &dyn CardReader, ev: &ReaderEvent) -> String {
    let id = &reader.info().id;
    match ev {
        ReaderEvent::CardInserted(atr) => format!("{id}: card inserted, ATR {atr}"),
        ReaderEvent::CardRemoved => format!("{id}: card removed"),
        ReaderEvent::ReaderRemoved => format!("{id}: reader removed"),
        ReaderEvent::Lagged { missed } => format!("{id}: missed {missed} events, re-reading"),
        other => format!("{id}: {other:?}"),
    }
}

/// Connects, reads EF.CardAccess and prints what it says. Failures are printed, not fatal:
/// not every card is an eID card.
async fn show_eid(reader: &dyn CardReader) {
    let id = reader.info().id.clone();
    let mut card = match reader.connect(ShareMode::Shared).await {
        Ok(c) => c,
        Err(e) => return println!("{id}:   cannot connect: {e}"),
    };
    let info = match eid::read_card_access(&mut *card, ReadLength::Short).await {
        Ok(info) => info,
        Err(e) => return println!("{id}:   no eID data: {e}"),
    };
    let kind = if info.is_german_eid() {
        "German eID card"
    } else {
        "card with EF.CardAccess"
    };
    println!(
        "{id}:   {kind}, EF.CardAccess {} bytes",
        info.card_access.len()
    );
    for si in &info.security_infos.infos {
        if let SecurityInfo::Pace(p) = si {
            let params = p.parameter_id.map_or_else(
                || "not named".to_owned(),
                |n| {
                    format!(
                        "{n} ({})",
                        eid::standardized_domain_parameters(n).unwrap_or("proprietary")
                    )
                },
            );
            println!(
                "{id}:   PACE v{} {:?} {:?}, domain parameters {params}",
                p.version, p.mapping, p.cipher
            );
        }
    }
    if let Err(e) = card
        .disconnect(buergerkoffer::card::Disposition::Leave)
        .await
    {
        println!("{id}:   disconnect: {e}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = args()?;
    let mock = MockKit::standard();
    let kit = if args.device.backend() == &Backend::Mock {
        Kit::new().with_provider(mock.clone())
    } else {
        Kit::with_enabled_backends()
    };
    let reader = kit.open_reader(&args.device).await?;
    let status = reader.status().await?;
    match &status.atr {
        Some(atr) => {
            println!("{}: card present, ATR {atr}", args.device);
            show_eid(reader.as_ref()).await;
        }
        None => println!("{}: no card", args.device),
    }
    let mut events = reader.events();

    if args.demo {
        let Some(mock_reader) = mock.reader(args.device.name()) else {
            eprintln!("--demo works with mock readers only");
            std::process::exit(2);
        };
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                mock_reader.remove_card();
                tokio::time::sleep(Duration::from_millis(300)).await;
                mock_reader.insert(MockCard::eid());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            mock_reader.unplug();
        });
    } else {
        println!("waiting for card events (Ctrl-C to stop; --demo to simulate some)");
    }

    while let Some(ev) = events.next().await {
        println!("{}", describe(reader.as_ref(), &ev));
        if matches!(ev, ReaderEvent::CardInserted(_)) {
            show_eid(reader.as_ref()).await;
        }
        if ev == ReaderEvent::ReaderRemoved {
            break;
        }
        if matches!(ev, ReaderEvent::Lagged { .. }) {
            println!("{:?}", reader.status().await?);
        }
    }
    Ok(())
}
