//! The PACE APDUs (BSI TR-03110 part 3, B.1-B.2 / ICAO 9303-11, 4.4.4): MSE:Set AT
//! (`00 22 C1 A4`, `80` OID, `83` password reference), then four General Authenticate
//! (`86`, chained with CLA `10` but the last) carrying dynamic authentication data `7C`:
//! `80` encrypted nonce, `81`/`82` mapping keys, `83`/`84` ephemeral keys, `85`/`86` tokens.
//!
//! Runs over any [`Card`], so the second PACE of a PIN resume goes through the secure
//! channel of the first.

use super::agreement::{EphemeralKey, SessionKeys};
use super::curves::{EcGroup, SecretScalar};
use super::kdf::{kdf, KeyUse};
use super::mapping::{decrypt_nonce, map_generator, shared_point};
use super::token::{token, verify, TOKEN_LEN};
use super::PaceAlgorithm;
use crate::card::apdu::{ResponseApdu, StatusWord};
use crate::card::eid::pin::{mse_answer, wrong_password, MseAnswer, PinOutcome, PinStatus};
use crate::card::eid::{command, encode_tlv, Password};
use crate::card::tlv::{Tag, Tlv};
use crate::card::Card;
use crate::error::{Error, ErrorKind, RawCode, Result};

/// Where the terminal's two private keys come from: fresh random ones, or given ones
/// (the worked example's, in tests).
pub(crate) trait KeySource: Send {
    /// The next private key on `group`.
    fn next(&mut self, group: &dyn EcGroup) -> Result<SecretScalar>;
}

/// Fresh keys from the operating system's generator for every run.
pub(crate) struct RandomKeys;

impl KeySource for RandomKeys {
    fn next(&mut self, group: &dyn EcGroup) -> Result<SecretScalar> {
        group.random_scalar()
    }
}

/// How a PACE run ended when it did not fail.
#[derive(Debug)]
pub(crate) enum PaceEnd {
    /// Established; the PIN state MSE:Set AT reported, if any.
    Established(SessionKeys, Option<PinStatus>),
    /// The card refused the password; no session.
    Refused(PinOutcome),
}

fn protocol_error(device: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, device.to_owned(), "PACE").with_detail(what.into())
}

/// MSE:Set AT for PACE with `password`'s kind; returns the raw response.
pub(crate) async fn mse_set_at(
    card: &mut dyn Card,
    alg: &PaceAlgorithm,
    password: crate::card::eid::PasswordKind,
) -> Result<ResponseApdu> {
    let mut data = encode_tlv(&[0x80], alg.protocol().as_bytes());
    data.extend_from_slice(&encode_tlv(&[0x83], &[password.reference()]));
    card.transmit(&command([0x00, 0x22, 0xC1, 0xA4], data, None))
        .await
}

/// One General Authenticate: sends `7C { tag value }`, returns the response's `7C` content
/// as (tag, value) pairs, or the failing status word.
async fn general_authenticate(
    card: &mut dyn Card,
    last: bool,
    object: Option<(u8, &[u8])>,
    step: &'static str,
) -> Result<std::result::Result<Vec<u8>, StatusWord>> {
    let inner = object.map_or_else(Vec::new, |(t, v)| encode_tlv(&[t], v));
    let data = encode_tlv(&[0x7C], &inner);
    let cla = if last { 0x00 } else { 0x10 };
    let r = card
        .transmit(&command([cla, 0x86, 0x00, 0x00], data, Some(256)))
        .await?;
    if !r.is_success() {
        return Ok(Err(r.sw()));
    }
    let (t, rest) =
        Tlv::parse(r.data()).map_err(|e| protocol_error(card.reader(), format!("{step}: {e}")))?;
    if t.tag() != Tag(0x7C) || !rest.is_empty() {
        return Err(protocol_error(
            card.reader(),
            format!("{step}: answer is not one 7C object"),
        ));
    }
    Ok(Ok(t.value().to_vec()))
}

/// The value of `tag` inside dynamic authentication data.
fn field(device: &str, data: &[u8], tag: u32, step: &'static str) -> Result<Vec<u8>> {
    for item in crate::card::tlv::TlvIter::new(data) {
        let item = item.map_err(|e| protocol_error(device, format!("{step}: {e}")))?;
        if item.tag() == Tag(tag) {
            return Ok(item.value().to_vec());
        }
    }
    Err(protocol_error(
        device,
        format!("{step}: answer has no tag {tag:02X}"),
    ))
}

fn step_failed(device: &str, step: &'static str, sw: StatusWord) -> Error {
    match sw.check(device, step) {
        Err(e) => e,
        // A warning where data was expected.
        Ok(()) => protocol_error(device, format!("{step}: card answered {sw}"))
            .with_raw(RawCode::StatusWord(sw.0)),
    }
}

/// Runs PACE with `password` over `card`.
///
/// `can_passed` says whether PACE with the CAN ran just before on this channel (a suspended
/// PIN may then be used).
///
/// # Errors
/// [`ErrorKind::Protocol`] for malformed answers, an invalid point, or a card token that
/// does not verify; status-word errors as [`StatusWord::check`] maps them; transport
/// errors of the card.
pub(crate) async fn run(
    card: &mut dyn Card,
    alg: &PaceAlgorithm,
    password: &Password,
    can_passed: bool,
    keys: &mut dyn KeySource,
) -> Result<PaceEnd> {
    let device = card.reader().to_owned();
    let group = alg.curve();
    let kind = password.kind();

    let mse = mse_set_at(card, alg, kind).await?;
    let status = match mse_answer(mse.sw(), kind, can_passed) {
        MseAnswer::Proceed(s) => s,
        MseAnswer::Stop(outcome, _) => return Ok(PaceEnd::Refused(outcome)),
        MseAnswer::Other => {
            return Err(step_failed(&device, "MSE:Set AT", mse.sw()));
        }
    };

    // Step 1: the encrypted nonce.
    let gfail = |sw| step_failed(&device, "General Authenticate", sw);
    let a = general_authenticate(card, false, None, "encrypted nonce")
        .await?
        .map_err(gfail)?;
    let z = field(&device, &a, 0x80, "encrypted nonce")?;
    let k_pi = kdf(password.secret(), KeyUse::Password, alg.key_len());
    let s = decrypt_nonce(&k_pi, &z, group)?;

    // Step 2: mapping keys, G~ = s·G + H.
    let sk_map = keys.next(group)?;
    let pk_map = group.mul_base(&sk_map)?;
    let a = general_authenticate(card, false, Some((0x81, &pk_map)), "map nonce")
        .await?
        .map_err(gfail)?;
    let pk_map_ic = field(&device, &a, 0x82, "map nonce")?;
    if pk_map_ic == pk_map {
        return Err(protocol_error(&device, "card sent back our mapping key"));
    }
    let h = shared_point(group, &sk_map, &pk_map_ic)?;
    let g = map_generator(group, &s, &h)?;
    drop((sk_map, h, s));

    // Step 3: ephemeral keys on G~, shared secret K, session keys.
    let eph = EphemeralKey::from_secret(group, &g, keys.next(group)?)?;
    let a = general_authenticate(card, false, Some((0x83, &eph.public)), "key agreement")
        .await?
        .map_err(gfail)?;
    let pk_ic = field(&device, &a, 0x84, "key agreement")?;
    group.check_point(&pk_ic)?;
    let k = eph.shared_secret(group, &pk_ic)?;
    let session = SessionKeys::derive(&k, alg.key_len());
    drop(k);

    // Step 4: tokens both ways.
    let oid = alg.protocol().as_bytes();
    let t_ifd = token(&session.mac, oid, &pk_ic)?;
    let a = match general_authenticate(card, true, Some((0x85, &t_ifd)), "mutual authentication")
        .await?
    {
        Ok(a) => a,
        Err(sw) => {
            return match wrong_password(sw, kind) {
                Some(outcome) => Ok(PaceEnd::Refused(outcome)),
                None => Err(gfail(sw)),
            }
        }
    };
    let t_ic = field(&device, &a, 0x86, "mutual authentication")?;
    if t_ic.len() != TOKEN_LEN || !verify(&session.mac, oid, &eph.public, &t_ic)? {
        return Err(protocol_error(
            &device,
            "the card's authentication token does not verify",
        ));
    }
    Ok(PaceEnd::Established(session, status))
}
