//! Prints the card events of a reader: insertions (with ATR), removals, reader removal.
//!
//! ```text
//! cargo run --example card_monitor            # the mock kit's reader; waits for events
//! cargo run --example card_monitor -- --demo  # the mock card is inserted and removed for you
//! ```
//!
//! `--device ID` picks another reader (default `mock:reader`); readers of other backends are
//! reached through `Kit::with_enabled_backends()`, e.g.
//! `--device "pcsc:Virtual PCD 00 00"` in a build with `--features pcsc`.

use std::time::Duration;

use buergerkoffer::card::ReaderEvent;
use buergerkoffer::mock::{MockCard, MockKit};
use buergerkoffer::{Backend, CardReader, DeviceId, Kit, Result};
use futures_util::StreamExt;

struct Args {
    device: DeviceId,
    demo: bool,
}

fn args() -> Result<Args> {
    let mut device = DeviceId::mock("reader");
    let mut demo = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--demo" => demo = true,
            "--device" => {
                let v = it.next().unwrap_or_default();
                device = v.parse()?;
            }
            other => {
                eprintln!("unknown argument {other}; usage: card_monitor [--demo] [--device ID]");
                std::process::exit(2);
            }
        }
    }
    Ok(Args { device, demo })
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
        Some(atr) => println!("{}: card present, ATR {atr}", args.device),
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
        if ev == ReaderEvent::ReaderRemoved {
            break;
        }
        if matches!(ev, ReaderEvent::Lagged { .. }) {
            println!("{:?}", reader.status().await?);
        }
    }
    Ok(())
}
