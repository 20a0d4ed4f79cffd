//! [`SmCard`]: a [`Card`] that sends every APDU through a secure-messaging channel to the card
//! it wraps. Transactions, control and the `61xx`/`6Cxx` handling of [`Card::transmit`] work
//! unchanged: the wrapped card follows `61xx` of the protected exchange, and the default
//! `transmit` of this card follows the `61xx`/`6Cxx` the card reports inside DO99 (each retry
//! is a new protected command).

use std::fmt;

use async_trait::async_trait;

use super::SmChannel;
use crate::card::apdu::{CommandApdu, CommandBytes, ResponseApdu};
use crate::card::eid::pace::SessionKeys;
use crate::card::{Atr, Card, Disposition, Protocol, ShareMode};
use crate::error::Result;

/// A card behind a secure-messaging channel, as PACE returns it.
///
/// A wrong MAC, a response without DO99 or any other failed check is an
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) error and closes the channel: every
/// later `transmit` fails the same way until PACE runs again (on the card from
/// [`into_inner`](SmCard::into_inner)). A transport error in the middle of an exchange closes
/// it too (the card and this side no longer agree on the counter), and so does `reconnect`.
pub struct SmCard {
    inner: Box<dyn Card>,
    channel: SmChannel,
}

impl SmCard {
    pub(crate) fn new(inner: Box<dyn Card>, keys: SessionKeys) -> Self {
        let channel = SmChannel::new(keys, inner.reader());
        SmCard { inner, channel }
    }

    /// Whether the channel is still open.
    pub fn is_open(&self) -> bool {
        self.channel.is_open()
    }

    /// Ends secure messaging (wiping the keys) and returns the plain card, e.g. to run PACE
    /// again with another password.
    pub fn into_inner(mut self) -> Box<dyn Card> {
        self.channel.close("ended by the caller");
        self.inner
    }

    /// Sends one command under secure messaging and returns the checked, decrypted response
    /// (without the `61xx`/`6Cxx` handling of [`Card::transmit`]).
    ///
    /// # Errors
    /// As [`Card::transmit_raw`].
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn transmit_protected(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu> {
        let protected = self.channel.protect(cmd)?;
        match self.inner.transmit(&protected).await {
            Ok(resp) => self.channel.unprotect(&resp),
            Err(e) => {
                self.channel.close("the transport failed mid-exchange");
                Err(e)
            }
        }
    }
}

impl fmt::Debug for SmCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmCard")
            .field("reader", &self.inner.reader())
            .field("open", &self.channel.is_open())
            .finish()
    }
}

#[async_trait]
impl Card for SmCard {
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
        let cmd = CommandApdu::from_bytes(command.as_bytes())?.sensitive_if(command.is_secret());
        Ok(self.transmit_protected(&cmd).await?.to_bytes())
    }

    async fn begin_transaction(&mut self) -> Result<()> {
        self.inner.begin_transaction().await
    }

    async fn end_transaction(&mut self, disposition: Disposition) -> Result<()> {
        if disposition != Disposition::Leave {
            self.channel.close("the card was reset");
        }
        self.inner.end_transaction(disposition).await
    }

    async fn control(&mut self, code: u32, data: &[u8]) -> Result<Vec<u8>> {
        self.inner.control(code, data).await
    }

    async fn reconnect(&mut self, mode: ShareMode, disposition: Disposition) -> Result<()> {
        self.channel.close("the card was reconnected");
        self.inner.reconnect(mode, disposition).await
    }

    async fn disconnect(mut self: Box<Self>, disposition: Disposition) -> Result<()> {
        self.channel.close("disconnected");
        self.inner.disconnect(disposition).await
    }

    fn abandon_transaction(&mut self) {
        self.inner.abandon_transaction();
    }
}
