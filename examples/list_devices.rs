//! Lists the kit's devices: the mock kit plus every backend compiled into this build.
//!
//! `cargo run --example list_devices` (add `--features pcsc,sane,ipp,usb` for real devices).

use buergerkoffer::mock::MockKit;
use buergerkoffer::Kit;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let kit = Kit::with_enabled_backends().with_provider(MockKit::standard());
    let backends: Vec<String> = kit
        .providers()
        .iter()
        .map(|p| p.backend().to_string())
        .collect();
    println!("backends: {}", backends.join(", "));
    let found = kit.discover().await;
    println!("{:<12} {:<40} name", "kind", "id");
    for d in &found.devices {
        println!(
            "{:<12} {:<40} {}",
            d.kind.to_string(),
            d.id.to_string(),
            d.name
        );
    }
    for e in &found.failures {
        eprintln!("not listed: {e}");
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            eprintln!("  caused by: {s}");
            src = s.source();
        }
    }
}
