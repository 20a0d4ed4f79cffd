//! [`Eid`]: a PACE card with its secure channel, and the PIN workflows of a citizens' office
//! (PIN state, change PIN, resume with CAN, unblock with PUK) with typed answers.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::card::eid::{Eid, Password, PinOutcome};
//! use buergerkoffer::card::{CardReader, ShareMode};
//! use buergerkoffer::mock::{MockCard, MockReader};
//! let reader = MockReader::new("reader").with_card(MockCard::eid());
//! let mut eid = Eid::open(reader.connect(ShareMode::Shared).await?).await?;
//! assert_eq!(eid.algorithm().curve_name(), "brainpoolP256r1");
//! # Ok(()) }
//! ```

use std::fmt;

use tracing::debug;

use super::pace::protocol::{self, KeySource, PaceEnd, RandomKeys};
use super::pace::reader::{self, ReaderAnswer};
use super::pin::{mse_answer, MseAnswer, PinOutcome, PinStatus};
use super::{
    command, read_card_access, secret_command, EidInfo, PaceAlgorithm, Password, PasswordKind,
};
use super::{ReadLength, SmCard};
use crate::card::apdu::ResponseApdu;
use crate::card::{Card, CardReader, ShareMode};
use crate::error::{Error, ErrorKind, Result};

enum Channel {
    Plain(Box<dyn Card>),
    Secure(SmCard, PasswordKind),
    /// PACE ran in the reader, which now does secure messaging itself.
    Reader(Box<dyn Card>, PasswordKind),
    /// Only while a step moves the card between the other two.
    Moving,
}

/// A card that runs PACE: EF.CardAccess read, an algorithm chosen, and (after
/// [`pace`](Eid::pace)) a secure channel that every [`transmit`](Eid::transmit) uses.
pub struct Eid {
    channel: Channel,
    algorithm: PaceAlgorithm,
    info: EidInfo,
    reader: String,
    /// The reader's `FEATURE_EXECUTE_PACE` control code, if PACE runs there.
    reader_pace: Option<u32>,
}

impl fmt::Debug for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Eid")
            .field("reader", &self.reader)
            .field("algorithm", &self.algorithm)
            .field("secure", &self.secure_with())
            .field("pace_in_reader", &self.reader_pace.is_some())
            .finish()
    }
}

fn gone(reader: &str) -> Error {
    Error::new(ErrorKind::CardRemoved, reader.to_owned(), "eID")
        .with_detail("an earlier PACE step lost the connection")
}

impl Eid {
    /// Reads EF.CardAccess and chooses the first PACEInfo this crate implements.
    ///
    /// # Errors
    /// As [`read_card_access`]; [`ErrorKind::Unsupported`] naming the card's first PACE
    /// variant when none is implemented, [`ErrorKind::NotFound`] when there is no PACEInfo.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn open(mut card: Box<dyn Card>) -> Result<Self> {
        let info = read_card_access(card.as_mut(), ReadLength::Short).await?;
        let mut first_error = None;
        let mut chosen = None;
        for p in info.security_infos.pace() {
            match PaceAlgorithm::from_info(p) {
                Ok(a) => {
                    chosen = Some(a);
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let reader = card.reader().to_owned();
        let algorithm = match (chosen, first_error) {
            (Some(a), _) => a,
            (None, Some(e)) => return Err(e),
            (None, None) => {
                return Err(Error::new(ErrorKind::NotFound, reader, "eID")
                    .with_detail("EF.CardAccess has no PACEInfo"))
            }
        };
        Ok(Eid {
            channel: Channel::Plain(card),
            algorithm,
            info,
            reader,
            reader_pace: None,
        })
    }

    /// Connects to the card in `reader` and opens it; when the reader reports
    /// `FEATURE_EXECUTE_PACE` (PC/SC part 10 AMD1), [`pace`](Eid::pace) runs there.
    ///
    /// # Errors
    /// As [`CardReader::connect`](crate::card::CardReader::connect) and [`open`](Eid::open).
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn connect(reader: &dyn CardReader, mode: ShareMode) -> Result<Self> {
        let features = reader.features().await.ok();
        let card = reader.connect(mode).await?;
        let mut eid = Eid::open(card).await?;
        eid.reader_pace = features.and_then(|f| f.execute_pace);
        Ok(eid)
    }

    /// Runs PACE through the reader's `FEATURE_EXECUTE_PACE` control code (or, with
    /// `None`, in software on this host).
    #[must_use]
    pub fn with_reader_pace(mut self, control_code: Option<u32>) -> Self {
        self.reader_pace = control_code;
        self
    }

    /// Whether PACE runs in the reader.
    pub fn pace_in_reader(&self) -> bool {
        self.reader_pace.is_some()
    }

    /// The PACE variant in use.
    pub fn algorithm(&self) -> &PaceAlgorithm {
        &self.algorithm
    }

    /// What EF.CardAccess said.
    pub fn info(&self) -> &EidInfo {
        &self.info
    }

    /// The password the secure channel was established with, if there is one.
    pub fn secure_with(&self) -> Option<PasswordKind> {
        match &self.channel {
            Channel::Secure(c, k) if c.is_open() => Some(*k),
            Channel::Reader(_, k) => Some(*k),
            _ => None,
        }
    }

    /// The card: behind secure messaging after a successful [`pace`](Eid::pace), plain
    /// before.
    ///
    /// # Errors
    /// [`ErrorKind::CardRemoved`] when an earlier step lost the connection.
    pub fn card(&mut self) -> Result<&mut dyn Card> {
        match &mut self.channel {
            Channel::Plain(c) => Ok(c.as_mut()),
            Channel::Secure(c, _) => Ok(c),
            Channel::Reader(c, _) => Ok(c.as_mut()),
            Channel::Moving => Err(gone(&self.reader)),
        }
    }

    /// Sends a command on the current channel (protected after PACE).
    ///
    /// # Errors
    /// As [`Card::transmit`]; [`ErrorKind::Protocol`] when the secure channel was closed.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn transmit(&mut self, cmd: &crate::card::CommandApdu) -> Result<ResponseApdu> {
        self.card()?.transmit(cmd).await
    }

    /// Ends the session and returns the card (behind secure messaging if it is open).
    pub fn into_card(self) -> Option<Box<dyn Card>> {
        match self.channel {
            Channel::Plain(c) => Some(c),
            Channel::Secure(c, _) => Some(Box::new(c)),
            Channel::Reader(c, _) => Some(c),
            Channel::Moving => None,
        }
    }

    /// The PIN state, from MSE:Set AT with the PIN reference (no PIN is sent). Ends a
    /// secure channel: the card starts a new PACE context.
    ///
    /// # Errors
    /// Status words other than the PIN states, as [`StatusWord::check`] maps them;
    /// transport errors.
    ///
    /// [`StatusWord::check`]: crate::card::StatusWord::check
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn pin_status(&mut self) -> Result<PinStatus> {
        self.make_plain()?;
        let alg = self.algorithm.clone();
        let r = protocol::mse_set_at(self.card()?, &alg, PasswordKind::Pin).await?;
        match mse_answer(r.sw(), PasswordKind::Pin, false) {
            MseAnswer::Proceed(Some(s)) | MseAnswer::Stop(_, s) => Ok(s),
            MseAnswer::Proceed(None) | MseAnswer::Other => {
                r.sw().check(&self.reader, "MSE:Set AT (PIN state)")?;
                Err(
                    Error::new(ErrorKind::Protocol, self.reader.clone(), "PIN state")
                        .with_detail(format!("card answered {}", r.sw())),
                )
            }
        }
    }

    fn make_plain(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.channel, Channel::Moving) {
            Channel::Secure(c, _) => self.channel = Channel::Plain(c.into_inner()),
            Channel::Plain(c) | Channel::Reader(c, _) => self.channel = Channel::Plain(c),
            Channel::Moving => return Err(gone(&self.reader)),
        }
        Ok(())
    }

    /// Runs PACE with `password`. On [`PinOutcome::Ok`] every later command goes through
    /// the new secure channel; on any other answer the card is left as it was.
    ///
    /// PACE runs in the reader when [`connect`](Eid::connect) found `FEATURE_EXECUTE_PACE`;
    /// a reader that then refuses the control code as unsupported is not asked again and
    /// PACE runs on this host.
    ///
    /// PACE with the PIN right after PACE with the CAN runs inside the CAN's channel, which
    /// is how a suspended PIN is resumed ([`resume_pin`](Eid::resume_pin)).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a malformed answer or a card token that does not verify
    /// (the channel is then gone), status-word errors, transport errors.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn pace(&mut self, password: &Password) -> Result<PinOutcome> {
        if let Some(code) = self.reader_pace {
            match self
                .pace_via_reader(code, password.kind(), Some(password))
                .await
            {
                // The reader lists the feature but refuses the control code: the password
                // is on this host anyway, so run PACE here from now on.
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    debug!(reader = %self.reader, "EXECUTE_PACE refused by the reader; PACE in software");
                    self.reader_pace = None;
                }
                other => return other,
            }
        }
        self.pace_with(password, &mut RandomKeys).await
    }

    /// Runs PACE in the reader with the password typed on its PIN pad: the PIN never
    /// reaches this host.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when PACE does not run in the reader; the reader's
    /// failures ([`ErrorKind::Cancelled`] when the citizen cancelled on the pad,
    /// [`ErrorKind::Timeout`], [`ErrorKind::CardRemoved`], [`ErrorKind::Protocol`]).
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn pace_on_pin_pad(&mut self, kind: PasswordKind) -> Result<PinOutcome> {
        let Some(code) = self.reader_pace else {
            return Err(
                Error::new(ErrorKind::Unsupported, self.reader.clone(), "PACE")
                    .with_detail("the reader does not run PACE (no FEATURE_EXECUTE_PACE)"),
            );
        };
        self.pace_via_reader(code, kind, None).await
    }

    async fn pace_via_reader(
        &mut self,
        code: u32,
        kind: PasswordKind,
        password: Option<&Password>,
    ) -> Result<PinOutcome> {
        self.make_plain()?;
        let answer = reader::run(self.card()?, code, kind, password).await?;
        match answer {
            ReaderAnswer::Established(status) => {
                debug!(reader = %self.reader, password = %kind, ?status, "PACE established in the reader");
                if let Channel::Plain(c) = std::mem::replace(&mut self.channel, Channel::Moving) {
                    self.channel = Channel::Reader(c, kind);
                }
                Ok(PinOutcome::Ok)
            }
            ReaderAnswer::Refused(outcome) => {
                debug!(reader = %self.reader, password = %kind, ?outcome, "PACE refused");
                Ok(outcome)
            }
        }
    }

    pub(crate) async fn pace_with(
        &mut self,
        password: &Password,
        keys: &mut dyn KeySource,
    ) -> Result<PinOutcome> {
        // Only the PIN right after the CAN runs inside the CAN's channel (resume).
        let can_passed =
            password.kind() == PasswordKind::Pin && self.secure_with() == Some(PasswordKind::Can);
        if !can_passed {
            self.make_plain()?;
        }
        let alg = self.algorithm.clone();
        let end = protocol::run(self.card()?, &alg, password, can_passed, keys).await;
        let end = match end {
            Ok(e) => e,
            Err(e) => {
                // The card ended its PACE context; an old channel is useless now.
                self.make_plain()?;
                return Err(e);
            }
        };
        match end {
            PaceEnd::Established(keys, status) => {
                debug!(reader = %self.reader, password = %password.kind(), ?status, "PACE established");
                let plain = match std::mem::replace(&mut self.channel, Channel::Moving) {
                    Channel::Secure(c, _) => c.into_inner(),
                    Channel::Plain(c) | Channel::Reader(c, _) => c,
                    Channel::Moving => return Err(gone(&self.reader)),
                };
                self.channel = Channel::Secure(SmCard::new(plain, keys), password.kind());
                Ok(PinOutcome::Ok)
            }
            PaceEnd::Refused(outcome) => {
                debug!(reader = %self.reader, password = %password.kind(), ?outcome, "PACE refused");
                self.make_plain()?;
                Ok(outcome)
            }
        }
    }

    /// Changes the PIN: PACE with `current` (the PIN or the 5-digit transport PIN), then
    /// RESET RETRY COUNTER (`00 2C 02 03`, the new PIN as data) under secure messaging.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `current` or `new` is not a PIN or `new` is not 6
    /// digits (checked before anything is sent); as
    /// [`pace`](Eid::pace); status-word errors of the change.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn change_pin(&mut self, current: &Password, new: &Password) -> Result<PinOutcome> {
        for p in [current, new] {
            if p.kind() != PasswordKind::Pin {
                return Err(
                    Error::new(ErrorKind::InvalidInput, self.reader.clone(), "change PIN")
                        .with_detail(format!("expected a PIN, got a {}", p.kind())),
                );
            }
        }
        if new.secret().len() != 6 {
            return Err(
                Error::new(ErrorKind::InvalidInput, self.reader.clone(), "change PIN")
                    .with_detail("the new PIN has 6 digits (5 digits is the transport PIN)"),
            );
        }
        let outcome = self.pace(current).await?;
        if outcome != PinOutcome::Ok {
            return Ok(outcome);
        }
        let cmd = secret_command([0x00, 0x2C, 0x02, 0x03], new.secret());
        let r = self.transmit(&cmd).await?;
        r.sw().check(&self.reader, "change PIN")?;
        debug!(reader = %self.reader, "PIN changed");
        Ok(PinOutcome::Ok)
    }

    /// Resumes a suspended PIN: PACE with the CAN, then PACE with the PIN inside that
    /// channel. On [`PinOutcome::Ok`] the PIN has three tries again and the channel is the
    /// PIN's.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the passwords are not a CAN and a PIN; as
    /// [`pace`](Eid::pace).
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn resume_pin(&mut self, can: &Password, pin: &Password) -> Result<PinOutcome> {
        if can.kind() != PasswordKind::Can || pin.kind() != PasswordKind::Pin {
            return Err(
                Error::new(ErrorKind::InvalidInput, self.reader.clone(), "resume PIN")
                    .with_detail("expected a CAN and a PIN"),
            );
        }
        match self.pace(can).await? {
            PinOutcome::Ok => self.pace(pin).await,
            other => Ok(other),
        }
    }

    /// Unblocks the PIN with the PUK: PACE with the PUK, then RESET RETRY COUNTER
    /// (`00 2C 03 03`) under secure messaging. The PIN keeps its value and has three tries.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `puk` is not a PUK; as [`pace`](Eid::pace);
    /// status-word errors of the reset.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn unblock_pin(&mut self, puk: &Password) -> Result<PinOutcome> {
        if puk.kind() != PasswordKind::Puk {
            return Err(
                Error::new(ErrorKind::InvalidInput, self.reader.clone(), "unblock PIN")
                    .with_detail(format!("expected a PUK, got a {}", puk.kind())),
            );
        }
        let outcome = self.pace(puk).await?;
        if outcome != PinOutcome::Ok {
            return Ok(outcome);
        }
        let r = self
            .transmit(&command([0x00, 0x2C, 0x03, 0x03], Vec::new(), None))
            .await?;
        r.sw().check(&self.reader, "unblock PIN")?;
        debug!(reader = %self.reader, "PIN unblocked");
        Ok(PinOutcome::Ok)
    }

    /// SELECT (by file identifier) and READ BINARY of an elementary file on the current
    /// channel, up to `max` bytes.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for a missing file, other status words as
    /// [`StatusWord::check`](crate::card::StatusWord::check) maps them (`6982` when the file
    /// needs secure messaging), [`ErrorKind::Protocol`] for more than `max` bytes.
    ///
    /// Not cancel-safe: a dropped call may leave the card mid-exchange (run PACE again).
    pub async fn read_file(&mut self, fid: u16, max: usize) -> Result<Vec<u8>> {
        let reader = self.reader.clone();
        let card = self.card()?;
        let select = command([0x00, 0xA4, 0x02, 0x0C], fid.to_be_bytes().to_vec(), None);
        card.transmit(&select)
            .await?
            .sw()
            .check(&reader, "SELECT")?;
        let mut data = Vec::new();
        loop {
            let offset = u16::try_from(data.len())
                .ok()
                .filter(|o| *o < 0x8000)
                .ok_or_else(|| {
                    Error::new(ErrorKind::Protocol, reader.clone(), "READ BINARY")
                        .with_detail("file larger than READ BINARY can address")
                })?;
            let [p1, p2] = offset.to_be_bytes();
            let r = card
                .transmit(&command([0x00, 0xB0, p1, p2], Vec::new(), Some(256)))
                .await?;
            let eof = r.sw().0 == 0x6282 || (r.sw().0 == 0x6B00 && !data.is_empty());
            if !eof {
                r.sw().check(&reader, "READ BINARY")?;
            }
            let got = r.data().len();
            data.extend_from_slice(r.data());
            if data.len() > max {
                return Err(Error::new(ErrorKind::Protocol, reader, "READ BINARY")
                    .with_detail(format!("file longer than {max} bytes")));
            }
            if eof || got < 256 {
                return Ok(data);
            }
        }
    }
}
