//! Lists the devices of the mock kit and of every backend compiled into this build.
//!
//! ```text
//! cargo run --example list_devices
//! cargo run --example list_devices --features pcsc,sane,ipp
//! ```
//!
//! A backend that cannot list its devices (service not running, library missing) is printed
//! with its error; the other backends are still listed.

use buergerkoffer::mock::MockKit;
use buergerkoffer::{Discovery, Kit};

fn print(title: &str, found: &Discovery) {
    println!("{title}:");
    if found.devices.is_empty() && found.failures.is_empty() {
        println!("  (no devices)");
    }
    for d in &found.devices {
        let vendor = d.vendor.as_deref().unwrap_or("-");
        println!(
            "  {:<12} {:<40} {} ({vendor})",
            d.kind.to_string(),
            d.id.to_string(),
            d.name
        );
    }
    for e in &found.failures {
        println!("  backend failed: {e}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mock = Kit::new().with_provider(MockKit::standard());
    print("mock kit", &mock.discover().await);

    let real = Kit::with_enabled_backends();
    if real.providers().is_empty() {
        println!("enabled backends: none in this build (try --features pcsc,sane,ipp)");
    } else {
        print(
            &format!("enabled backends {real:?}"),
            &real.discover().await,
        );
    }
}
