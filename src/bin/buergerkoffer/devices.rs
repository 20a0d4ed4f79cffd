//! `buergerkoffer devices`: the kit's devices (every backend of this build, or the mock kit)
//! and the USB bus; `--watch` follows devices coming and going and says when a device that
//! went away is back, under whichever name ([`DeviceIdentity`]).

use std::collections::HashMap;
use std::time::Duration;

use buergerkoffer::kit::DeviceIdentity;
use buergerkoffer::mock::MockScanner;
use buergerkoffer::usb::{UsbDevice, UsbEvent};
use buergerkoffer::{DeviceEvent, DeviceId, DeviceInfo, Error, ErrorKind};
use futures_util::StreamExt;
use serde_json::json;

use crate::exit;
use crate::Ctx;

/// How long discovery may take before the listing gives up (exit 4).
const DISCOVERY_LIMIT: Duration = Duration::from_secs(15);

/// List the kit's devices.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keep running and print devices coming and going (until Ctrl-C or --timeout).
    #[arg(long)]
    watch: bool,
    /// With --watch: stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// With --mock --watch: unplug the mock scanner and plug it back in under another name
    /// (and USB port), to see the replug events.
    #[arg(long)]
    demo: bool,
}

fn info_json(d: &DeviceInfo) -> serde_json::Value {
    json!({
        "id": d.id.to_string(),
        "kind": d.kind.to_string(),
        "name": d.name,
        "vendor": d.vendor,
        "serial": d.serial,
        "identity": DeviceIdentity::of(d).to_string(),
    })
}

fn usb_json(d: &UsbDevice) -> serde_json::Value {
    json!({
        "id": d.id().to_string(),
        "vendor_id": format!("{:04x}", d.vendor_id()),
        "product_id": format!("{:04x}", d.product_id()),
        "name": d.name(),
        "serial": d.serial,
        "roles": d.kinds().map(|k| k.to_string()).collect::<Vec<_>>(),
    })
}

fn info_line(d: &DeviceInfo) -> String {
    let mut s = format!(
        "{:<12} {:<36} {}",
        d.kind.to_string(),
        d.id.to_string(),
        d.name
    );
    if let Some(v) = &d.vendor {
        s.push_str(&format!(" ({v})"));
    }
    if let Some(sn) = &d.serial {
        s.push_str(&format!(" serial {sn}"));
    }
    s
}

fn usb_line(d: &UsbDevice) -> String {
    let roles: Vec<String> = d.kinds().map(|k| k.to_string()).collect();
    format!(
        "{:<12} {:<36} {:04x}:{:04x} {}{} [{}]",
        "usb",
        d.id().to_string(),
        d.vendor_id(),
        d.product_id(),
        d.name(),
        d.serial
            .as_deref()
            .map(|s| format!(" serial {s}"))
            .unwrap_or_default(),
        if roles.is_empty() {
            "-".into()
        } else {
            roles.join(", ")
        }
    )
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    // Subscribe before listing, so no change falls between the two.
    let events = args.watch.then(|| ctx.kit.events());
    let hotplug = match (args.watch, ctx.kit.usb()) {
        (true, Some(bus)) => Some(bus.hotplug()),
        _ => None,
    };
    let found = match tokio::time::timeout(DISCOVERY_LIMIT, ctx.kit.discover()).await {
        Ok(f) => f,
        Err(_) => {
            let e = Error::new(ErrorKind::Timeout, "kit", "list devices").with_detail(format!(
                "a backend did not list its devices within {} s",
                DISCOVERY_LIMIT.as_secs()
            ));
            return exit::report_error(&e, ctx.json);
        }
    };
    let usb = match ctx.kit.usb() {
        Some(bus) => match bus.devices().await {
            Ok(d) => Ok(d),
            Err(e) => Err(e),
        },
        None => Ok(Vec::new()),
    };
    if ctx.json {
        exit::print_json(&json!({
            "devices": found.devices.iter().map(info_json).collect::<Vec<_>>(),
            "failures": found.failures.iter().map(|e| json!({
                "kind": exit::kind_name(e.kind()), "device": e.context().device(), "message": e.to_string(),
            })).collect::<Vec<_>>(),
            "usb": usb.as_ref().map(|v| v.iter().map(usb_json).collect::<Vec<_>>()).unwrap_or_default(),
            "usb_error": usb.as_ref().err().map(|e| e.to_string()),
        }));
    } else {
        if found.devices.is_empty() {
            println!("(no devices found)");
        }
        for d in &found.devices {
            println!("{}", info_line(d));
        }
        for e in &found.failures {
            println!("backend failed: {e}");
        }
        match &usb {
            Ok(v) => v.iter().for_each(|d| println!("{}", usb_line(d))),
            Err(e) => println!("usb failed: {e}"),
        }
    }
    tracing::info!(
        devices = found.devices.len(),
        failures = found.failures.len(),
        "devices listed"
    );
    let (Some(events), true) = (events, args.watch) else {
        return exit::OK;
    };
    if args.demo {
        match &ctx.mock {
            Some(m) => demo(m.clone()),
            None => eprintln!("--demo works with --mock only; watching the real devices"),
        }
    }
    let deadline = args
        .timeout
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let sleep = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let mut events = events;
    let mut hotplug = hotplug;
    let mut gone: HashMap<DeviceIdentity, DeviceId> = HashMap::new();
    let mut known: HashMap<DeviceId, DeviceInfo> = found
        .devices
        .iter()
        .map(|d| (d.id.clone(), d.clone()))
        .collect();
    loop {
        tokio::select! {
            _ = &mut sleep => return exit::OK,
            ev = events.next() => match ev {
                Some(ev) => show_event(ctx.json, &ev, &mut known, &mut gone),
                None if hotplug.is_none() => { sleep.as_mut().await; return exit::OK; }
                None => events = Box::pin(futures_util::stream::pending()),
            },
            ev = async { match hotplug.as_mut() { Some(h) => h.next().await, None => std::future::pending().await } } => match ev {
                Some(ev) => show_usb(ctx.json, &ev),
                None => hotplug = None,
            },
        }
    }
}

fn show_event(
    json: bool,
    ev: &DeviceEvent,
    known: &mut HashMap<DeviceId, DeviceInfo>,
    gone: &mut HashMap<DeviceIdentity, DeviceId>,
) {
    match ev {
        DeviceEvent::Added(info) => {
            let identity = DeviceIdentity::of(info);
            let was = gone.remove(&identity);
            known.insert(info.id.clone(), info.clone());
            if json {
                exit::print_json(&json!({"event": "added", "device": info_json(info)}));
            } else {
                println!("added        {}", info_line(info));
            }
            if let Some(was) = was {
                tracing::info!(%identity, from = %was, to = %info.id, "device back");
                if json {
                    exit::print_json(
                        &json!({"event": "back", "identity": identity.to_string(), "was": was.to_string(), "now": info.id.to_string()}),
                    );
                } else {
                    println!("back         {identity} is {} again (was {was})", info.id);
                }
            }
        }
        DeviceEvent::Removed(id) => {
            if let Some(info) = known.remove(id) {
                gone.insert(DeviceIdentity::of(&info), id.clone());
            }
            if json {
                exit::print_json(&json!({"event": "removed", "id": id.to_string()}));
            } else {
                println!("removed      {id}");
            }
        }
        DeviceEvent::Lagged { missed } => {
            if json {
                exit::print_json(&json!({"event": "lagged", "missed": missed}));
            } else {
                println!("missed {missed} events: run `buergerkoffer devices` again");
            }
        }
        other => tracing::debug!(event = ?other, "unknown device event"),
    }
}

fn show_usb(json: bool, ev: &UsbEvent) {
    let (what, dev) = match ev {
        UsbEvent::Arrived(d) => ("usb-arrived", Some(d)),
        UsbEvent::Left(d) => ("usb-left", Some(d)),
        _ => ("usb-lagged", None),
    };
    if json {
        exit::print_json(&json!({"event": what, "device": dev.map(usb_json)}));
    } else {
        match dev {
            Some(d) => println!(
                "{what:<12} {}",
                usb_line(d).trim_start_matches("usb").trim_start()
            ),
            None => println!("missed USB events: run `buergerkoffer devices` again"),
        }
    }
}

/// Unplugs the mock scanner (and its USB device) and plugs it back in under another name.
fn demo(m: buergerkoffer::check::mock::MockSetup) {
    tokio::spawn(async move {
        let Some(old) = m.mock.scanner("scanner") else {
            return;
        };
        let info = buergerkoffer::Scanner::info(&old).clone();
        tokio::time::sleep(Duration::from_millis(300)).await;
        m.mock.unplug("scanner");
        let usb_dev = m
            .usb
            .unplug(&DeviceId::new(buergerkoffer::Backend::Usb, "1-2"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let serial = info.serial.clone().unwrap_or_default();
        m.mock
            .plug_scanner(MockScanner::with_identity("scanner-2", &info.name, &serial));
        if let Some(mut d) = usb_dev {
            d.ports = vec![4];
            m.usb.plug(d);
        }
    });
}
