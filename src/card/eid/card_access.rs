//! EF.CardAccess of the German eID card (nPA, *neuer Personalausweis*): recognition, reading
//! the file and parsing its SecurityInfos (BSI TR-03110 part 3) into typed values such as
//! [`PaceInfo`].
//!
//! Everything here works through the [`Card`] trait, so it runs the same against a PC/SC
//! reader, a mock card or your own fake. Reading EF.CardAccess needs no PIN or CAN: it is the
//! file a terminal reads *before* PACE to learn which protocols the card offers.
//!
//! ```
//! use buergerkoffer::card::eid::{SecurityInfos, PaceMapping, NPA_GEN1_EF_CARDACCESS};
//! let infos = SecurityInfos::parse(NPA_GEN1_EF_CARDACCESS)?;
//! let pace = infos.pace().next().unwrap();
//! assert_eq!(pace.version, 2);
//! assert_eq!(pace.mapping, PaceMapping::EcdhGeneric);
//! assert_eq!(pace.parameter_id, Some(13)); // brainpoolP256r1
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use std::fmt;

use crate::card::apdu::{CommandApdu, StatusWord};
use crate::card::tlv::{Oid, Tag, Tlv};
use crate::card::{Atr, Card};
use crate::error::{Error, ErrorKind, Result};

/// File identifier of EF.CardAccess (in the master file).
pub const EF_CARDACCESS_FID: u16 = 0x011C;

/// EF.CardAccess of a first-generation German eID card (2010), as published with the BSI's
/// test material and used by the vsmartcard nPA emulation: TerminalAuthenticationInfo,
/// two ChipAuthenticationInfos, a PACEInfo (ECDH generic mapping, AES-128, brainpoolP256r1),
/// two ChipAuthenticationDomainParameterInfos and a CardInfoLocator. A test fixture.
pub const NPA_GEN1_EF_CARDACCESS: &[u8] = &[
    0x31, 0x81, 0xB3, 0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02,
    0x01, 0x02, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02,
    0x02, 0x01, 0x02, 0x02, 0x01, 0x41, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02,
    0x02, 0x03, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x45, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00,
    0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D, 0x30, 0x1C,
    0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x30, 0x0C, 0x06, 0x07, 0x04,
    0x00, 0x7F, 0x00, 0x07, 0x01, 0x02, 0x02, 0x01, 0x0D, 0x02, 0x01, 0x41, 0x30, 0x1C, 0x06, 0x09,
    0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x30, 0x0C, 0x06, 0x07, 0x04, 0x00, 0x7F,
    0x00, 0x07, 0x01, 0x02, 0x02, 0x01, 0x0D, 0x02, 0x01, 0x45, 0x30, 0x2A, 0x06, 0x08, 0x04, 0x00,
    0x7F, 0x00, 0x07, 0x02, 0x02, 0x06, 0x16, 0x1E, 0x68, 0x74, 0x74, 0x70, 0x3A, 0x2F, 0x2F, 0x62,
    0x73, 0x69, 0x2E, 0x62, 0x75, 0x6E, 0x64, 0x2E, 0x64, 0x65, 0x2F, 0x63, 0x69, 0x66, 0x2F, 0x6E,
    0x70, 0x61, 0x2E, 0x78, 0x6D, 0x6C,
];

/// Largest EF.CardAccess this module reads (real ones are a few hundred bytes).
pub const MAX_CARDACCESS_LEN: usize = 4096;

// bsi-de protocols smartcards (0.4.0.127.0.7.2.2) and its children, DER-encoded.
const ID_TA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02];
const ID_CA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03];
const ID_PACE: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];
const ID_CI: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x06];

/// ATRs of German eID cards as PC/SC readers report them (contactless; the reader builds the
/// ATR from the card's ATS). A hint only: recognition that counts reads EF.CardAccess.
pub const KNOWN_NPA_ATRS: &[&[u8]] = &[
    // nPA generation 1, historical bytes "80 31 F8 73 F7 41 E0 82 90 00".
    &[
        0x3B, 0x8A, 0x80, 0x01, 0x80, 0x31, 0xF8, 0x73, 0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00, 0x75,
    ],
];

/// Whether `atr` is one of the [`KNOWN_NPA_ATRS`].
pub fn atr_looks_like_npa(atr: &Atr) -> bool {
    KNOWN_NPA_ATRS.contains(&atr.as_bytes())
}

/// The key-agreement mapping a PACEInfo names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaceMapping {
    /// id-PACE-DH-GM.
    DhGeneric,
    /// id-PACE-ECDH-GM (the German eID card's).
    EcdhGeneric,
    /// id-PACE-DH-IM.
    DhIntegrated,
    /// id-PACE-ECDH-IM.
    EcdhIntegrated,
    /// id-PACE-ECDH-CAM (chip authentication mapping, newer cards).
    EcdhChipAuthentication,
    /// An arc this crate does not know.
    Other(u64),
}

impl PaceMapping {
    fn from_arc(a: u64) -> Self {
        match a {
            1 => PaceMapping::DhGeneric,
            2 => PaceMapping::EcdhGeneric,
            3 => PaceMapping::DhIntegrated,
            4 => PaceMapping::EcdhIntegrated,
            6 => PaceMapping::EcdhChipAuthentication,
            o => PaceMapping::Other(o),
        }
    }
}

/// The secure-messaging cipher a PACEInfo names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaceCipher {
    /// 3DES-CBC-CBC.
    TripleDes,
    /// AES-CBC-CMAC-128.
    Aes128,
    /// AES-CBC-CMAC-192.
    Aes192,
    /// AES-CBC-CMAC-256.
    Aes256,
    /// An arc this crate does not know.
    Other(u64),
}

impl PaceCipher {
    fn from_arc(a: u64) -> Self {
        match a {
            1 => PaceCipher::TripleDes,
            2 => PaceCipher::Aes128,
            3 => PaceCipher::Aes192,
            4 => PaceCipher::Aes256,
            o => PaceCipher::Other(o),
        }
    }
}

/// A PACEInfo: one way the card offers to run PACE.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaceInfo {
    /// The protocol OID, e.g. `0.4.0.127.0.7.2.2.4.2.2` (id-PACE-ECDH-GM-AES-CBC-CMAC-128).
    pub protocol: Oid,
    /// Mapping from the OID.
    pub mapping: PaceMapping,
    /// Cipher from the OID.
    pub cipher: PaceCipher,
    /// The PACE version (2 for current cards).
    pub version: u32,
    /// The standardized domain parameter id, e.g. 13 = brainpoolP256r1 (see
    /// [`standardized_domain_parameters`]).
    pub parameter_id: Option<u32>,
}

/// The name of a standardized domain parameter id (BSI TR-03110 part 3, table 4).
pub fn standardized_domain_parameters(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "1024-bit MODP group with 160-bit prime order subgroup",
        1 => "2048-bit MODP group with 224-bit prime order subgroup",
        2 => "2048-bit MODP group with 256-bit prime order subgroup",
        8 => "NIST P-192 (secp192r1)",
        9 => "brainpoolP192r1",
        10 => "NIST P-224 (secp224r1)",
        11 => "brainpoolP224r1",
        12 => "NIST P-256 (secp256r1)",
        13 => "brainpoolP256r1",
        14 => "brainpoolP320r1",
        15 => "NIST P-384 (secp384r1)",
        16 => "brainpoolP384r1",
        17 => "brainpoolP512r1",
        18 => "NIST P-521 (secp521r1)",
        _ => return None,
    })
}

/// One SecurityInfo of EF.CardAccess.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityInfo {
    /// PACEInfo.
    Pace(PaceInfo),
    /// PACEDomainParameterInfo (explicit domain parameters; only the OID and id are kept).
    PaceDomainParameters {
        /// Protocol OID.
        protocol: Oid,
        /// Parameter id, if given.
        parameter_id: Option<u32>,
    },
    /// ChipAuthenticationInfo.
    ChipAuthentication {
        /// Protocol OID.
        protocol: Oid,
        /// Version.
        version: u32,
        /// Key id, if given.
        key_id: Option<u32>,
    },
    /// ChipAuthenticationDomainParameterInfo.
    ChipAuthenticationDomainParameters {
        /// Protocol OID.
        protocol: Oid,
        /// Key id, if given.
        key_id: Option<u32>,
    },
    /// TerminalAuthenticationInfo.
    TerminalAuthentication {
        /// Version.
        version: u32,
    },
    /// CardInfoLocator: where the card's description lives.
    CardInfoLocator {
        /// The URL.
        url: String,
    },
    /// A SecurityInfo this crate does not interpret.
    Other {
        /// Its protocol OID.
        protocol: Oid,
    },
}

/// The parsed SecurityInfos of EF.CardAccess.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SecurityInfos {
    /// Every SecurityInfo, in file order.
    pub infos: Vec<SecurityInfo>,
}

fn bad(what: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Protocol, "card", "parse EF.CardAccess").with_detail(what.to_string())
}

impl SecurityInfos {
    /// Parses EF.CardAccess: `SET OF SecurityInfo`, each `SEQUENCE { protocol OID,
    /// requiredData ANY, optionalData ANY OPTIONAL }`. Bounded and panic-free.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for malformed TLV, a missing SET, a SecurityInfo without an
    /// OID, or a PACEInfo/ChipAuthenticationInfo whose version is not an INTEGER.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let (set, rest) = Tlv::parse(bytes)?;
        let set = set.expect(Tag::SET)?;
        if rest.iter().any(|&b| b != 0x00 && b != 0xFF) {
            return Err(bad(format!("{} bytes after the SET", rest.len())));
        }
        let mut infos = Vec::new();
        for item in set.children() {
            let seq = item?.expect(Tag::SEQUENCE)?;
            let mut fields = seq.children();
            let oid_tlv = fields
                .next()
                .ok_or_else(|| bad("empty SecurityInfo"))??
                .expect(Tag::OID)?;
            let protocol = Oid::from_der_value(oid_tlv.value())?;
            let required = fields
                .next()
                .transpose()?
                .ok_or_else(|| bad(format!("SecurityInfo {protocol} without requiredData")))?;
            let optional = fields.next().transpose()?;
            let int = |t: Tlv<'_>| t.expect(Tag::INTEGER).and_then(|t| t.as_u32());
            let opt_int = |t: Option<Tlv<'_>>| t.map(int).transpose();
            let info = if let Some(arcs) = protocol.arcs_after(ID_PACE) {
                match arcs.as_slice() {
                    [m, c] => SecurityInfo::Pace(PaceInfo {
                        mapping: PaceMapping::from_arc(*m),
                        cipher: PaceCipher::from_arc(*c),
                        version: int(required)?,
                        parameter_id: opt_int(optional)?,
                        protocol,
                    }),
                    [_] => SecurityInfo::PaceDomainParameters {
                        protocol,
                        parameter_id: opt_int(optional)?,
                    },
                    _ => SecurityInfo::Other { protocol },
                }
            } else if let Some(arcs) = protocol.arcs_after(ID_CA) {
                match arcs.len() {
                    2 => SecurityInfo::ChipAuthentication {
                        version: int(required)?,
                        key_id: opt_int(optional)?,
                        protocol,
                    },
                    1 => SecurityInfo::ChipAuthenticationDomainParameters {
                        protocol,
                        key_id: opt_int(optional)?,
                    },
                    _ => SecurityInfo::Other { protocol },
                }
            } else if protocol.as_bytes() == ID_TA {
                SecurityInfo::TerminalAuthentication {
                    version: int(required)?,
                }
            } else if protocol.as_bytes() == ID_CI {
                // CardInfoLocator: requiredData is the URL (IA5String).
                SecurityInfo::CardInfoLocator {
                    url: String::from_utf8_lossy(required.value()).into_owned(),
                }
            } else {
                SecurityInfo::Other { protocol }
            };
            infos.push(info);
        }
        Ok(SecurityInfos { infos })
    }

    /// The PACEInfos.
    pub fn pace(&self) -> impl Iterator<Item = &PaceInfo> {
        self.infos.iter().filter_map(|i| match i {
            SecurityInfo::Pace(p) => Some(p),
            _ => None,
        })
    }

    /// Whether this looks like a German eID card: PACE plus Terminal and Chip Authentication
    /// (the EAC protocols of the nPA).
    pub fn is_german_eid(&self) -> bool {
        let has = |f: fn(&SecurityInfo) -> bool| self.infos.iter().any(f);
        self.pace().next().is_some()
            && has(|i| matches!(i, SecurityInfo::TerminalAuthentication { .. }))
            && has(|i| matches!(i, SecurityInfo::ChipAuthentication { .. }))
    }
}

/// How READ BINARY asks for data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadLength {
    /// Short Le (up to 256 bytes per command).
    #[default]
    Short,
    /// Extended Le (the whole file in one command, if the card and reader allow it).
    Extended,
}

/// What [`read_card_access`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EidInfo {
    /// The raw EF.CardAccess.
    pub card_access: Vec<u8>,
    /// Its parsed SecurityInfos.
    pub security_infos: SecurityInfos,
}

impl EidInfo {
    /// Whether the card is a German eID card (see [`SecurityInfos::is_german_eid`]).
    pub fn is_german_eid(&self) -> bool {
        self.security_infos.is_german_eid()
    }
}

/// Selects EF.CardAccess (`SELECT 011C`) and reads it with READ BINARY, stopping when the
/// outer TLV is complete, at the end of the file (`6282`/short answer), or at
/// [`MAX_CARDACCESS_LEN`].
///
/// # Errors
/// [`ErrorKind::NotFound`] when the card has no EF.CardAccess (`6A82`), other status words as
/// [`StatusWord::check`] maps them, [`ErrorKind::Protocol`] for a file that is not BER-TLV or
/// too large, and transport errors from [`Card::transmit`].
pub async fn read_card_access_bytes(card: &mut dyn Card, mode: ReadLength) -> Result<Vec<u8>> {
    let reader = card.reader().to_owned();
    let select =
        CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(EF_CARDACCESS_FID.to_be_bytes());
    let r = card.transmit(&select).await?;
    r.sw().check(&reader, "SELECT EF.CardAccess")?;
    let mut data: Vec<u8> = Vec::new();
    loop {
        let offset = u16::try_from(data.len())
            .ok()
            .filter(|o| *o < 0x8000)
            .ok_or_else(|| bad("EF.CardAccess larger than READ BINARY can address"))?;
        let le = match mode {
            ReadLength::Short => 256,
            ReadLength::Extended => 65536,
        };
        let [p1, p2] = offset.to_be_bytes();
        let cmd = CommandApdu::new(0x00, 0xB0, p1, p2).with_le(le);
        let r = card.transmit(&cmd).await?;
        let sw = r.sw();
        let end_of_file = sw == StatusWord(0x6282);
        if !end_of_file {
            if sw == StatusWord(0x6B00) && !data.is_empty() {
                break; // offset beyond the end: the file ended on a chunk boundary
            }
            sw.check(&reader, "READ BINARY EF.CardAccess")?;
        }
        let got = r.data().len();
        data.extend_from_slice(r.data());
        if data.len() > MAX_CARDACCESS_LEN {
            return Err(bad(format!("more than {MAX_CARDACCESS_LEN} bytes")));
        }
        if end_of_file || got == 0 || got < le as usize || tlv_complete(&data)? {
            break;
        }
    }
    // Cut what the file holds beyond the TLV (padding).
    if let Some(n) = tlv_total_len(&data) {
        data.truncate(n);
    }
    Ok(data)
}

/// Reads and parses EF.CardAccess.
///
/// # Errors
/// As [`read_card_access_bytes`] and [`SecurityInfos::parse`].
pub async fn read_card_access(card: &mut dyn Card, mode: ReadLength) -> Result<EidInfo> {
    let card_access = read_card_access_bytes(card, mode).await?;
    let security_infos = SecurityInfos::parse(&card_access)?;
    Ok(EidInfo {
        card_access,
        security_infos,
    })
}

/// Length of the first TLV's header + value, if its header is complete.
fn tlv_total_len(data: &[u8]) -> Option<usize> {
    let (&first, rest) = data.split_first()?;
    let mut header = 1usize;
    let mut rest = rest;
    if first & 0x1F == 0x1F {
        loop {
            let (&b, r) = rest.split_first()?;
            header += 1;
            rest = r;
            if b & 0x80 == 0 || header > 4 {
                break;
            }
        }
    }
    let (&l0, rest) = rest.split_first()?;
    header += 1;
    let len = match l0 {
        0..=0x7F => usize::from(l0),
        0x81..=0x84 => {
            let n = usize::from(l0 & 0x7F);
            let bytes = rest.get(..n)?;
            header += n;
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
        }
        _ => return None,
    };
    header.checked_add(len)
}

fn tlv_complete(data: &[u8]) -> Result<bool> {
    match data.first() {
        None => Ok(false),
        Some(&b) if b != 0x31 => Err(bad(format!(
            "file starts with tag {b:02X}, expected SET (31)"
        ))),
        Some(_) => Ok(tlv_total_len(data).is_some_and(|n| data.len() >= n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen1_fixture_parses_into_typed_infos() {
        let infos = SecurityInfos::parse(NPA_GEN1_EF_CARDACCESS).unwrap();
        assert_eq!(infos.infos.len(), 7);
        assert!(infos.is_german_eid());
        let pace: Vec<_> = infos.pace().collect();
        assert_eq!(pace.len(), 1);
        assert_eq!(pace[0].protocol.to_string(), "0.4.0.127.0.7.2.2.4.2.2");
        assert_eq!(pace[0].cipher, PaceCipher::Aes128);
        assert_eq!(
            standardized_domain_parameters(pace[0].parameter_id.unwrap()),
            Some("brainpoolP256r1")
        );
        assert!(infos
            .infos
            .contains(&SecurityInfo::TerminalAuthentication { version: 2 }));
        assert!(infos.infos.iter().any(|i| matches!(
            i,
            SecurityInfo::ChipAuthentication {
                version: 2,
                key_id: Some(0x45),
                ..
            }
        )));
        assert!(infos.infos.contains(&SecurityInfo::CardInfoLocator {
            url: "http://bsi.bund.de/cif/npa.xml".into()
        }));
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        for n in 0..NPA_GEN1_EF_CARDACCESS.len() {
            assert!(
                SecurityInfos::parse(&NPA_GEN1_EF_CARDACCESS[..n]).is_err(),
                "{n}"
            );
        }
        for i in 0..NPA_GEN1_EF_CARDACCESS.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut d = NPA_GEN1_EF_CARDACCESS.to_vec();
                d[i] ^= flip;
                let _ = SecurityInfos::parse(&d);
            }
        }
    }

    #[test]
    fn total_length_of_a_tlv_header() {
        assert_eq!(tlv_total_len(NPA_GEN1_EF_CARDACCESS), Some(182));
        assert_eq!(tlv_total_len(&[0x31, 0x81]), None);
        assert_eq!(tlv_total_len(&[0x31, 0x05]), Some(7));
    }
}
