//! Smart-card readers and cards: the [`CardReader`] and [`Card`] traits and their value types.
//!
//! This module holds only traits and value types; backends live in their own files
//! (`backend::pcsc` behind the `pcsc` feature, the always-present mocks in [`crate::mock`]).
//!
//! A [`Card`] has one required exchange method, [`Card::transmit_raw`]; [`Card::transmit`]
//! is defaulted on top of it and handles `61xx` (GET RESPONSE) and `6Cxx` (wrong Le) for every
//! backend alike. Commands reach a backend as [`CommandBytes`], which know whether they carry a
//! secret (see [`apdu`]).

pub mod apdu;
pub mod eid;
pub mod tlv;

#[cfg(test)]
pub(crate) mod script_card;

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

pub use apdu::{CommandApdu, CommandBytes, ResponseApdu, SecretBytes, StatusWord};

use crate::device::{BoxStream, DeviceInfo};
use crate::error::{Error, ErrorKind, Result};

/// A card's Answer To Reset.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Atr(Vec<u8>);

impl Atr {
    /// Largest ATR ISO 7816-3 allows.
    pub const MAX_LEN: usize = 33;

    /// From raw bytes.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when empty or longer than 33 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return Err(Error::new(ErrorKind::Protocol, "card", "read ATR")
                .with_detail(format!("ATR of {} bytes, expected 1..=33", bytes.len())));
        }
        Ok(Atr(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Atr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&apdu::Hex(&self.0), f)
    }
}

impl fmt::Debug for Atr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atr({self})")
    }
}

impl FromStr for Atr {
    type Err = Error;

    /// Parses hex with optional spaces or colons: `3B 95 13 81 01 80 73 FF 01 00 0B`.
    fn from_str(s: &str) -> Result<Self> {
        let hex: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
        let bad = || {
            Error::new(ErrorKind::InvalidInput, "card", "parse ATR")
                .with_detail(format!("`{s}` is not hex bytes"))
        };
        if !hex.len().is_multiple_of(2) {
            return Err(bad());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(bad)
            })
            .collect::<Result<Vec<u8>>>()?;
        Atr::new(bytes)
    }
}

/// How a connection shares the card with other applications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ShareMode {
    /// Others may connect too (use transactions for exclusive sequences).
    #[default]
    Shared,
    /// No one else may connect.
    Exclusive,
    /// Talk to the reader without a card (for `control`, e.g. the feature list).
    Direct,
}

/// What happens to the card at disconnect or the end of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Disposition {
    /// Leave it as it is.
    #[default]
    Leave,
    /// Warm reset.
    Reset,
    /// Power down.
    Unpower,
    /// Eject (readers with a motor).
    Eject,
}

/// The transmission protocol in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// T=0 (byte-oriented).
    T0,
    /// T=1 (block-oriented).
    T1,
    /// Raw / direct connection.
    Raw,
}

/// A reader's state.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderStatus {
    /// The ATR of the card in the reader, if one is present.
    pub atr: Option<Atr>,
    /// Whether another application holds the card exclusively.
    pub exclusive_elsewhere: bool,
}

impl ReaderStatus {
    /// A status with or without a card.
    pub fn new(atr: Option<Atr>) -> Self {
        ReaderStatus {
            atr,
            exclusive_elsewhere: false,
        }
    }

    /// Whether a card is present.
    pub fn card_present(&self) -> bool {
        self.atr.is_some()
    }
}

/// A change at one reader.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderEvent {
    /// A card was inserted; its ATR.
    CardInserted(Atr),
    /// The card was removed.
    CardRemoved,
    /// The reader itself went away; the stream ends after this event.
    ReaderRemoved,
    /// The subscriber fell behind and missed `missed` events: call
    /// [`CardReader::status`] to re-read the state. Never a silent gap.
    Lagged {
        /// Number of events dropped for this subscriber.
        missed: u64,
    },
}

/// What a reader can do beyond plain APDUs (PC/SC part 10 features).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderFeatures {
    /// `FEATURE_VERIFY_PIN_DIRECT` control code: the reader has a PIN pad.
    pub verify_pin_direct: Option<u32>,
    /// `FEATURE_MODIFY_PIN_DIRECT` control code.
    pub modify_pin_direct: Option<u32>,
    /// `FEATURE_EXECUTE_PACE` control code: PACE runs in the reader.
    pub execute_pace: Option<u32>,
    /// All features as (tag, control code), in the order the reader listed them.
    pub all: Vec<(u8, u32)>,
}

impl ReaderFeatures {
    /// `FEATURE_VERIFY_PIN_DIRECT` tag of the part 10 feature list.
    pub const TAG_VERIFY_PIN_DIRECT: u8 = 0x06;
    /// `FEATURE_MODIFY_PIN_DIRECT` tag.
    pub const TAG_MODIFY_PIN_DIRECT: u8 = 0x07;
    /// `FEATURE_EXECUTE_PACE` tag.
    pub const TAG_EXECUTE_PACE: u8 = 0x20;

    /// Parses the answer to `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC part 10): a list of
    /// `tag (1 byte), length (1 byte, 4), control code (4 bytes, big-endian)`.
    ///
    /// ```
    /// use buergerkoffer::card::ReaderFeatures;
    /// let f = ReaderFeatures::from_feature_list(&[0x06, 0x04, 0x42, 0x33, 0x00, 0x06])?;
    /// assert!(f.has_pin_pad() && !f.has_pace());
    /// assert_eq!(f.verify_pin_direct, Some(0x4233_0006));
    /// # Ok::<(), buergerkoffer::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when an entry is cut short or its length is not 4.
    pub fn from_feature_list(bytes: &[u8]) -> Result<Self> {
        let mut f = ReaderFeatures::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            let bad = || {
                Error::new(ErrorKind::Protocol, "reader", "parse PC/SC feature list").with_detail(
                    format!("malformed entry at byte {}", bytes.len() - rest.len()),
                )
            };
            let (&[tag, len], tail) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
            if len != 4 {
                return Err(bad());
            }
            let (code, tail) = tail.split_first_chunk::<4>().ok_or_else(bad)?;
            let code = u32::from_be_bytes(*code);
            match tag {
                Self::TAG_VERIFY_PIN_DIRECT => f.verify_pin_direct = Some(code),
                Self::TAG_MODIFY_PIN_DIRECT => f.modify_pin_direct = Some(code),
                Self::TAG_EXECUTE_PACE => f.execute_pace = Some(code),
                _ => {}
            }
            f.all.push((tag, code));
            rest = tail;
        }
        Ok(f)
    }

    /// Whether the reader has a PIN pad.
    pub fn has_pin_pad(&self) -> bool {
        self.verify_pin_direct.is_some()
    }

    /// Whether PACE can run in the reader.
    pub fn has_pace(&self) -> bool {
        self.execute_pace.is_some()
    }
}

/// A smart-card reader.
///
/// Object safe: hold it as `Box<dyn CardReader>`.
#[async_trait]
pub trait CardReader: Send + Sync {
    /// Id, name and vendor of the reader.
    fn info(&self) -> &DeviceInfo;

    /// Whether a card is present, and its ATR.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when the reader was unplugged or the service went away,
    /// [`ErrorKind::Backend`] for other service failures. Cancel-safe.
    async fn status(&self) -> Result<ReaderStatus>;

    /// A stream of card insertions and removals at this reader. Each call returns a new
    /// subscriber; a subscriber that falls behind gets [`ReaderEvent::Lagged`]. The stream
    /// ends after [`ReaderEvent::ReaderRemoved`]. Dropping it stops the watch.
    fn events(&self) -> BoxStream<ReaderEvent>;

    /// Connects to the card (or, with [`ShareMode::Direct`], to the reader alone).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no card is present, [`ErrorKind::Busy`] when another
    /// application holds it exclusively, [`ErrorKind::CardRemoved`] when the card went away
    /// during the connect, [`ErrorKind::DeviceGone`] when the reader did. Cancel-safe.
    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>>;

    /// The reader's PC/SC part 10 features (PIN pad, PACE). Readers that have none return the
    /// empty set.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when the reader went away. Cancel-safe.
    async fn features(&self) -> Result<ReaderFeatures> {
        Ok(ReaderFeatures::default())
    }
}

/// A connection to a card.
///
/// The one required exchange is [`transmit_raw`](Card::transmit_raw);
/// [`transmit`](Card::transmit) adds APDU encoding and `61xx`/`6Cxx` handling on top.
#[async_trait]
pub trait Card: Send + Sync {
    /// The id of the reader this card sits in (used in error messages).
    fn reader(&self) -> &str;

    /// The card's ATR.
    fn atr(&self) -> &Atr;

    /// The protocol negotiated at connect.
    fn protocol(&self) -> Protocol;

    /// Sends encoded command bytes, returns the encoded response (data and status word),
    /// exactly as the reader delivered them.
    ///
    /// A backend must not log, keep or put into an error the bytes of a `command` that
    /// [`is_secret`](CommandBytes::is_secret) (its `Debug` and `Display` are safe to log).
    /// Raw bytes convert with `From`: `card.transmit_raw(&[0x00, 0xA4, 0x04, 0x0C].into())`.
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`] when the card was pulled or reset, [`ErrorKind::DeviceGone`]
    /// when the reader went away, [`ErrorKind::Timeout`], [`ErrorKind::Backend`].
    /// Not cancel-safe: the command may have reached the card.
    async fn transmit_raw(&mut self, command: &CommandBytes) -> Result<Vec<u8>>;

    /// Sends a command APDU and returns the full response, following `61xx` with GET RESPONSE
    /// and resending on `6Cxx` with the Le the card asks for.
    ///
    /// A non-`9000` status word is not an error here: check [`ResponseApdu::sw`] (or use
    /// [`StatusWord::check`]).
    ///
    /// # Errors
    /// As [`transmit_raw`](Card::transmit_raw); [`ErrorKind::InvalidInput`] for an APDU that
    /// cannot be encoded; [`ErrorKind::Protocol`] for a malformed response.
    /// Not cancel-safe.
    async fn transmit(&mut self, command: &CommandApdu) -> Result<ResponseApdu> {
        let reader = self.reader().to_owned();
        let mut exchange = apdu::Exchange::new(&reader, command)?;
        let mut answer = self.transmit_raw(exchange.request()).await?;
        loop {
            match exchange.feed(&answer)? {
                apdu::Step::Send(next) => answer = self.transmit_raw(&next).await?,
                apdu::Step::Done(response) => return Ok(response),
            }
        }
    }

    /// Starts an exclusive transaction: no other application can talk to the card until
    /// [`end_transaction`](Card::end_transaction). Prefer `<dyn Card>::begin`, which
    /// returns a guard.
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`], [`ErrorKind::DeviceGone`], [`ErrorKind::Busy`].
    /// Not cancel-safe (the lock may have been taken).
    async fn begin_transaction(&mut self) -> Result<()>;

    /// Ends the transaction begun by [`begin_transaction`](Card::begin_transaction).
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`], [`ErrorKind::DeviceGone`]. Not cancel-safe.
    async fn end_transaction(&mut self, disposition: Disposition) -> Result<()>;

    /// Sends a reader control command (`SCardControl`), e.g. a PC/SC part 10 request.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the reader does not know the code,
    /// [`ErrorKind::DeviceGone`]. Not cancel-safe.
    async fn control(&mut self, code: u32, data: &[u8]) -> Result<Vec<u8>>;

    /// Reconnects after a card reset, with a new share mode, optionally resetting the card.
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`], [`ErrorKind::DeviceGone`]. Not cancel-safe.
    async fn reconnect(&mut self, mode: ShareMode, disposition: Disposition) -> Result<()>;

    /// Disconnects. On failure the connection is dropped anyway (and closed by the backend).
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`], [`ErrorKind::DeviceGone`]. Not cancel-safe.
    async fn disconnect(self: Box<Self>, disposition: Disposition) -> Result<()>;

    /// Called when a [`Transaction`] guard is dropped without [`Transaction::end`]: the backend
    /// must release the lock without blocking (e.g. schedule the end on a blocking thread).
    fn abandon_transaction(&mut self) {}
}

impl dyn Card + '_ {
    /// Begins an exclusive transaction and returns a guard that borrows the card mutably, so
    /// only one transaction can be open at a time. End it with [`Transaction::end`]; dropping
    /// the guard releases the lock with [`Disposition::Leave`].
    ///
    /// # Errors
    /// As [`Card::begin_transaction`].
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        self.begin_transaction().await?;
        Ok(Transaction { card: Some(self) })
    }
}

/// An open exclusive transaction; derefs to the card.
pub struct Transaction<'a> {
    card: Option<&'a mut (dyn Card + 'a)>,
}

impl<'a> Transaction<'a> {
    /// Ends the transaction.
    ///
    /// # Errors
    /// As [`Card::end_transaction`]; the lock is released by the backend either way.
    pub async fn end(mut self, disposition: Disposition) -> Result<()> {
        match self.card.take() {
            Some(card) => card.end_transaction(disposition).await,
            None => Ok(()),
        }
    }
}

impl<'a> std::ops::Deref for Transaction<'a> {
    type Target = dyn Card + 'a;
    fn deref(&self) -> &Self::Target {
        // Invariant: `card` is only taken by `end`, which consumes the guard.
        match &self.card {
            Some(c) => &**c,
            None => unreachable!("transaction used after end"),
        }
    }
}

impl<'a> std::ops::DerefMut for Transaction<'a> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.card {
            Some(c) => &mut **c,
            None => unreachable!("transaction used after end"),
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            card.abandon_transaction();
        }
    }
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("reader", &self.card.as_ref().map(|c| c.reader()))
            .finish()
    }
}

impl fmt::Debug for dyn Card + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("reader", &self.reader())
            .field("atr", self.atr())
            .field("protocol", &self.protocol())
            .finish()
    }
}

impl fmt::Debug for dyn CardReader + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardReader")
            .field("id", &self.info().id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_parses_and_prints() {
        let atr: Atr = "3B 95 13 81 01 80 73 FF 01 00 0B".parse().unwrap();
        assert_eq!(atr.as_bytes().len(), 11);
        assert_eq!(atr.to_string(), "3B 95 13 81 01 80 73 FF 01 00 0B");
        assert_eq!("3b:95".parse::<Atr>().unwrap().as_bytes(), &[0x3B, 0x95]);
        assert_eq!(
            "3B9".parse::<Atr>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            "zz".parse::<Atr>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            Atr::new(vec![0; 34]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn feature_list_parses_and_rejects_garbage() {
        let f = ReaderFeatures::from_feature_list(&[
            0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x20, 0x04, 0x42, 0x33, 0x00, 0x20, 0x12, 0x04, 0,
            0, 0, 1,
        ])
        .unwrap();
        assert!(f.has_pin_pad() && f.has_pace());
        assert_eq!(f.all.len(), 3);
        assert!(ReaderFeatures::from_feature_list(&[])
            .unwrap()
            .all
            .is_empty());
        for bad in [&[0x06][..], &[0x06, 0x04, 1, 2, 3], &[0x06, 0x02, 1, 2]] {
            assert_eq!(
                ReaderFeatures::from_feature_list(bad).unwrap_err().kind(),
                ErrorKind::Protocol
            );
        }
    }
}
