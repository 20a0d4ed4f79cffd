//! Lists the devices of the mock kit and of every backend compiled into this build.
//!
//! ```text
//! cargo run --example list_devices
//! cargo run --example list_devices --features pcsc,sane,ipp
//! cargo run --example list_devices --features usb
//! ```
//!
//! A backend that cannot list its devices (service not running, library missing) is printed
//! with its error; the other backends are still listed. With feature `usb` the USB bus is
//! listed beside the backends' view: every device with its port path, ids and kit roles, then
//! which of the kit's devices is not plugged in (asked before any backend). On a machine
//! without USB access the USB list is simply empty.

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

/// List the devices of the mock kit and of every backend enabled in this build (by cargo
/// feature), with the backends that failed and why; with `--features usb` also the USB view.
#[derive(clap::Parser)]
#[command(about, long_about)]
struct Args {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Args {} = <Args as clap::Parser>::parse();
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

    #[cfg(feature = "usb")]
    {
        // The fixtures of real devices on a mock bus, then the machine's own bus.
        use buergerkoffer::usb::{fixtures, MockUsbBus};
        let mock_bus = MockUsbBus::with_devices(
            fixtures::ALL
                .iter()
                .zip(1u8..)
                .filter_map(|(f, port)| f.device_at(1, &[port]).ok()),
        );
        print_usb("mock usb bus (fixtures)", &Kit::new().with_usb(mock_bus)).await;
        print_usb("usb bus", &real).await;
    }
}

/// The USB view: what is plugged in, and which of the kit's devices is missing.
#[cfg(feature = "usb")]
async fn print_usb(title: &str, kit: &Kit) {
    use buergerkoffer::DeviceKind;

    let Some(bus) = kit.usb() else { return };
    println!("{title}:");
    match bus.devices().await {
        Ok(devices) if devices.is_empty() => println!("  (no devices, or no USB access)"),
        Ok(devices) => {
            for d in &devices {
                let roles: Vec<String> = d.kinds().map(|k| k.to_string()).collect();
                let roles = if roles.is_empty() {
                    "-".to_owned()
                } else {
                    roles.join(", ")
                };
                let serial = d.serial.as_deref().unwrap_or("-");
                println!(
                    "  {:<14} {:04x}:{:04x} {:<28} serial {serial:<16} {roles}",
                    d.id().to_string(),
                    d.vendor_id(),
                    d.product_id(),
                    d.name()
                );
            }
        }
        Err(e) => println!("  usb failed: {e}"),
    }
    let expected = [
        DeviceKind::CardReader,
        DeviceKind::Scanner,
        DeviceKind::Printer,
    ];
    if let Err(e) = kit.check_connected(&expected).await {
        println!("  {e}");
    } else {
        println!("  card reader, scanner and printer are connected");
    }
}
