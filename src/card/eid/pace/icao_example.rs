//! ICAO Doc 9303 part 11, appendix G.1 (PACE, ECDH Generic Mapping, AES-128,
//! brainpoolP256r1, MRZ password T22000129 / 640812 / 101031), reproduced value by value with
//! the example's private keys. The chip's side is computed too, so both directions are
//! checked.

use zeroize::Zeroizing;

use super::agreement::{EphemeralKey, SessionKeys};
use super::curves::{curve, x_coordinate};
use super::kdf::{kdf, KeyUse};
use super::mapping::{decrypt_nonce, map_generator, shared_point};
use super::token::{public_key_object, token, verify};
use crate::card::eid::password::tests::hex;
use crate::card::eid::{aes, Password};

const OID: &str = "04007F00070202040202"; // id-PACE-ECDH-GM-AES-CBC-CMAC-128
const K_PI: &str = "89DED1B26624EC1E634C1989302849DD";
const NONCE_Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
const NONCE_S: &str = "3F00C4D39D153F2B2A214A078D899B22";
const SK_MAP_IFD: &str = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
const PK_MAP_IFD: &str = "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E\
                          544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
const SK_MAP_IC: &str = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560";
const PK_MAP_IC: &str = "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57\
                         30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
const H: &str = "0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5\
                 0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181";
const G_MAPPED: &str = "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2\
                        8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522";
const SK_DH_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
const PK_DH_IFD: &str = "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C\
                         3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
const SK_DH_IC: &str = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A";
const PK_DH_IC: &str = "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
                        7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";
const K: &str = "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925";
const K_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
const K_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
const T_IFD: &str = "C2B0BD78D94BA866";
const T_IC: &str = "3ABB9674BCE93C08";
/// The token input of T_IFD: `7F49 4F { 06 0A OID, 86 41 PK_DH,IC }`.
const T_IFD_INPUT: &str = "7F494F060A04007F00070202040202864104\
    9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
    7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";

fn h(s: &str) -> Vec<u8> {
    hex(&s.replace(' ', ""))
}

#[test]
fn appendix_g1_value_by_value() {
    let bp = curve(13).unwrap();
    assert_eq!(bp.name(), "brainpoolP256r1");

    // Password key and nonce.
    let pi = Password::mrz("T22000129", "640812", "101031").unwrap();
    let k_pi = kdf(pi.secret(), KeyUse::Password, 16);
    assert_eq!(*k_pi, h(K_PI));
    let s = decrypt_nonce(&k_pi, &h(NONCE_Z), bp).unwrap();
    assert_eq!(*s, h(NONCE_S));
    // The chip's side of step 1: z = E(K_π, s).
    let mut z = h(NONCE_S);
    aes::cbc_encrypt(&k_pi, &[0; 16], &mut z).unwrap();
    assert_eq!(z, h(NONCE_Z));

    // Mapping keys and the shared point H, from both sides.
    assert_eq!(bp.mul_base(&h(SK_MAP_IFD)).unwrap(), h(PK_MAP_IFD));
    assert_eq!(bp.mul_base(&h(SK_MAP_IC)).unwrap(), h(PK_MAP_IC));
    let h_ifd = shared_point(bp, &h(SK_MAP_IFD), &h(PK_MAP_IC)).unwrap();
    let h_ic = shared_point(bp, &h(SK_MAP_IC), &h(PK_MAP_IFD)).unwrap();
    assert_eq!(*h_ifd, h(H));
    assert_eq!(h_ifd, h_ic);

    // Mapped generator G~ = s·G + H.
    let g = map_generator(bp, &s, &h_ifd).unwrap();
    assert_eq!(g, h(G_MAPPED));

    // Ephemeral keys on G~ and the shared secret K, from both sides.
    let ifd = EphemeralKey::from_secret(bp, &g, Zeroizing::new(h(SK_DH_IFD))).unwrap();
    let ic = EphemeralKey::from_secret(bp, &g, Zeroizing::new(h(SK_DH_IC))).unwrap();
    assert_eq!(ifd.public, h(PK_DH_IFD));
    assert_eq!(ic.public, h(PK_DH_IC));
    let k = ifd.shared_secret(bp, &ic.public).unwrap();
    assert_eq!(*k, h(K));
    assert_eq!(k, ic.shared_secret(bp, &ifd.public).unwrap());
    assert_eq!(
        *x_coordinate(bp, &bp.mul(&h(SK_DH_IC), &h(PK_DH_IFD)).unwrap()).unwrap(),
        h(K)
    );

    // Session keys.
    let keys = SessionKeys::derive(&k, 16);
    assert_eq!(*keys.enc, h(K_ENC));
    assert_eq!(*keys.mac, h(K_MAC));

    // Tokens: T_IFD over the chip's key, T_IC over the terminal's.
    let oid = h(OID);
    assert_eq!(public_key_object(&oid, &ic.public), h(T_IFD_INPUT));
    assert_eq!(
        token(&keys.mac, &oid, &ic.public).unwrap().to_vec(),
        h(T_IFD)
    );
    assert_eq!(
        token(&keys.mac, &oid, &ifd.public).unwrap().to_vec(),
        h(T_IC)
    );
    assert!(verify(&keys.mac, &oid, &ifd.public, &h(T_IC)).unwrap());
    let mut wrong = h(T_IC);
    wrong[7] ^= 1;
    assert!(!verify(&keys.mac, &oid, &ifd.public, &wrong).unwrap());
    assert!(!verify(&keys.mac, &oid, &ifd.public, &h(T_IC)[..7]).unwrap());
}

#[test]
fn the_card_sending_our_own_key_back_is_refused() {
    let bp = curve(13).unwrap();
    let g = h(G_MAPPED);
    let ifd = EphemeralKey::from_secret(bp, &g, Zeroizing::new(h(SK_DH_IFD))).unwrap();
    let e = ifd.shared_secret(bp, &ifd.public.clone()).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Protocol);
}

/// The example's terminal keys, in the order the protocol asks for them.
struct ExampleKeys(Vec<&'static str>);

impl super::protocol::KeySource for ExampleKeys {
    fn next(&mut self, _: &dyn super::EcGroup) -> crate::Result<super::curves::SecretScalar> {
        Ok(Zeroizing::new(h(self.0.remove(0))))
    }
}

#[tokio::test]
async fn appendix_g1_transcript_is_reproduced_byte_for_byte() {
    use crate::card::eid::{PaceAlgorithm, SecurityInfos};
    use crate::card::script_card::{ScriptCard, ScriptReader, ScriptStep};
    use crate::card::ShareMode;

    // EF.CardAccess of the example: PACE-ECDH-GM-AES-128 on brainpoolP256r1.
    let infos = SecurityInfos::parse(&h("31143012060A04007F0007020204020202010202010D")).unwrap();
    let alg = PaceAlgorithm::from_info(infos.pace().next().unwrap()).unwrap();
    let card = ScriptCard::eid();
    card.expect([
        ScriptStep::new(h("0022C1A40F800A04007F00070202040202830101"), h("9000")),
        ScriptStep::new(h("10860000027C0000"), h(&format!("7C128010{NONCE_Z}9000"))),
        ScriptStep::new(
            h(&format!("10860000457C438141{PK_MAP_IFD}00")),
            h(&format!("7C438241{PK_MAP_IC}9000")),
        ),
        ScriptStep::new(
            h(&format!("10860000457C438341{PK_DH_IFD}00")),
            h(&format!("7C438441{PK_DH_IC}9000")),
        ),
        ScriptStep::new(
            h(&format!("008600000C7C0A8508{T_IFD}00")),
            h(&format!("7C0A8608{T_IC}9000")),
        ),
    ]);
    let reader = ScriptReader::new("reader").with_card(card.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let pi = Password::mrz("T22000129", "640812", "101031").unwrap();
    let mut keys = ExampleKeys(vec![SK_MAP_IFD, SK_DH_IFD]);
    let end = super::protocol::run(conn.as_mut(), &alg, &pi, false, &mut keys)
        .await
        .unwrap();
    card.done().unwrap();
    let super::protocol::PaceEnd::Established(session, None) = end else {
        panic!("{end:?}");
    };
    assert_eq!(*session.enc, h(K_ENC));
    assert_eq!(*session.mac, h(K_MAC));
}

#[tokio::test]
async fn a_wrong_card_token_fails_the_run() {
    use crate::card::eid::{PaceAlgorithm, SecurityInfos};
    use crate::card::script_card::{ScriptCard, ScriptReader, ScriptStep};
    use crate::card::ShareMode;

    let infos = SecurityInfos::parse(&h("31143012060A04007F0007020204020202010202010D")).unwrap();
    let alg = PaceAlgorithm::from_info(infos.pace().next().unwrap()).unwrap();
    let card = ScriptCard::eid();
    let mut bad_token = h(T_IC);
    bad_token[0] ^= 0x80;
    card.expect([
        ScriptStep::new(h("0022C1A40F800A04007F00070202040202830101"), h("9000")),
        ScriptStep::new(h("10860000027C0000"), h(&format!("7C128010{NONCE_Z}9000"))),
        ScriptStep::new(
            h(&format!("10860000457C438141{PK_MAP_IFD}00")),
            h(&format!("7C438241{PK_MAP_IC}9000")),
        ),
        ScriptStep::new(
            h(&format!("10860000457C438341{PK_DH_IFD}00")),
            h(&format!("7C438441{PK_DH_IC}9000")),
        ),
        ScriptStep::new(
            h(&format!("008600000C7C0A8508{T_IFD}00")),
            [h("7C0A8608"), bad_token, h("9000")].concat(),
        ),
    ]);
    let reader = ScriptReader::new("reader").with_card(card.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let pi = Password::mrz("T22000129", "640812", "101031").unwrap();
    let mut keys = ExampleKeys(vec![SK_MAP_IFD, SK_DH_IFD]);
    let e = super::protocol::run(conn.as_mut(), &alg, &pi, false, &mut keys)
        .await
        .unwrap_err();
    card.done().unwrap();
    assert_eq!(e.kind(), crate::ErrorKind::Protocol);
    assert!(e.to_string().contains("token"), "{e}");
}

#[tokio::test]
async fn malformed_card_answers_are_protocol_errors_never_panics() {
    use crate::card::eid::{PaceAlgorithm, SecurityInfos};
    use crate::card::script_card::{ScriptCard, ScriptReader, ScriptStep};
    use crate::card::ShareMode;

    let infos = SecurityInfos::parse(&h("31143012060A04007F0007020204020202010202010D")).unwrap();
    let alg = PaceAlgorithm::from_info(infos.pace().next().unwrap()).unwrap();
    let good = h(&format!("7C438241{PK_MAP_IC}"));
    // Every truncation of the mapping answer, a wrong tag, and a point off the curve.
    let mut answers: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    answers.push(h(&format!("7C438341{PK_MAP_IC}")));
    let mut off = good.clone();
    off[40] ^= 1;
    answers.push(off);
    for (i, a) in answers.into_iter().enumerate() {
        let card = ScriptCard::eid();
        card.expect([
            ScriptStep::new(h("0022C1A40F800A04007F00070202040202830101"), h("9000")),
            ScriptStep::new(h("10860000027C0000"), h(&format!("7C128010{NONCE_Z}9000"))),
            ScriptStep::new(
                h(&format!("10860000457C438141{PK_MAP_IFD}00")),
                [a, h("9000")].concat(),
            ),
        ]);
        let reader = ScriptReader::new("reader").with_card(card.clone());
        let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
        let pi = Password::mrz("T22000129", "640812", "101031").unwrap();
        let mut keys = ExampleKeys(vec![SK_MAP_IFD, SK_DH_IFD]);
        let e = super::protocol::run(conn.as_mut(), &alg, &pi, false, &mut keys)
            .await
            .unwrap_err();
        card.done().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Protocol, "answer {i}: {e}");
    }
}
