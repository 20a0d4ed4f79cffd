//! AES as PACE and secure messaging use it (BSI TR-03110 part 3, A.2.2 / ICAO 9303-11, 9.8):
//! CBC without padding of its own, single-block encryption (the SM IV), CMAC, and the
//! ISO/IEC 9797-1 method 2 (ISO 7816-4) padding. The key length picks AES-128/192/256.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use cmac::{Cmac, Mac};

use crate::error::{Error, ErrorKind, Result};

/// AES block length.
pub(crate) const BLOCK: usize = 16;

fn bad_key(len: usize) -> Error {
    Error::new(ErrorKind::InvalidInput, "eid", "AES")
        .with_detail(format!("key of {len} bytes, AES takes 16, 24 or 32"))
}

fn not_blocks(len: usize) -> Error {
    Error::new(ErrorKind::Protocol, "eid", "AES-CBC")
        .with_detail(format!("{len} bytes, not a multiple of the 16-byte block"))
}

/// Runs `$body` with `$t` bound to the AES variant that fits the key length.
macro_rules! by_key {
    ($key:expr, $t:ident => $body:expr) => {
        match $key.len() {
            16 => {
                type $t = Aes128;
                $body
            }
            24 => {
                type $t = Aes192;
                $body
            }
            32 => {
                type $t = Aes256;
                $body
            }
            n => Err(bad_key(n)),
        }
    };
}

/// Encrypts `data` (a multiple of 16 bytes) in place with AES-CBC.
pub(crate) fn cbc_encrypt(key: &[u8], iv: &[u8; BLOCK], data: &mut [u8]) -> Result<()> {
    if !data.len().is_multiple_of(BLOCK) {
        return Err(not_blocks(data.len()));
    }
    let len = data.len();
    by_key!(key, A => {
        let enc = cbc::Encryptor::<A>::new_from_slices(key, iv).map_err(|_| bad_key(key.len()))?;
        enc.encrypt_padded::<NoPadding>(data, len).map(|_| ()).map_err(|_| not_blocks(len))
    })
}

/// Decrypts `data` (a multiple of 16 bytes) in place with AES-CBC.
pub(crate) fn cbc_decrypt(key: &[u8], iv: &[u8; BLOCK], data: &mut [u8]) -> Result<()> {
    if !data.len().is_multiple_of(BLOCK) {
        return Err(not_blocks(data.len()));
    }
    let len = data.len();
    by_key!(key, A => {
        let dec = cbc::Decryptor::<A>::new_from_slices(key, iv).map_err(|_| bad_key(key.len()))?;
        dec.decrypt_padded::<NoPadding>(data).map(|_| ()).map_err(|_| not_blocks(len))
    })
}

/// AES of one block (the SM IV is `E(K_enc, SSC)`).
pub(crate) fn encrypt_block(key: &[u8], block: &[u8; BLOCK]) -> Result<[u8; BLOCK]> {
    by_key!(key, A => {
        let c = A::new_from_slice(key).map_err(|_| bad_key(key.len()))?;
        let mut b = (*block).into();
        c.encrypt_block(&mut b);
        Ok(b.into())
    })
}

/// AES-CMAC of the concatenation of `parts`, untruncated (callers keep the first 8 bytes).
pub(crate) fn cmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; BLOCK]> {
    by_key!(key, A => {
        let mut m = <Cmac<A> as KeyInit>::new_from_slice(key).map_err(|_| bad_key(key.len()))?;
        for p in parts {
            m.update(p);
        }
        Ok(m.finalize().into_bytes().into())
    })
}

/// Pads with `80 00 ..` to a multiple of 16 bytes (always adds at least one byte).
pub(crate) fn pad(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + BLOCK);
    v.extend_from_slice(data);
    v.push(0x80);
    while !v.len().is_multiple_of(BLOCK) {
        v.push(0x00);
    }
    v
}

/// Removes `80 00 ..` padding; `None` when there is none.
pub(crate) fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|&b| b != 0)?;
    (data[end] == 0x80 && data.len() - end <= BLOCK).then(|| &data[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::eid::password::tests::hex;

    #[test]
    fn nist_vectors_for_every_key_length() {
        // FIPS-197 appendix C.
        let pt: [u8; 16] = hex("00112233445566778899aabbccddeeff").try_into().unwrap();
        for (key, ct) in [
            (
                "000102030405060708090a0b0c0d0e0f",
                "69c4e0d86a7b0430d8cdb78070b4c55a",
            ),
            (
                "000102030405060708090a0b0c0d0e0f1011121314151617",
                "dda97ca4864cdfe06eaf70a0ec0d7191",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "8ea2b7ca516745bfeafc49904b496089",
            ),
        ] {
            assert_eq!(encrypt_block(&hex(key), &pt).unwrap().to_vec(), hex(ct));
            let mut buf = pt.to_vec();
            cbc_encrypt(&hex(key), &[0; 16], &mut buf).unwrap();
            assert_eq!(buf, hex(ct));
            cbc_decrypt(&hex(key), &[0; 16], &mut buf).unwrap();
            assert_eq!(buf, pt);
        }
        // RFC 4493 example 2 (AES-128-CMAC of 16 bytes).
        let k = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let m = hex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            cmac(&k, &[&m[..7], &m[7..]]).unwrap().to_vec(),
            hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
        assert_eq!(
            encrypt_block(&[0; 15], &pt).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            cbc_decrypt(&k, &[0; 16], &mut [0; 15]).unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn padding_round_trips_and_rejects_garbage() {
        for n in 0..40 {
            let d: Vec<u8> = (0..n as u8).map(|i| i | 1).collect();
            let p = pad(&d);
            assert!(p.len().is_multiple_of(16) && p.len() > d.len());
            assert_eq!(unpad(&p), Some(d.as_slice()));
        }
        assert_eq!(unpad(&[1, 2, 0]), None);
        assert_eq!(unpad(&[0; 16]), None);
        let mut long = vec![0x80];
        long.extend_from_slice(&[0; 16]);
        assert_eq!(unpad(&long), None);
    }
}
