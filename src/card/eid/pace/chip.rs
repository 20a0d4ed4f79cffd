//! The card's half of PACE (Generic Mapping over ECDH), for the mock eID card
//! ([`MockCard::eid`](crate::mock::MockCard::eid)): the same steps as the terminal's, seen
//! from the chip: encrypt a nonce, answer the mapping and key-agreement keys, check the
//! terminal's token and return its own.

use zeroize::Zeroizing;

use super::agreement::{EphemeralKey, SessionKeys};
use super::curves::SecretScalar;
use super::kdf::{kdf, KeyUse};
use super::mapping::{map_generator, shared_point};
use super::token::{token, verify, TOKEN_LEN};
use super::PaceAlgorithm;
use crate::card::eid::{aes, Password};
use crate::error::{Error, ErrorKind, Result};

/// One PACE run on the card.
pub(crate) struct ChipPace {
    alg: PaceAlgorithm,
    password: Password,
    nonce: Zeroizing<Vec<u8>>,
    sk_map: Option<SecretScalar>,
    generator: Option<Vec<u8>>,
    eph: Option<EphemeralKey>,
    pk_ifd: Option<Vec<u8>>,
    keys: Option<SessionKeys>,
}

fn out_of_order() -> Error {
    Error::new(ErrorKind::Protocol, "mock:eid", "PACE").with_detail("step out of order")
}

impl ChipPace {
    pub(crate) fn new(alg: PaceAlgorithm, password: Password) -> Self {
        ChipPace {
            alg,
            password,
            nonce: Zeroizing::new(Vec::new()),
            sk_map: None,
            generator: None,
            eph: None,
            pk_ifd: None,
            keys: None,
        }
    }

    /// The password this run checks.
    pub(crate) fn password(&self) -> &Password {
        &self.password
    }

    /// Step 1: a fresh nonce `s`, returned encrypted, `z = E(K_π, s)`.
    pub(crate) fn encrypted_nonce(&mut self) -> Result<Vec<u8>> {
        let random = self.alg.curve().random_scalar()?;
        self.nonce = Zeroizing::new(random[..aes::BLOCK].to_vec());
        let k_pi = kdf(self.password.secret(), KeyUse::Password, self.alg.key_len());
        let mut z = self.nonce.to_vec();
        aes::cbc_encrypt(&k_pi, &[0; aes::BLOCK], &mut z)?;
        Ok(z)
    }

    /// Step 2: the card's mapping key; maps `G~ = s·G + H`.
    pub(crate) fn map(&mut self, pk_map_ifd: &[u8]) -> Result<Vec<u8>> {
        if self.nonce.is_empty() {
            return Err(out_of_order());
        }
        let group = self.alg.curve();
        let sk = group.random_scalar()?;
        let pk = group.mul_base(&sk)?;
        let h = shared_point(group, &sk, pk_map_ifd)?;
        self.generator = Some(map_generator(group, &self.nonce, &h)?);
        self.sk_map = Some(sk);
        Ok(pk)
    }

    /// Step 3: the card's ephemeral key on `G~`; derives the session keys.
    pub(crate) fn agree(&mut self, pk_ifd: &[u8]) -> Result<Vec<u8>> {
        let group = self.alg.curve();
        let g = self.generator.as_ref().ok_or_else(out_of_order)?;
        let eph = EphemeralKey::from_secret(group, g, group.random_scalar()?)?;
        let k = eph.shared_secret(group, pk_ifd)?;
        self.keys = Some(SessionKeys::derive(&k, self.alg.key_len()));
        let pk = eph.public.clone();
        self.eph = Some(eph);
        self.pk_ifd = Some(pk_ifd.to_vec());
        Ok(pk)
    }

    /// Step 4: checks the terminal's token; on success the card's token and the session keys.
    pub(crate) fn authenticate(
        self,
        t_ifd: &[u8],
    ) -> Result<Option<([u8; TOKEN_LEN], SessionKeys)>> {
        let (Some(keys), Some(eph), Some(pk_ifd)) = (self.keys, self.eph, self.pk_ifd) else {
            return Err(out_of_order());
        };
        let oid = self.alg.protocol().as_bytes();
        if !verify(&keys.mac, oid, &eph.public, t_ifd)? {
            return Ok(None);
        }
        let t_ic = token(&keys.mac, oid, &pk_ifd)?;
        Ok(Some((t_ic, keys)))
    }
}
