//! PACE, terminal side (BSI TR-03110 part 2/3, ICAO Doc 9303 part 11): Generic Mapping over
//! ECDH with AES-128/192/256 (`id-PACE-ECDH-GM-AES-CBC-CMAC-*`) on the standardized curves
//! this crate implements (see [`PaceAlgorithm::from_info`]).
//!
//! One file per step: [`kdf`](self) key derivation, `mapping` nonce and Generic Mapping,
//! `agreement` ephemeral ECDH and session keys, `token` authentication tokens, `curves`
//! the group arithmetic, `protocol` the APDUs.

mod agreement;
pub(crate) mod chip;
mod curves;
mod kdf;
mod mapping;
pub(crate) mod protocol;
pub(crate) mod reader;
mod token;

#[cfg(test)]
mod icao_example;

use std::fmt;

use crate::card::eid::{standardized_domain_parameters, PaceCipher, PaceInfo, PaceMapping};
use crate::card::tlv::Oid;
use crate::error::{Error, ErrorKind, Result};

pub(crate) use agreement::SessionKeys;
pub(crate) use curves::EcGroup;

/// A PACE variant this crate can run: protocol OID, AES key length and curve.
#[derive(Clone)]
pub struct PaceAlgorithm {
    protocol: Oid,
    key_len: usize,
    parameter_id: u32,
    curve: &'static dyn EcGroup,
}

impl PaceAlgorithm {
    /// Chooses the algorithm a card's PACEInfo names.
    ///
    /// ```
    /// use buergerkoffer::card::eid::{PaceAlgorithm, SecurityInfos, NPA_GEN1_EF_CARDACCESS};
    /// let infos = SecurityInfos::parse(NPA_GEN1_EF_CARDACCESS)?;
    /// let alg = PaceAlgorithm::from_info(infos.pace().next().unwrap())?;
    /// assert_eq!(alg.to_string(), "id-PACE-ECDH-GM-AES-CBC-CMAC-128 on brainpoolP256r1");
    /// # Ok::<(), buergerkoffer::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`], naming what is missing, for every mapping but ECDH
    /// Generic Mapping, for 3DES, for explicit (non-standardized) domain parameters, and for
    /// curves other than NIST P-256 (12), brainpoolP256r1 (13), NIST P-384 (15) and
    /// brainpoolP384r1 (16).
    pub fn from_info(info: &PaceInfo) -> Result<Self> {
        let unsupported = |what: String| {
            Error::new(ErrorKind::Unsupported, "eid", "PACE").with_detail(format!(
                "{what} ({}) not implemented; this crate runs ECDH Generic Mapping with AES",
                info.protocol
            ))
        };
        if info.mapping != PaceMapping::EcdhGeneric {
            return Err(unsupported(format!("PACE mapping {:?}", info.mapping)));
        }
        let key_len = match info.cipher {
            PaceCipher::Aes128 => 16,
            PaceCipher::Aes192 => 24,
            PaceCipher::Aes256 => 32,
            other => return Err(unsupported(format!("PACE cipher {other:?}"))),
        };
        let parameter_id = info.parameter_id.ok_or_else(|| {
            unsupported("PACEInfo without a standardized domain parameter id".into())
        })?;
        let curve = curves::curve(parameter_id)?;
        Ok(PaceAlgorithm {
            protocol: info.protocol.clone(),
            key_len,
            parameter_id,
            curve,
        })
    }

    /// The protocol OID (sent in MSE:Set AT and in the token's public-key object).
    pub fn protocol(&self) -> &Oid {
        &self.protocol
    }

    /// AES key length in bytes (16, 24 or 32).
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// The standardized domain parameter id.
    pub fn parameter_id(&self) -> u32 {
        self.parameter_id
    }

    /// The curve's name, e.g. `brainpoolP256r1`.
    pub fn curve_name(&self) -> &'static str {
        standardized_domain_parameters(self.parameter_id).unwrap_or(self.curve.name())
    }

    pub(crate) fn curve(&self) -> &'static dyn EcGroup {
        self.curve
    }
}

impl fmt::Display for PaceAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "id-PACE-ECDH-GM-AES-CBC-CMAC-{} on {}",
            self.key_len * 8,
            self.curve_name()
        )
    }
}

impl fmt::Debug for PaceAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaceAlgorithm({self}, {})", self.protocol)
    }
}
