//! The connection a [`MockReader`] hands out (`Box<dyn Card>`): scripted transmits with
//! delays, hangs and removals that end like a real reader's, transactions, control codes.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::step::Action;
use super::{MockCard, MockReader, GET_FEATURE_REQUEST};
use crate::card::apdu::CommandBytes;
use crate::card::{Atr, Card, Disposition, Protocol, ShareMode};
use crate::error::{Error, ErrorKind, Result};
use crate::mock::script::lock;

/// A connection to the mock card (the `Box<dyn Card>` that `connect` returns).
pub(super) struct Connection {
    pub(super) reader: MockReader,
    pub(super) id: String,
    pub(super) atr: Atr,
    pub(super) card: Option<MockCard>,
    pub(super) generation: u64,
    pub(super) conn: u64,
    pub(super) exclusive: bool,
}

impl Connection {
    /// Fails when the reader is gone or the card this connection talks to was removed.
    fn check(&self, op: &'static str) -> Result<()> {
        let s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id.clone(), op));
        }
        if self.card.is_some() && (s.card.is_none() || s.generation != self.generation) {
            return Err(Error::new(ErrorKind::CardRemoved, self.id.clone(), op));
        }
        Ok(())
    }

    /// Waits `delay` (forever for `None`), ending early with the error a real reader gives
    /// when the card is pulled or the reader unplugged meanwhile. `changes` was subscribed
    /// before the last [`check`](Self::check), so no change is missed.
    async fn wait(
        &self,
        delay: Option<Duration>,
        changes: &mut watch::Receiver<u64>,
    ) -> Result<()> {
        if delay == Some(Duration::ZERO) {
            return Ok(());
        }
        let sleep = async {
            match delay {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        // Worded as the PC/SC backend words it.
        let check = || {
            self.check("transmit").map_err(|e| match e.kind() {
                ErrorKind::CardRemoved => e.with_detail("the card was removed during the command"),
                _ => e.with_detail("the reader was unplugged during the command"),
            })
        };
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return check(),
                changed = changes.changed() => {
                    check()?;
                    if changed.is_err() {
                        // The reader's sender is gone (it cannot be while this connection
                        // holds the reader): nothing can interrupt the wait any more.
                        sleep.as_mut().await;
                        return check();
                    }
                }
            }
        }
    }

    fn release_transaction(&self) {
        let mut s = lock(&self.reader.inner.state);
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut s = lock(&self.reader.inner.state);
        s.connections = s.connections.saturating_sub(1);
        if self.exclusive {
            s.exclusive = false;
        }
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
    }
}

#[async_trait]
impl Card for Connection {
    fn reader(&self) -> &str {
        &self.id
    }

    fn atr(&self) -> &Atr {
        &self.atr
    }

    fn protocol(&self) -> Protocol {
        if self.card.is_some() {
            Protocol::T1
        } else {
            Protocol::Raw
        }
    }

    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>> {
        // Subscribe before the check: a removal right after it still wakes the wait below.
        let mut changes = self.reader.changes();
        self.check("transmit")?;
        let Some(card) = self.card.clone() else {
            return Err(
                Error::new(ErrorKind::InvalidInput, self.id.clone(), "transmit")
                    .with_detail("a direct connection has no card to talk to"),
            );
        };
        {
            let s = lock(&self.reader.inner.state);
            if s.transaction_owner.is_some_and(|o| o != self.conn) {
                return Err(Error::new(ErrorKind::Busy, self.id.clone(), "transmit")
                    .with_detail("another connection holds a transaction"));
            }
        }
        // `CommandBytes` displays secret commands by header and length only.
        tracing::trace!(device = %self.id, command = %command, "mock transmit");
        let step = card.answer(command).map_err(|why| {
            Error::new(ErrorKind::InvalidInput, self.id.clone(), "transmit").with_detail(why)
        })?;
        // The card may be pulled (or the reader unplugged) meanwhile: that ends the wait.
        self.wait(Some(step.delay), &mut changes).await?;
        match step.action {
            Action::Respond(r) => Ok(r),
            Action::Fail(kind) => {
                Err(Error::new(kind, self.id.clone(), "transmit").with_detail("injected failure"))
            }
            Action::Hang => {
                // Ends only with the card or the reader.
                self.wait(None, &mut changes).await?;
                Err(Error::new(ErrorKind::Backend, self.id.clone(), "transmit")
                    .with_detail("a hanging step ended without a removal"))
            }
            Action::RemoveCard => {
                self.reader.remove_card();
                Err(
                    Error::new(ErrorKind::CardRemoved, self.id.clone(), "transmit")
                        .with_detail("card pulled during the command"),
                )
            }
        }
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        self.check("begin transaction")?;
        let mut s = lock(&self.reader.inner.state);
        if let Some(kind) = s.fail_next_begin.take() {
            return Err(Error::new(kind, self.id.clone(), "begin transaction")
                .with_detail("injected failure"));
        }
        match s.transaction_owner {
            Some(o) if o != self.conn => {
                Err(
                    Error::new(ErrorKind::Busy, self.id.clone(), "begin transaction")
                        .with_detail("another connection holds a transaction"),
                )
            }
            _ => {
                s.transaction_owner = Some(self.conn);
                Ok(())
            }
        }
    }

    async fn end_transaction(&mut self, _disposition: Disposition) -> Result<()> {
        let r = self.check("end transaction");
        self.release_transaction();
        r
    }

    async fn control(&mut self, code: u32, _data: &[u8]) -> Result<Vec<u8>> {
        let s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "control",
            ));
        }
        if code == GET_FEATURE_REQUEST {
            let mut out = Vec::with_capacity(s.features.len() * 6);
            for (tag, ctl) in &s.features {
                out.push(*tag);
                out.push(4);
                out.extend_from_slice(&ctl.to_be_bytes());
            }
            return Ok(out);
        }
        match s.controls.get(&code) {
            Some(r) => Ok(r.clone()),
            None => Err(
                Error::new(ErrorKind::Unsupported, self.id.clone(), "control")
                    .with_detail(format!("control code 0x{code:08X} not supported")),
            ),
        }
    }

    async fn reconnect(&mut self, mode: ShareMode, _disposition: Disposition) -> Result<()> {
        let mut s = lock(&self.reader.inner.state);
        if s.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "reconnect",
            ));
        }
        match &s.card {
            Some(c) => {
                self.atr = c.atr().clone();
                self.card = Some(c.clone());
                self.generation = s.generation;
            }
            None if mode == ShareMode::Direct => self.card = None,
            None => {
                return Err(Error::new(
                    ErrorKind::CardRemoved,
                    self.id.clone(),
                    "reconnect",
                ))
            }
        }
        if s.transaction_owner == Some(self.conn) {
            s.transaction_owner = None;
        }
        Ok(())
    }

    async fn disconnect(self: Box<Self>, _disposition: Disposition) -> Result<()> {
        // Drop releases the connection either way.
        if self.reader.is_gone() {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id.clone(),
                "disconnect",
            ));
        }
        Ok(())
    }

    fn abandon_transaction(&mut self) {
        self.release_transaction();
    }
}
