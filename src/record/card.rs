//! [`RecordingReader`] and [`RecordingCard`]: wrap any [`CardReader`] / [`Card`] and write
//! what happens to the session — status, features, connects, every APDU exchange with its
//! response and timing, transactions, control calls, and the reader events a subscriber
//! received.
//!
//! Secrets never reach the file: a command that [`is_secret`](CommandBytes::is_secret) (VERIFY,
//! CHANGE REFERENCE DATA, RESET RETRY COUNTER, anything marked sensitive) and every GENERAL
//! AUTHENTICATE (`86`/`87`, PACE) is written as its 4-byte header and its length only;
//! control calls (`SCardControl`, e.g. a PC/SC part 10 EstablishPACEChannel that can carry a
//! PIN) as their code and input length only.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures_core::Stream;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::format::hex;
use super::recorder::{Rec, Recorder};
use super::values::{
    disposition, protocol_name, share_mode, to_value, ConnectRec, EventRec, FeaturesRec, StatusRec,
};
use crate::card::{
    Atr, Card, CardReader, CommandBytes, Disposition, Protocol, ReaderEvent, ReaderFeatures,
    ReaderStatus, ShareMode,
};
use crate::device::{BoxStream, DeviceInfo};
use crate::error::Result;

/// Whether a command is written as header and length only: a secret, or PACE's GENERAL
/// AUTHENTICATE (`86`/`87`) whatever its marking.
pub(crate) fn hidden(cmd: &CommandBytes) -> bool {
    cmd.is_secret() || matches!(cmd.ins(), Some(0x86 | 0x87))
}

/// A command as written in the file: `{"cmd":"00 A4 .."}`, or for a hidden one
/// `{"cmd":"00 20 00 03","secret":11}` (the header and the whole length).
pub(crate) fn command_value(cmd: &CommandBytes) -> Value {
    if hidden(cmd) {
        hidden_value(cmd)
    } else {
        json!({ "cmd": hex(cmd.as_bytes()) })
    }
}

/// A command written as header and length only, whatever it is.
pub(crate) fn hidden_value(cmd: &CommandBytes) -> Value {
    let b = cmd.as_bytes();
    json!({ "cmd": hex(&b[..b.len().min(4)]), "secret": b.len() })
}

/// A [`CardReader`] that records everything done with it (see [`Recorder::reader`]).
pub struct RecordingReader {
    inner: Box<dyn CardReader>,
    rec: Recorder,
    dev: String,
}

impl fmt::Debug for RecordingReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingReader")
            .field("id", &self.dev)
            .finish()
    }
}

impl RecordingReader {
    pub(crate) fn new(inner: Box<dyn CardReader>, rec: Recorder) -> Self {
        rec.device(inner.info());
        let dev = inner.info().id.to_string();
        RecordingReader { inner, rec, dev }
    }
}

#[async_trait]
impl CardReader for RecordingReader {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let t0 = self.rec.now();
        let r = self.inner.status().await;
        self.rec
            .write(Rec::new(&self.dev, "status", t0).result(&r, |s| to_value(&StatusRec::of(s))));
        r
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        let sub = self.rec.next_sub();
        let t0 = self.rec.now();
        let inner = self.inner.events();
        self.rec
            .write(Rec::new(&self.dev, "events", t0).ok(json!({ "sub": sub })));
        Box::pin(RecordingEvents {
            inner,
            rec: self.rec.clone(),
            dev: self.dev.clone(),
            sub,
            last: t0,
        })
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        let t0 = self.rec.now();
        let r = self.inner.connect(mode).await;
        let req = json!({ "mode": share_mode(mode) });
        match r {
            Ok(card) => {
                let conn = self.rec.next_conn();
                let ok = ConnectRec {
                    conn,
                    reader: card.reader().to_owned(),
                    atr: card.atr().to_string(),
                    protocol: protocol_name(card.protocol()).to_owned(),
                };
                self.rec.write(
                    Rec::new(&self.dev, "connect", t0)
                        .req(req)
                        .ok(to_value(&ok)),
                );
                Ok(Box::new(RecordingCard {
                    inner: card,
                    rec: self.rec.clone(),
                    dev: self.dev.clone(),
                    conn,
                }))
            }
            Err(e) => {
                self.rec
                    .write(Rec::new(&self.dev, "connect", t0).req(req).err(&e));
                Err(e)
            }
        }
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let t0 = self.rec.now();
        let r = self.inner.features().await;
        self.rec.write(
            Rec::new(&self.dev, "features", t0)
                .result(&r, |f| to_value(&FeaturesRec { all: f.all.clone() })),
        );
        r
    }
}

/// The event stream of a [`RecordingReader`]: each event is recorded as the subscriber
/// receives it.
struct RecordingEvents {
    inner: BoxStream<ReaderEvent>,
    rec: Recorder,
    dev: String,
    sub: u32,
    last: Instant,
}

impl Stream for RecordingEvents {
    type Item = ReaderEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ReaderEvent>> {
        let r = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(item) = &r {
            let now = self.rec.now();
            let rec = match item {
                Some(ev) => Rec::new(&self.dev, "event", now)
                    .sub(self.sub)
                    .item(self.last)
                    .ok(to_value(&EventRec::of(ev))),
                None => Rec::new(&self.dev, "events_end", now)
                    .sub(self.sub)
                    .item(self.last),
            };
            self.rec.write(rec);
            self.last = now;
        }
        r
    }
}

/// A [`Card`] that records every exchange (what [`RecordingReader::connect`] returns; wrap a
/// card from elsewhere, e.g. one speaking secure messaging, with [`RecordingCard::wrap`]).
///
/// It records [`transmit_raw`](Card::transmit_raw), the one exchange every card has;
/// [`transmit`](Card::transmit) keeps its default on top, so `61xx` / `6Cxx` follow-ups are
/// recorded as the exchanges they are. To record *above* secure messaging (so that a replay
/// needs no session keys), wrap the card that does the secure messaging.
pub struct RecordingCard {
    inner: Box<dyn Card>,
    rec: Recorder,
    dev: String,
    conn: u32,
}

impl fmt::Debug for RecordingCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingCard")
            .field("reader", &self.dev)
            .field("conn", &self.conn)
            .finish()
    }
}

impl RecordingCard {
    /// Wraps a card connection made elsewhere (e.g. the secure-messaging card PACE gives),
    /// recording it as a new connection of the reader `reader_id` (a [`DeviceId`] text; use
    /// the reader's `info().id`). The connect is recorded as well, with the mode `"*"`, so a
    /// replay hands this card out at the next `connect`, whatever its share mode.
    ///
    /// [`DeviceId`]: crate::DeviceId
    pub fn wrap(card: Box<dyn Card>, reader_id: &str, recorder: &Recorder) -> Self {
        let conn = recorder.next_conn();
        let ok = ConnectRec {
            conn,
            reader: card.reader().to_owned(),
            atr: card.atr().to_string(),
            protocol: protocol_name(card.protocol()).to_owned(),
        };
        recorder.write(
            Rec::new(reader_id, "connect", recorder.now())
                .req(json!({ "mode": "*" }))
                .ok(to_value(&ok)),
        );
        RecordingCard {
            inner: card,
            rec: recorder.clone(),
            dev: reader_id.to_owned(),
            conn,
        }
    }

    fn entry(&self, op: &'static str, t0: Instant) -> Rec {
        Rec::new(&self.dev, op, t0).conn(self.conn)
    }
}

#[async_trait]
impl Card for RecordingCard {
    fn reader(&self) -> &str {
        self.inner.reader()
    }

    fn atr(&self) -> &Atr {
        self.inner.atr()
    }

    fn protocol(&self) -> Protocol {
        self.inner.protocol()
    }

    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>> {
        let t0 = self.rec.now();
        let r = self.inner.transmit_raw(command).await;
        self.rec.write(
            self.entry("transmit", t0)
                .req(command_value(command))
                .result(&r, |b| Value::from(hex(b))),
        );
        r
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        let t0 = self.rec.now();
        let r = self.inner.begin_transaction().await;
        self.rec.write(
            self.entry("begin_transaction", t0)
                .result(&r, |()| json!({})),
        );
        r
    }

    async fn end_transaction(&mut self, d: Disposition) -> Result<()> {
        let t0 = self.rec.now();
        let r = self.inner.end_transaction(d).await;
        self.rec.write(
            self.entry("end_transaction", t0)
                .req(json!({ "disposition": disposition(d) }))
                .result(&r, |()| json!({})),
        );
        r
    }

    async fn control(&mut self, code: u32, data: &[u8]) -> Result<Vec<u8>> {
        let t0 = self.rec.now();
        let r = self.inner.control(code, data).await;
        self.rec.write(
            self.entry("control", t0)
                .req(json!({ "code": code, "len": data.len() }))
                .result(&r, |b| Value::from(hex(b))),
        );
        r
    }

    async fn reconnect(&mut self, mode: ShareMode, d: Disposition) -> Result<()> {
        let t0 = self.rec.now();
        let r = self.inner.reconnect(mode, d).await;
        self.rec.write(
            self.entry("reconnect", t0)
                .req(json!({ "mode": share_mode(mode), "disposition": disposition(d) }))
                .result(&r, |()| json!({})),
        );
        r
    }

    async fn disconnect(self: Box<Self>, d: Disposition) -> Result<()> {
        let t0 = self.rec.now();
        let entry = self.entry("disconnect", t0);
        let RecordingCard { inner, rec, .. } = *self;
        let r = inner.disconnect(d).await;
        rec.write(
            entry
                .req(json!({ "disposition": disposition(d) }))
                .result(&r, |()| json!({})),
        );
        r
    }

    fn abandon_transaction(&mut self) {
        self.inner.abandon_transaction();
        self.rec
            .write(self.entry("abandon_transaction", self.rec.now()).note());
    }
}
