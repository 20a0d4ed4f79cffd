//! [`Exchange`]: the `61xx` (GET RESPONSE) and `6Cxx` (wrong Le) logic of one command,
//! without I/O, shared by every [`Card`](crate::card::Card). What it sends is
//! [`CommandBytes`], secret when the command is, so a resent PIN stays hidden too.

use std::fmt;

use super::{CommandApdu, CommandBytes, ResponseApdu};
use crate::error::{Error, ErrorKind, Result};

/// How many GET RESPONSE / resend rounds an [`Exchange`] follows before giving up.
pub const MAX_CHAINED_RESPONSES: usize = 256;
/// Largest response an [`Exchange`] assembles from `61xx` chains.
pub const MAX_CHAINED_LEN: usize = 1 << 20;

/// The `61xx` / `6Cxx` logic of one command, without I/O: feed it each raw response and it
/// says what to send next. [`Card::transmit`](crate::card::Card::transmit) drives it; backends
/// only supply the raw exchange.
///
/// `Debug` shows the command and the request as their own `Debug` does (secret data hidden)
/// and only the length of the response data assembled so far.
///
/// ```
/// use buergerkoffer::card::{apdu::{Exchange, Step}, CommandApdu};
/// let cmd = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
/// let mut ex = Exchange::new("mock:card", &cmd)?;
/// assert_eq!(*ex.request(), [0x00, 0xB0, 0x00, 0x00, 0x04]);
/// // The card answers "2 bytes, 2 more available".
/// let Step::Send(get_response) = ex.feed(&[1, 2, 0x61, 0x02])? else { panic!() };
/// assert_eq!(get_response, [0x00, 0xC0, 0x00, 0x00, 0x02]);
/// let Step::Done(resp) = ex.feed(&[3, 4, 0x90, 0x00])? else { panic!() };
/// assert_eq!(resp.data(), &[1, 2, 3, 4]);
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
pub struct Exchange<'a> {
    device: &'a str,
    cmd: &'a CommandApdu,
    request: CommandBytes,
    data: Vec<u8>,
    rounds: usize,
}

/// What an [`Exchange`] wants next.
#[derive(Debug)]
pub enum Step {
    /// Send these bytes and feed the answer back (secret when the command is).
    Send(CommandBytes),
    /// The final response.
    Done(ResponseApdu),
}

impl fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("device", &self.device)
            .field("cmd", self.cmd)
            .field("request", &self.request)
            .field("data_len", &self.data.len())
            .field("rounds", &self.rounds)
            .finish()
    }
}

impl<'a> Exchange<'a> {
    /// Starts an exchange for `cmd` on `device` (used in error messages).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `cmd` cannot be encoded.
    pub fn new(device: &'a str, cmd: &'a CommandApdu) -> Result<Self> {
        Ok(Exchange {
            device,
            cmd,
            request: cmd.to_bytes()?,
            data: Vec::new(),
            rounds: 0,
        })
    }

    /// The encoded command to send first.
    pub fn request(&self) -> &CommandBytes {
        &self.request
    }

    fn err(&self, what: String) -> Error {
        Error::new(ErrorKind::Protocol, self.device.to_owned(), "transmit").with_detail(what)
    }

    /// Feeds one raw response; returns the next command or the final response.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a response without status word, or a chain longer than
    /// [`MAX_CHAINED_RESPONSES`] rounds or [`MAX_CHAINED_LEN`] bytes.
    pub fn feed(&mut self, raw: &[u8]) -> Result<Step> {
        let resp = ResponseApdu::from_bytes(raw).map_err(|_| {
            self.err(format!(
                "answer to INS {:02X} has {} bytes, no status word",
                self.cmd.ins(),
                raw.len()
            ))
        })?;
        self.rounds += 1;
        if self.rounds > MAX_CHAINED_RESPONSES {
            return Err(self.err(format!(
                "card still answers {} after {MAX_CHAINED_RESPONSES} rounds",
                resp.sw()
            )));
        }
        let want = |sw2: u8| if sw2 == 0 { 256 } else { u32::from(sw2) };
        let sw = resp.sw();
        if self.data.len() + resp.data().len() > MAX_CHAINED_LEN {
            return Err(self.err("chained response longer than 1 MiB".into()));
        }
        match sw.sw1() {
            // Wrong Le on the first answer: resend the same command with the Le asked for.
            0x6C if self.rounds == 1 => {
                // Same header, data and secrecy; only Le changes.
                let again = self.cmd.clone().with_le(want(sw.sw2()));
                Ok(Step::Send(again.to_bytes()?))
            }
            0x61 => {
                self.data.extend_from_slice(resp.data());
                let get =
                    CommandApdu::new(self.cmd.cla() & 0x03, 0xC0, 0, 0).with_le(want(sw.sw2()));
                Ok(Step::Send(get.to_bytes()?))
            }
            _ => {
                let mut data = std::mem::take(&mut self.data);
                data.extend_from_slice(resp.data());
                Ok(Step::Done(ResponseApdu::new(data, sw)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::StatusWord;

    fn drive(cmd: &CommandApdu, answers: &[&[u8]]) -> (Result<ResponseApdu>, Vec<CommandBytes>) {
        let mut ex = Exchange::new("mock:card", cmd).unwrap();
        let mut sent = vec![ex.request().clone()];
        for a in answers {
            match ex.feed(a) {
                Ok(Step::Send(b)) => sent.push(b),
                Ok(Step::Done(r)) => return (Ok(r), sent),
                Err(e) => return (Err(e), sent),
            }
        }
        panic!("exchange wanted more answers than scripted");
    }

    #[test]
    fn get_response_chaining_and_wrong_le() {
        let cmd = CommandApdu::new(0, 0xB0, 0, 0).with_le(10);
        let (resp, sent) = drive(
            &cmd,
            &[&[0x6C, 0x04], &[1, 2, 0x61, 0x02], &[3, 4, 0x90, 0x00]],
        );
        let resp = resp.unwrap();
        assert_eq!(resp.data(), &[1, 2, 3, 4]);
        assert!(resp.is_success());
        assert_eq!(sent[1], [0, 0xB0, 0, 0, 4]);
        assert_eq!(sent[2], [0, 0xC0, 0, 0, 2]);
    }

    #[test]
    fn error_status_is_returned_not_raised() {
        let cmd = CommandApdu::new(0, 0xA4, 2, 0xC).with_data(vec![0x01, 0x1C]);
        let (resp, _) = drive(&cmd, &[&[0x6A, 0x82]]);
        assert_eq!(resp.unwrap().sw(), StatusWord(0x6A82));
    }

    #[test]
    fn endless_61xx_is_a_protocol_error() {
        let cmd = CommandApdu::new(0, 0xB0, 0, 0).with_le(10);
        let mut ex = Exchange::new("mock:card", &cmd).unwrap();
        let err = loop {
            match ex.feed(&[0x61, 0x00]) {
                Ok(Step::Send(_)) => continue,
                Ok(Step::Done(_)) => panic!("61xx never ends the exchange"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::Protocol);
        let (resp, _) = drive(&cmd, &[&[0x90]]);
        assert_eq!(resp.unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn a_secret_command_stays_secret_when_resent() {
        let verify = CommandApdu::new(0, 0x21, 0, 0x03).with_data(*b"482916");
        let (resp, sent) = drive(&verify, &[&[0x6C, 0x02], &[1, 2, 0x90, 0x00]]);
        assert_eq!(resp.unwrap().data(), &[1, 2]);
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(CommandBytes::is_secret));
        assert_eq!(&sent[1].as_bytes()[5..], b"482916\x02");
        let mut ex = Exchange::new("mock:card", &verify).unwrap();
        let step = ex.feed(&[0x6C, 0x02]).unwrap();
        let dbg = format!("{ex:?} {step:?}");
        assert!(!dbg.contains("34 38") && !dbg.contains("52, 56"), "{dbg}");
        // GET RESPONSE carries no data and is not secret.
        let mut ex = Exchange::new("mock:card", &verify).unwrap();
        let Step::Send(get) = ex.feed(&[0x61, 0x04]).unwrap() else {
            panic!("61xx asks for GET RESPONSE")
        };
        assert_eq!(get, [0, 0xC0, 0, 0, 4]);
        assert!(!get.is_secret());
    }
}
