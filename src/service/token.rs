//! The pairing token: 32 random bytes as 64 hex digits, created on first start in a file of
//! mode 0600, compared in constant time, zeroized on drop, never printed.

use std::fmt;
use std::io::Write;
use std::path::Path;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// Length of the token in hex digits.
const TOKEN_HEX_LEN: usize = 64;

/// The service's pairing token. `Debug` shows no digit of it.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A new random token.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the system's random source fails.
    pub fn generate() -> Result<Token> {
        let mut raw = Zeroizing::new([0u8; TOKEN_HEX_LEN / 2]);
        getrandom::fill(&mut raw[..]).map_err(|e| {
            Error::new(ErrorKind::Io, "service", "create the pairing token")
                .with_detail(format!("no random numbers: {e}"))
        })?;
        let mut s = Zeroizing::new(String::with_capacity(TOKEN_HEX_LEN));
        for b in raw.iter() {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        Ok(Token(s))
    }

    /// Reads the token at `path`, or creates one there (mode 0600, directory as it is).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the file can be read or written by others (its mode
    /// allows group or other access) or is not a token; [`ErrorKind::Io`] when it cannot be
    /// read or written.
    pub fn load_or_create(path: &Path) -> Result<Token> {
        let name = path.display().to_string();
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode();
                    if !meta.file_type().is_file() || mode & 0o077 != 0 {
                        return Err(Error::new(ErrorKind::InvalidInput, name, "read the token")
                            .with_detail(format!(
                                "the token file must be a plain file only its owner can \
                                 read (mode {:o}); remove it to create a new token",
                                mode & 0o7777
                            )));
                    }
                }
                let _ = meta;
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| Error::io(name.clone(), "read the token", e))?,
                );
                let t = text.trim();
                if t.len() != TOKEN_HEX_LEN || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::new(ErrorKind::InvalidInput, name, "read the token")
                        .with_detail("not a token; remove the file to create a new one"));
                }
                Ok(Token(Zeroizing::new(t.to_ascii_lowercase())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = Token::generate()?;
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                let mut f = o
                    .open(path)
                    .map_err(|e| Error::io(name.clone(), "create the token file", e))?;
                f.write_all(token.0.as_bytes())
                    .and_then(|()| f.write_all(b"\n"))
                    .and_then(|()| f.sync_all())
                    .map_err(|e| Error::io(name, "write the token file", e))?;
                Ok(token)
            }
            Err(e) => Err(Error::io(name, "read the token", e)),
        }
    }

    /// Whether `candidate` is this token; constant time in the content of both.
    pub fn matches(&self, candidate: &str) -> bool {
        let a = self.0.as_bytes();
        let b = candidate.as_bytes();
        // Lengths are not secret (every token has 64 digits); contents are compared in
        // constant time.
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }

    /// The token itself, for a client that pairs in-process (tests, embedding programs).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_reloaded_and_compared() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        let t = Token::load_or_create(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = Token::load_or_create(&p).unwrap();
        assert!(again.matches(t.expose()));
        assert!(!t.matches(&"0".repeat(64)));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains(t.expose()));
        assert_ne!(Token::generate().unwrap().expose(), t.expose());
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        Token::load_or_create(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Token::load_or_create(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "xyz").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Token::load_or_create(&bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!e.to_string().contains("xyz"));
    }
}
