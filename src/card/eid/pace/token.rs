//! PACE step 4 (BSI TR-03110 part 3, A.2.4 / ICAO 9303-11, 4.4.3.4): authentication tokens,
//! `T = MAC(K_mac, PK)` over the public-key data object `7F49 { 06 OID, 86 point }` of the
//! other side's ephemeral key, AES-CMAC truncated to 8 bytes.

use elliptic_curve::subtle::ConstantTimeEq;

use crate::card::eid::{aes, encode_tlv};
use crate::error::Result;

/// Length of a token.
pub(crate) const TOKEN_LEN: usize = 8;

/// The public-key data object an ECDH token is computed over.
pub(crate) fn public_key_object(oid: &[u8], point: &[u8]) -> Vec<u8> {
    let mut inner = encode_tlv(&[0x06], oid);
    inner.extend_from_slice(&encode_tlv(&[0x86], point));
    encode_tlv(&[0x7F, 0x49], &inner)
}

/// `T = CMAC(K_mac, 7F49 ..)[..8]` for the ephemeral public key `point`.
pub(crate) fn token(mac_key: &[u8], oid: &[u8], point: &[u8]) -> Result<[u8; TOKEN_LEN]> {
    let full = aes::cmac(mac_key, &[&public_key_object(oid, point)])?;
    let mut t = [0; TOKEN_LEN];
    t.copy_from_slice(&full[..TOKEN_LEN]);
    Ok(t)
}

/// Whether `received` is the token for `point`, compared in constant time.
pub(crate) fn verify(mac_key: &[u8], oid: &[u8], point: &[u8], received: &[u8]) -> Result<bool> {
    let want = token(mac_key, oid, point)?;
    Ok(received.len() == TOKEN_LEN && bool::from(want.ct_eq(received)))
}
