//! PACE step 3 (BSI TR-03110 part 2, 3.2 / ICAO 9303-11, 4.4.3.3): the anonymous ECDH on the
//! mapped generator `G~` and the session keys derived from its shared secret.

use std::fmt;

use super::curves::{x_coordinate, EcGroup, SecretScalar};
use super::kdf::{kdf, Key, KeyUse};
use crate::error::{Error, ErrorKind, Result};

/// An ephemeral key pair on `G~`.
pub(crate) struct EphemeralKey {
    pub(crate) secret: SecretScalar,
    /// `secret · G~`, uncompressed at full length.
    pub(crate) public: Vec<u8>,
}

impl EphemeralKey {
    /// A key pair from a given secret (tests use the worked example's).
    pub(crate) fn from_secret(
        group: &dyn EcGroup,
        generator: &[u8],
        secret: SecretScalar,
    ) -> Result<Self> {
        let public = group.mul(&secret, generator)?;
        Ok(EphemeralKey { secret, public })
    }

    /// `K`, the x coordinate of `secret · PK_IC`, after checking that the card's key differs
    /// from ours (TR-03110 part 2, 3.2 step 3d).
    pub(crate) fn shared_secret(&self, group: &dyn EcGroup, peer: &[u8]) -> Result<SecretScalar> {
        if peer == self.public.as_slice() {
            return Err(Error::new(ErrorKind::Protocol, "eid", "PACE")
                .with_detail("card sent back the terminal's ephemeral public key"));
        }
        let p = zeroize::Zeroizing::new(group.mul(&self.secret, peer)?);
        x_coordinate(group, &p)
    }
}

impl fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralKey").finish_non_exhaustive()
    }
}

/// The secure-messaging keys of one PACE session, zeroized on drop, never shown.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    pub(crate) enc: Key,
    pub(crate) mac: Key,
}

impl SessionKeys {
    /// `K_enc = KDF(K, 1)`, `K_mac = KDF(K, 2)`.
    pub(crate) fn derive(shared_secret: &[u8], key_len: usize) -> Self {
        SessionKeys {
            enc: kdf(shared_secret, KeyUse::Enc, key_len),
            mac: kdf(shared_secret, KeyUse::Mac, key_len),
        }
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}
