//! German eID card (nPA): recognition, EF.CardAccess / PACEInfo parsing.
//!
//! Filled in by the PC/SC + eID issue.
