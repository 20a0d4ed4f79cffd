//! `buergerkoffer card`: the card reader, the card's ATR and its eID data (EF.CardAccess, read
//! without PIN), the reader's features; `--watch` prints card events and follows the reader
//! across a replug; `--verify-pin` sends a VERIFY with a PIN read from stdin (never from the
//! command line, never logged).

use std::io::Read;
use std::time::Duration;

use buergerkoffer::card::eid::{self, ReadLength, SecurityInfo};
use buergerkoffer::card::{
    CardReader, CommandApdu, Disposition, ReaderEvent, SecretBytes, ShareMode,
};
use buergerkoffer::kit::Presence;
use buergerkoffer::mock::MockCard;
use buergerkoffer::{DeviceId, DeviceInfo, DeviceKind, Error, ErrorKind};
use futures_util::StreamExt;
use serde_json::json;
use zeroize::Zeroizing;

use crate::exit;
use crate::Ctx;

/// Show the card reader and the card.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The reader, e.g. `pcsc:REINER SCT cyberJack RFID standard 00 00` (default: the
    /// profile's reader, else the first one found).
    #[arg(long)]
    device: Option<DeviceId>,
    /// Keep running and print card insertions and removals; follows the reader when it is
    /// unplugged and plugged back in.
    #[arg(long)]
    watch: bool,
    /// With --watch: stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// With --mock --watch: pull and insert the mock card, then unplug and replug the reader.
    #[arg(long)]
    demo: bool,
    /// Read a PIN from stdin (one line) and send it with VERIFY (00 20 00 03) to the card;
    /// prints the status word. For cards that take a plain PIN: the German eID card needs
    /// PACE and answers with an error.
    #[arg(long)]
    verify_pin: bool,
}

async fn choose(ctx: &Ctx, device: Option<DeviceId>) -> Result<DeviceInfo, Error> {
    let found = tokio::time::timeout(Duration::from_secs(10), ctx.kit.discover())
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "kit", "list card readers"))?;
    let readers: Vec<&DeviceInfo> = found.of_kind(DeviceKind::CardReader).collect();
    if let Some(id) = device {
        return Ok(readers
            .iter()
            .find(|d| d.id == id)
            .map(|d| (*d).clone())
            .unwrap_or_else(|| DeviceInfo::new(id.clone(), DeviceKind::CardReader, id.name())));
    }
    let expected = ctx.profile.reader.as_ref();
    if let Some(d) = readers
        .iter()
        .find(|d| expected.is_none_or(|e| e.matches(&d.id.to_string(), &d.name)))
    {
        return Ok((*d).clone());
    }
    let mut e = Error::new(ErrorKind::NotFound, "kit", "find card reader")
        .with_detail("no card reader found: plug in the card reader (USB)");
    if let Some(f) = found.failures.first() {
        e = Error::new(ErrorKind::NotFound, "kit", "find card reader")
            .with_detail(format!("no card reader found ({f})"));
    }
    Err(e)
}

/// What EF.CardAccess says, as text lines and JSON.
async fn eid_data(reader: &dyn CardReader) -> (Vec<String>, serde_json::Value) {
    let mut card = match reader.connect(ShareMode::Shared).await {
        Ok(c) => c,
        Err(e) => {
            return (
                vec![format!("cannot connect: {e}")],
                json!({"error": e.to_string()}),
            )
        }
    };
    let out = match eid::read_card_access(&mut *card, ReadLength::Short).await {
        Ok(info) => {
            let mut lines = vec![format!(
                "{}, EF.CardAccess {} bytes",
                if info.is_german_eid() {
                    "German eID card"
                } else {
                    "card with EF.CardAccess (not a German eID card)"
                },
                info.card_access.len()
            )];
            let mut infos = Vec::new();
            for si in &info.security_infos.infos {
                let text = match si {
                    SecurityInfo::Pace(p) => format!(
                        "PACE v{} {:?} {:?}, domain parameters {}",
                        p.version,
                        p.mapping,
                        p.cipher,
                        p.parameter_id.map_or_else(
                            || "not named".to_owned(),
                            |n| format!(
                                "{n} ({})",
                                eid::standardized_domain_parameters(n).unwrap_or("proprietary")
                            )
                        )
                    ),
                    SecurityInfo::TerminalAuthentication { version } => {
                        format!("Terminal Authentication v{version}")
                    }
                    SecurityInfo::ChipAuthentication {
                        version, key_id, ..
                    } => format!(
                        "Chip Authentication v{version}{}",
                        key_id.map(|k| format!(", key {k}")).unwrap_or_default()
                    ),
                    SecurityInfo::ChipAuthenticationDomainParameters { key_id, .. } => format!(
                        "Chip Authentication domain parameters{}",
                        key_id.map(|k| format!(", key {k}")).unwrap_or_default()
                    ),
                    SecurityInfo::CardInfoLocator { url } => format!("CardInfo at {url}"),
                    other => format!("{other:?}"),
                };
                infos.push(text.clone());
                lines.push(format!("  {text}"));
            }
            (
                lines,
                json!({"german_eid": info.is_german_eid(), "card_access_len": info.card_access.len(), "security_infos": infos}),
            )
        }
        Err(e) => (
            vec![format!("no eID data: {e}")],
            json!({"error": e.to_string()}),
        ),
    };
    let _ = card.disconnect(Disposition::Leave).await;
    out
}

/// Reads one line from stdin without going through std's shared stdin buffer, into memory
/// that is zeroed when dropped.
fn read_pin() -> Result<SecretBytes, Error> {
    let err = |e: std::io::Error| Error::io("stdin", "read PIN", e);
    let mut line = Zeroizing::new(Vec::with_capacity(16));
    let mut byte = Zeroizing::new([0u8; 1]);
    let mut stdin = std::io::stdin();
    loop {
        match stdin.read(&mut byte[..]).map_err(err)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ if line.len() >= 64 => {
                return Err(Error::new(ErrorKind::InvalidInput, "stdin", "read PIN")
                    .with_detail("longer than 64 bytes"))
            }
            _ => line.push(byte[0]),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.is_empty() {
        return Err(
            Error::new(ErrorKind::InvalidInput, "stdin", "read PIN").with_detail("no PIN on stdin")
        );
    }
    Ok(SecretBytes::new(line.as_slice()))
}

fn sw_meaning(sw: u16) -> String {
    match sw {
        0x9000 => "PIN accepted".into(),
        0x6983 => "PIN blocked".into(),
        s if s & 0xFFF0 == 0x63C0 => format!("wrong PIN, {} tries left", s & 0x000F),
        0x6D00 | 0x6E00 => "the card does not take a plain VERIFY (an eID card needs PACE)".into(),
        0x6982 => "security status not satisfied (PACE needed first)".into(),
        _ => "refused".into(),
    }
}

async fn verify(reader: &dyn CardReader, pin: SecretBytes) -> Result<u16, Error> {
    let mut card = reader.connect(ShareMode::Shared).await?;
    let cmd = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_secret_data(pin);
    let r = card.transmit(&cmd).await;
    let _ = card.disconnect(Disposition::Leave).await;
    Ok(r?.sw().0)
}

pub async fn run(ctx: &Ctx, args: Args) -> u8 {
    // Read the PIN first, before any device is touched.
    let pin = if args.verify_pin {
        match read_pin() {
            Ok(p) => Some(p),
            Err(e) => return exit::report_error(&e, ctx.json),
        }
    } else {
        None
    };
    let info = match choose(ctx, args.device.clone()).await {
        Ok(i) => i,
        Err(e) => return exit::report_error(&e, ctx.json),
    };
    let reader = ctx.kit.stable_reader(&info);
    let status = match tokio::time::timeout(Duration::from_secs(10), reader.status()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return exit::report_error(&e, ctx.json),
        Err(_) => {
            let e = Error::new(
                ErrorKind::Timeout,
                info.id.to_string(),
                "read reader status",
            )
            .with_detail("the reader did not answer within 10 s");
            return exit::report_error(&e, ctx.json);
        }
    };
    let features = reader.features().await.ok();
    let feature_list: Vec<&str> = features
        .iter()
        .flat_map(|f| {
            [
                (f.has_pin_pad(), "PIN pad"),
                (f.modify_pin_direct.is_some(), "PIN change on the pad"),
                (f.has_pace(), "PACE in the reader"),
            ]
        })
        .filter_map(|(has, n)| has.then_some(n))
        .collect();
    let (eid_lines, eid_json) = match &status.atr {
        Some(_) => eid_data(&reader).await,
        None => (Vec::new(), serde_json::Value::Null),
    };
    let verified = match pin {
        Some(pin) if status.atr.is_some() => Some(verify(&reader, pin).await),
        Some(_) => Some(Err(Error::new(
            ErrorKind::NotFound,
            info.id.to_string(),
            "VERIFY",
        )
        .with_detail("no card present"))),
        None => None,
    };
    if ctx.json {
        exit::print_json(&json!({
            "reader": {"id": info.id.to_string(), "name": info.name, "features": feature_list},
            "card": status.atr.as_ref().map(|a| json!({"atr": a.to_string(), "npa_atr": eid::atr_looks_like_npa(a)})),
            "eid": eid_json,
            "verify": verified.as_ref().map(|r| match r {
                Ok(sw) => json!({"sw": format!("{sw:04X}"), "meaning": sw_meaning(*sw)}),
                Err(e) => json!({"error": e.to_string()}),
            }),
        }));
    } else {
        println!("reader:   {} ({})", info.id, info.name);
        println!(
            "features: {}",
            if feature_list.is_empty() {
                "none (PIN entry on the PC)".to_owned()
            } else {
                feature_list.join(", ")
            }
        );
        match &status.atr {
            Some(atr) => println!(
                "card:     ATR {atr}{}",
                if eid::atr_looks_like_npa(atr) {
                    " (a German eID card's ATR)"
                } else {
                    ""
                }
            ),
            None => println!("card:     none inserted"),
        }
        for l in &eid_lines {
            println!("eID:      {l}");
        }
        match &verified {
            Some(Ok(sw)) => println!("VERIFY:   SW {sw:04X}: {}", sw_meaning(*sw)),
            Some(Err(e)) => println!("VERIFY:   failed: {e}"),
            None => {}
        }
    }
    if let Some(Err(e)) = &verified {
        return exit::code_for(e);
    }
    if !args.watch {
        return exit::OK;
    }
    if args.demo {
        match &ctx.mock {
            Some(m) => demo(m.mock.clone(), info.id.name().to_owned()),
            None => eprintln!("--demo works with --mock only"),
        }
    }
    watch(ctx, &reader, args.timeout).await
}

async fn watch(ctx: &Ctx, reader: &buergerkoffer::kit::StableReader, timeout: Option<f64>) -> u8 {
    if !ctx.json {
        println!("waiting for card events (Ctrl-C to stop)");
    }
    let deadline =
        timeout.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let sleep = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let mut presence = reader.presence();
    let mut events = reader.events();
    let say = |event: &str, text: String, extra: serde_json::Value| {
        tracing::info!(event, %text, "card event");
        if ctx.json {
            let mut v = json!({"event": event});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            exit::print_json(&v);
        } else {
            println!("{text}");
        }
    };
    loop {
        tokio::select! {
            _ = &mut sleep => return exit::OK,
            ev = events.next() => match ev {
                Some(ReaderEvent::CardInserted(atr)) => {
                    say("card-inserted", format!("card inserted, ATR {atr}"), json!({"atr": atr.to_string()}));
                    let (lines, _) = eid_data(reader).await;
                    for l in lines {
                        say("eid", format!("  {l}"), json!({"text": l}));
                    }
                }
                Some(ReaderEvent::CardRemoved) => say("card-removed", "card removed".into(), json!({})),
                Some(ReaderEvent::Lagged { missed }) => say("lagged", format!("missed {missed} events"), json!({"missed": missed})),
                Some(ReaderEvent::ReaderRemoved) | None => {
                    say("reader-removed", "reader removed; waiting for it to come back".into(), json!({}));
                    events = Box::pin(futures_util::stream::pending());
                }
                Some(other) => tracing::debug!(event = ?other, "unknown reader event"),
            },
            p = presence.next() => match p {
                Some(Presence::Back(info)) => {
                    say("reader-back", format!("reader back as {}", info.id), json!({"id": info.id.to_string()}));
                    // Use it again at once: status re-opens it, then the events of the new handle.
                    let _ = reader.status().await;
                    events = reader.events();
                }
                Some(Presence::Gone { last }) => say("reader-gone", format!("reader {last} gone"), json!({"id": last.to_string()})),
                Some(other) => tracing::debug!(presence = ?other, "unknown presence event"),
                None => presence = Box::pin(futures_util::stream::pending()),
            },
        }
    }
}

/// Pulls and inserts the mock card, then unplugs the reader and plugs it back in.
fn demo(mock: buergerkoffer::mock::MockKit, name: String) {
    tokio::spawn(async move {
        let Some(r) = mock.reader(&name) else { return };
        let pause = || tokio::time::sleep(Duration::from_millis(300));
        pause().await;
        r.remove_card();
        pause().await;
        r.insert(MockCard::eid());
        pause().await;
        mock.unplug(&name);
        pause().await;
        mock.plug_reader(r);
    });
}
