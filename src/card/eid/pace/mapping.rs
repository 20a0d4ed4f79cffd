//! PACE steps 1 and 2 (BSI TR-03110 part 2, 3.2 / ICAO 9303-11, 4.4.3.3.1): decrypting the
//! card's nonce with the password key, and the Generic Mapping over ECDH,
//! `G~ = s · G + H` with `H = SK_map,IFD · PK_map,IC` (a point, not only its x coordinate).

use zeroize::Zeroizing;

use super::curves::EcGroup;
use crate::card::eid::aes;
use crate::error::{Error, ErrorKind, Result};

/// The nonce `s = D(K_π, z)`: AES-CBC with a zero IV. `z` must be one or more whole blocks
/// shorter than the curve's order.
pub(crate) fn decrypt_nonce(
    k_pi: &[u8],
    z: &[u8],
    group: &dyn EcGroup,
) -> Result<Zeroizing<Vec<u8>>> {
    if z.is_empty() || !z.len().is_multiple_of(aes::BLOCK) || z.len() >= group.field_len() {
        return Err(Error::new(ErrorKind::Protocol, "eid", "PACE")
            .with_detail(format!("encrypted nonce of {} bytes", z.len())));
    }
    let mut s = Zeroizing::new(z.to_vec());
    aes::cbc_decrypt(k_pi, &[0; aes::BLOCK], &mut s)?;
    Ok(s)
}

/// `H`, the mapping's shared point: `SK_map,IFD · PK_map,IC`.
pub(crate) fn shared_point(
    group: &dyn EcGroup,
    sk_map: &[u8],
    pk_map_ic: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    group.mul(sk_map, pk_map_ic).map(Zeroizing::new)
}

/// The mapped generator `G~ = s · G + H`.
pub(crate) fn map_generator(group: &dyn EcGroup, nonce: &[u8], h: &[u8]) -> Result<Vec<u8>> {
    group.mul_base_add(nonce, h)
}
