//! German eID card tasks of a citizens' office: card and PIN state, reading a file with the
//! CAN, changing the PIN, unblocking it with the PUK.
//!
//! ```text
//! eid [--device ID] status                      card, PACE algorithm, PIN state
//! eid [--device ID] read --can CAN --file FID   PACE with the CAN, SELECT + READ BINARY of
//!                                               FID (hex) under secure messaging; prints
//!                                               the bytes as hex on one line
//! eid [--device ID] change-pin                  PIN from BK_PIN, new PIN from BK_NEW_PIN,
//! eid [--device ID] unblock                     PUK from BK_PUK; else asked on the terminal
//!                                               without echo
//! ```
//!
//! The default device is the mock kit's reader (`mock:reader`, with the mock eID card:
//! CAN 123456, transport PIN 12345, PUK 1234567890, EF 0101 readable under SM). Other
//! readers need their backend, e.g.
//! `cargo run --example eid --features pcsc -- --device "pcsc:Virtual PCD 00 01" status`.
//!
//! Exit status: 0 done, 1 failed or refused (the reason is printed), 2 usage.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, ExitCode, Stdio};

use buergerkoffer::card::eid::{Eid, Password, PinOutcome, PinStatus};
use buergerkoffer::card::ShareMode;
use buergerkoffer::mock::MockKit;
use buergerkoffer::{Backend, DeviceId, Kit, Result};
use zeroize::Zeroizing;

const USAGE: &str =
    "usage: eid [--device ID] status | read --can CAN --file FID | change-pin | unblock";

enum Task {
    Status,
    Read { can: Zeroizing<String>, fid: u16 },
    ChangePin,
    Unblock,
}

fn parse() -> std::result::Result<(DeviceId, Task), String> {
    let mut device = DeviceId::mock("reader");
    let (mut task, mut can, mut fid) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--device" => device = value()?.parse().map_err(|e| format!("{e}"))?,
            "--can" => can = Some(Zeroizing::new(value()?)),
            "--file" => {
                let v = value()?;
                let v = v.trim_start_matches("0x");
                fid = Some(u16::from_str_radix(v, 16).map_err(|_| format!("FID {v} is not hex"))?);
            }
            "status" | "read" | "change-pin" | "unblock" if task.is_none() => task = Some(a),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let task = match task.as_deref() {
        Some("status") => Task::Status,
        Some("read") => Task::Read {
            can: can.ok_or("read needs --can")?,
            fid: fid.ok_or("read needs --file")?,
        },
        Some("change-pin") => Task::ChangePin,
        Some("unblock") => Task::Unblock,
        _ => return Err("no task given".into()),
    };
    Ok((device, task))
}

/// A secret from `var`, or asked on the terminal without echo.
fn secret(var: &str, prompt: &str) -> Zeroizing<String> {
    if let Ok(v) = std::env::var(var) {
        return Zeroizing::new(v);
    }
    let tty = std::io::stdin().is_terminal();
    let stty = |arg: &str| {
        let _ = Command::new("stty")
            .arg(arg)
            .stdin(Stdio::inherit())
            .status();
    };
    eprint!("{prompt}: ");
    let _ = std::io::stderr().flush();
    if tty {
        stty("-echo");
    }
    let mut line = Zeroizing::new(String::new());
    let _ = std::io::stdin().lock().read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    Zeroizing::new(line.trim().to_owned())
}

fn describe_status(s: PinStatus) -> String {
    match s {
        PinStatus::Ready { retries_left } => format!("ready, {retries_left} tries left"),
        PinStatus::TransportPin { retries_left } => {
            format!("transport PIN set, {retries_left} tries left")
        }
        PinStatus::Suspended => "suspended: enter the CAN, then the PIN".into(),
        PinStatus::Blocked => "blocked: unblock with the PUK".into(),
        PinStatus::Deactivated => "deactivated".into(),
        other => format!("{other:?}"),
    }
}

/// Prints an outcome; true when it is `Ok`.
fn report(what: &str, o: PinOutcome) -> bool {
    match o {
        PinOutcome::Ok => println!("{what}: done"),
        PinOutcome::WrongPin { retries_left } => {
            println!("{what}: wrong PIN, {retries_left} tries left")
        }
        PinOutcome::WrongPassword { kind } => println!("{what}: wrong {kind}"),
        PinOutcome::Suspended => println!("{what}: PIN suspended, enter the CAN first"),
        PinOutcome::Blocked => println!("{what}: blocked, unblock with the PUK"),
        PinOutcome::Deactivated => println!("{what}: the eID function is deactivated"),
        other => println!("{what}: {other:?}"),
    }
    o == PinOutcome::Ok
}

async fn run(device: DeviceId, task: Task) -> Result<bool> {
    let kit = if device.backend() == &Backend::Mock {
        Kit::new().with_provider(MockKit::standard())
    } else {
        Kit::with_enabled_backends()
    };
    let reader = kit.open_reader(&device).await?;
    // PACE runs in the reader when it offers FEATURE_EXECUTE_PACE, else on this host.
    let mut eid = Eid::connect(reader.as_ref(), ShareMode::Shared).await?;
    let atr = eid.card()?.atr().clone();
    Ok(match task {
        Task::Status => {
            println!("card: ATR {atr}");
            println!(
                "German eID card: {}",
                if eid.info().is_german_eid() {
                    "yes"
                } else {
                    "no"
                }
            );
            println!("PACE: {}", eid.algorithm());
            let offered = if eid.pace_in_reader() { "yes" } else { "no" };
            println!("reader offers PACE (EXECUTE_PACE): {offered}");
            println!("PIN: {}", describe_status(eid.pin_status().await?));
            true
        }
        Task::Read { can, fid } => {
            // Only the file's hex goes to stdout.
            let outcome = eid.pace(&Password::can(&can)?).await?;
            if outcome != PinOutcome::Ok {
                eprintln!("PACE with the CAN refused: {outcome:?}");
                return Ok(false);
            }
            let data = eid.read_file(fid, 65_536).await?;
            println!(
                "{}",
                data.iter().map(|b| format!("{b:02X}")).collect::<String>()
            );
            true
        }
        Task::ChangePin => {
            let current = Password::pin(&secret("BK_PIN", "current PIN (or transport PIN)"))?;
            let new = Password::pin(&secret("BK_NEW_PIN", "new PIN (6 digits)"))?;
            report("change PIN", eid.change_pin(&current, &new).await?)
        }
        Task::Unblock => {
            let puk = Password::puk(&secret("BK_PUK", "PUK"))?;
            report("unblock PIN", eid.unblock_pin(&puk).await?)
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (device, task) = match parse() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(device, task).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
