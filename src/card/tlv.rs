//! BER-TLV (ISO 7816-4 / X.690 subset), bounded and panic-free.
//!
//! Filled in by the PC/SC + eID issue.
