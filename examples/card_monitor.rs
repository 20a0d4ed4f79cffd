//! Prints card-reader events: insertions (with ATR), removals, reader removal.
//!
//! `cargo run --example card_monitor -- --demo` inserts and removes the mock card itself, so
//! something happens; without `--demo` it watches `--device ID` (default `mock:reader`) until
//! Ctrl-C or the reader goes away.

use std::time::Duration;

use buergerkoffer::card::ReaderEvent;
use buergerkoffer::mock::{MockCard, MockKit};
use buergerkoffer::{DeviceId, Kit};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = args.iter().any(|a| a == "--demo");
    let device: DeviceId = match args.iter().position(|a| a == "--device") {
        Some(i) => args.get(i + 1).ok_or("--device needs an id")?.parse()?,
        None => DeviceId::mock("reader"),
    };
    let mock = MockKit::standard();
    let kit = Kit::with_enabled_backends().with_provider(mock.clone());
    let reader = kit.open_reader(&device).await?;
    let status = reader.status().await?;
    match &status.atr {
        Some(atr) => println!("{device}: card present, ATR {atr}"),
        None => println!("{device}: no card"),
    }
    let mut events = reader.events();
    if demo {
        let handle = mock.reader("reader").ok_or("mock reader missing")?;
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                handle.remove_card();
                tokio::time::sleep(Duration::from_millis(300)).await;
                handle.insert(MockCard::eid());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.unplug();
        });
    }
    while let Some(ev) = events.next().await {
        match ev {
            ReaderEvent::CardInserted(atr) => println!("{device}: card inserted, ATR {atr}"),
            ReaderEvent::CardRemoved => println!("{device}: card removed"),
            ReaderEvent::ReaderRemoved => {
                println!("{device}: reader removed");
                break;
            }
            ReaderEvent::Lagged { missed } => {
                println!("{device}: missed {missed} events, re-reading status");
                println!("{device}: {:?}", reader.status().await?);
            }
            other => println!("{device}: {other:?}"),
        }
    }
    Ok(())
}
