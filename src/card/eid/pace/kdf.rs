//! Key derivation (BSI TR-03110 part 3, A.2.3 / ICAO 9303-11, 9.7.1):
//! `KDF(K, c) = H(K ‖ c)` with a 32-bit big-endian counter `c` (1 = K_enc, 2 = K_mac,
//! 3 = K_π), truncated to the key length. AES-128 uses SHA-1, AES-192 and AES-256 SHA-256.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// What a derived key is for: the counter of the KDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// Secure-messaging encryption key (counter 1).
    Enc = 1,
    /// Secure-messaging MAC key (counter 2).
    Mac = 2,
    /// The password key K_π that encrypts the PACE nonce (counter 3).
    Password = 3,
}

/// A symmetric key, zeroized on drop.
pub(crate) type Key = Zeroizing<Vec<u8>>;

/// Derives a key of `key_len` bytes (16, 24 or 32) from the shared secret or password.
pub(crate) fn kdf(secret: &[u8], key_use: KeyUse, key_len: usize) -> Key {
    let counter = (key_use as u32).to_be_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(32));
    if key_len <= 16 {
        let mut h = Sha1::new();
        h.update(secret);
        h.update(counter);
        out.extend_from_slice(&h.finalize());
    } else {
        let mut h = Sha256::new();
        h.update(secret);
        h.update(counter);
        out.extend_from_slice(&h.finalize());
    }
    out.truncate(key_len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::eid::password::tests::hex;

    #[test]
    fn icao_appendix_g_password_and_session_keys() {
        // K_π from the MRZ hash, K_enc/K_mac from the shared secret of appendix G.1.
        let k = hex("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD");
        assert_eq!(
            *kdf(&k, KeyUse::Password, 16),
            hex("89DED1B26624EC1E634C1989302849DD")
        );
        let s = hex("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925");
        assert_eq!(
            *kdf(&s, KeyUse::Enc, 16),
            hex("F5F0E35C0D7161EE6724EE513A0D9A7F")
        );
        assert_eq!(
            *kdf(&s, KeyUse::Mac, 16),
            hex("FE251C7858B356B24514B3BD5F4297D1")
        );
    }

    #[test]
    fn longer_keys_use_sha256() {
        let full = Sha256::digest([b"abc".as_slice(), &[0, 0, 0, 1]].concat());
        assert_eq!(*kdf(b"abc", KeyUse::Enc, 32), full.to_vec());
        assert_eq!(*kdf(b"abc", KeyUse::Enc, 24), full[..24].to_vec());
    }
}
