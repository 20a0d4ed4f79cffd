//! [`ReplayReader`] and [`ReplayCard`]: a card reader and its cards played back from a
//! session — status, features, connects, every APDU exchange, transactions, control calls
//! and the events each subscription received.
//!
//! A command recorded as secret (header and length only) is matched by its header and length;
//! every other command by all its bytes (or the recording's `??` wildcards).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::card::{command_value, hidden_value};
use super::format::{unhex, Channel, Entry};
use super::session::Shared;
use super::values::{
    atr, bad, disposition, from_value, protocol, share_mode, ConnectRec, EventRec, FeaturesRec,
    StatusRec,
};
use crate::card::{
    Atr, Card, CardReader, CommandBytes, Disposition, Protocol, ReaderEvent, ReaderFeatures,
    ReaderStatus, ShareMode,
};
use crate::device::{BoxStream, DeviceInfo};
use crate::error::Result;

/// The recorded result of an entry: its error, or its `ok` value.
pub(crate) fn answer(entry: &Entry) -> Result<&Value> {
    if let Some(e) = &entry.err {
        return Err(e.to_error());
    }
    entry.ok.as_ref().ok_or_else(|| {
        bad(format!(
            "line {}: {} without a result",
            entry.seq + 1,
            entry.op
        ))
    })
}

/// Takes the entry for a call, waits as recorded, and gives its result.
pub(crate) async fn call(
    shared: &Shared,
    dev: &str,
    ch: Channel,
    op: &str,
    req: &(dyn Fn(&Value) -> Value + Sync),
) -> Result<Entry> {
    let entry = shared.take(dev, ch, op, req)?;
    shared.pace(&entry).await;
    Ok(entry)
}

/// A card reader played back from a session (see [`ReplayKit`](super::ReplayKit)).
#[derive(Clone)]
pub struct ReplayReader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) info: DeviceInfo,
    pub(crate) dev: String,
}

impl fmt::Debug for ReplayReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayReader")
            .field("id", &self.dev)
            .finish()
    }
}

impl ReplayReader {
    async fn call(&self, op: &str, req: Value) -> Result<Entry> {
        call(&self.shared, &self.dev, Channel::Device, op, &|_| {
            req.clone()
        })
        .await
    }
}

#[async_trait]
impl CardReader for ReplayReader {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let e = self.call("status", Value::Null).await?;
        from_value::<StatusRec>(answer(&e)?, "reader status")?.to_status()
    }

    /// The recorded events of the next subscription, in order. After the last recorded event
    /// the stream stays pending (no more events came while recording), unless the recording
    /// saw the stream end.
    fn events(&self) -> BoxStream<ReaderEvent> {
        let sub = self
            .shared
            .take(&self.dev, Channel::Device, "events", &|_| Value::Null)
            .ok()
            .and_then(|e| e.ok.as_ref()?.get("sub")?.as_u64())
            .and_then(|n| u32::try_from(n).ok());
        let Some(sub) = sub else {
            return Box::pin(futures_util::stream::empty());
        };
        let state = (self.shared.clone(), self.dev.clone(), sub);
        Box::pin(futures_util::stream::unfold(
            state,
            |(shared, dev, sub)| async move {
                loop {
                    let Some(entry) = shared.pop(&dev, Channel::Sub(sub)) else {
                        std::future::pending::<()>().await;
                        continue;
                    };
                    shared.pace(&entry).await;
                    if entry.op != "event" {
                        return None;
                    }
                    let ev = entry
                        .ok
                        .as_ref()
                        .ok_or_else(|| bad("event without a value"))
                        .and_then(|v| from_value::<EventRec>(v, "reader event"))
                        .and_then(|r| r.to_event());
                    match ev {
                        Ok(ev) => return Some((ev, (shared, dev, sub))),
                        Err(e) => {
                            shared.problem(format!("{dev} event subscription {sub}: {e}"));
                            return None;
                        }
                    }
                }
            },
        ))
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        let e = self
            .call("connect", json!({ "mode": share_mode(mode) }))
            .await?;
        let c: ConnectRec = from_value(answer(&e)?, "connect")?;
        Ok(Box::new(ReplayCard {
            shared: self.shared.clone(),
            dev: self.dev.clone(),
            conn: c.conn,
            atr: atr(&c.atr)?,
            protocol: protocol(&c.protocol)?,
            reader: c.reader,
        }))
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let e = self.call("features", Value::Null).await?;
        Ok(from_value::<FeaturesRec>(answer(&e)?, "reader features")?.to_features())
    }
}

/// A card connection played back from a session (what [`ReplayReader::connect`] returns).
pub struct ReplayCard {
    shared: Arc<Shared>,
    dev: String,
    conn: u32,
    reader: String,
    atr: Atr,
    protocol: Protocol,
}

impl fmt::Debug for ReplayCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayCard")
            .field("reader", &self.dev)
            .field("conn", &self.conn)
            .finish()
    }
}

impl ReplayCard {
    async fn call(&self, op: &str, req: &(dyn Fn(&Value) -> Value + Sync)) -> Result<Entry> {
        call(&self.shared, &self.dev, Channel::Conn(self.conn), op, req).await
    }

    async fn unit(&self, op: &str, req: Value) -> Result<()> {
        let e = self.call(op, &|_| req.clone()).await?;
        answer(&e).map(|_| ())
    }
}

fn bytes(v: &Value, what: &str) -> Result<Vec<u8>> {
    v.as_str()
        .and_then(unhex)
        .ok_or_else(|| bad(format!("{what}: not hex bytes")))
}

#[async_trait]
impl Card for ReplayCard {
    fn reader(&self) -> &str {
        &self.reader
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>> {
        let e = self
            .call("transmit", &|rec: &Value| {
                if rec.get("secret").is_some() {
                    hidden_value(command)
                } else {
                    command_value(command)
                }
            })
            .await?;
        bytes(answer(&e)?, "response")
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        self.unit("begin_transaction", Value::Null).await
    }

    async fn end_transaction(&mut self, d: Disposition) -> Result<()> {
        self.unit("end_transaction", json!({ "disposition": disposition(d) }))
            .await
    }

    async fn control(&mut self, code: u32, data: &[u8]) -> Result<Vec<u8>> {
        let req = json!({ "code": code, "len": data.len() });
        let e = self.call("control", &|_| req.clone()).await?;
        bytes(answer(&e)?, "control response")
    }

    async fn reconnect(&mut self, mode: ShareMode, d: Disposition) -> Result<()> {
        self.unit(
            "reconnect",
            json!({ "mode": share_mode(mode), "disposition": disposition(d) }),
        )
        .await
    }

    async fn disconnect(self: Box<Self>, d: Disposition) -> Result<()> {
        self.unit("disconnect", json!({ "disposition": disposition(d) }))
            .await
    }

    fn abandon_transaction(&mut self) {
        let _ = self.shared.take(
            &self.dev,
            Channel::Conn(self.conn),
            "abandon_transaction",
            &|_| Value::Null,
        );
    }
}
