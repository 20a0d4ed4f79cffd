//! The elliptic curves PACE runs on, by standardized domain parameter id (BSI TR-03110
//! part 3, table 4), behind one byte-oriented interface.
//!
//! Points cross this interface as uncompressed SEC1 encodings `04 ‖ x ‖ y` and scalars as
//! big-endian bytes, both **always at the full field length**: a coordinate with leading
//! zero bytes keeps them (a terminal that strips them fails PACE in about 0.7% of runs).
//! Every point that comes in is checked to be on the curve and not the identity; so is every
//! point computed from one.

use std::marker::PhantomData;

use elliptic_curve::ff::PrimeField;
use elliptic_curve::group::Group;
use elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use elliptic_curve::{AffinePoint, CurveArithmetic, FieldBytes, FieldBytesSize, Generate};
use elliptic_curve::{NonZeroScalar, ProjectivePoint, Scalar};
use zeroize::Zeroizing;

use crate::card::eid::standardized_domain_parameters;
use crate::error::{Error, ErrorKind, Result};

/// A secret scalar (private key), big-endian at full length, zeroized on drop.
pub(crate) type SecretScalar = Zeroizing<Vec<u8>>;

/// One curve's group operations on encoded values.
pub(crate) trait EcGroup: Send + Sync {
    /// The curve's name, e.g. `brainpoolP256r1`.
    fn name(&self) -> &'static str;
    /// Length of a field element (and of each coordinate) in bytes.
    fn field_len(&self) -> usize;
    /// A fresh random non-zero scalar from the operating system's generator.
    fn random_scalar(&self) -> Result<SecretScalar>;
    /// `k · G` for the curve's generator `G`.
    fn mul_base(&self, k: &[u8]) -> Result<Vec<u8>>;
    /// `k · P`; `P` is checked, the result must not be the identity.
    fn mul(&self, k: &[u8], p: &[u8]) -> Result<Vec<u8>>;
    /// `s · G + H` (generic mapping); `H` is checked, the result must not be the identity.
    fn mul_base_add(&self, s: &[u8], h: &[u8]) -> Result<Vec<u8>>;
    /// Checks that `p` is an uncompressed point on the curve, not the identity.
    fn check_point(&self, p: &[u8]) -> Result<()>;
}

/// The x coordinate of an uncompressed point (the ECDH shared secret), at full length.
pub(crate) fn x_coordinate(group: &dyn EcGroup, point: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let n = group.field_len();
    point
        .get(1..1 + n)
        .filter(|_| point.len() == 1 + 2 * n)
        .map(|x| Zeroizing::new(x.to_vec()))
        .ok_or_else(|| bad_point(group.name(), point.len()))
}

fn bad_point(curve: &str, len: usize) -> Error {
    Error::new(ErrorKind::Protocol, "eid", "PACE")
        .with_detail(format!("{len}-byte value is no valid {curve} point"))
}

fn bad_scalar(curve: &str) -> Error {
    Error::new(ErrorKind::Protocol, "eid", "PACE")
        .with_detail(format!("scalar out of range for {curve}"))
}

struct Curve<C> {
    name: &'static str,
    _c: PhantomData<fn() -> C>,
}

impl<C> Curve<C>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn point(&self, p: &[u8]) -> Result<ProjectivePoint<C>> {
        // Uncompressed only, at full length: 04 ‖ x ‖ y.
        if p.first() != Some(&0x04) || p.len() != 1 + 2 * self.field_len() {
            return Err(bad_point(self.name, p.len()));
        }
        let a = AffinePoint::<C>::from_sec1_bytes(p).map_err(|_| bad_point(self.name, p.len()))?;
        let pp = ProjectivePoint::<C>::from(a);
        if bool::from(pp.is_identity()) {
            return Err(bad_point(self.name, p.len()));
        }
        Ok(pp)
    }

    fn scalar(&self, k: &[u8]) -> Result<Scalar<C>> {
        let n = self.field_len();
        if k.is_empty() || k.len() > n {
            return Err(bad_scalar(self.name));
        }
        let mut repr = Zeroizing::new(FieldBytes::<C>::default());
        repr[n - k.len()..].copy_from_slice(k);
        Option::<Scalar<C>>::from(Scalar::<C>::from_repr(
            repr.as_slice()
                .try_into()
                .map_err(|_| bad_scalar(self.name))?,
        ))
        .ok_or_else(|| bad_scalar(self.name))
    }

    fn encode(&self, p: ProjectivePoint<C>) -> Result<Vec<u8>> {
        if bool::from(p.is_identity()) {
            return Err(Error::new(ErrorKind::Protocol, "eid", "PACE")
                .with_detail(format!("{} computation gave the identity", self.name)));
        }
        let a: AffinePoint<C> = p.into();
        Ok(a.to_sec1_point(false).as_bytes().to_vec())
    }
}

impl<C> EcGroup for Curve<C>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn field_len(&self) -> usize {
        FieldBytes::<C>::default().len()
    }

    fn random_scalar(&self) -> Result<SecretScalar> {
        let k = NonZeroScalar::<C>::try_generate().map_err(|e| {
            Error::new(ErrorKind::Backend, "eid", "PACE")
                .with_detail("the operating system's random generator failed")
                .with_source(Box::new(e) as crate::error::BoxError)
        })?;
        let bytes: FieldBytes<C> = Scalar::<C>::from(k).into();
        Ok(Zeroizing::new(bytes.to_vec()))
    }

    fn mul_base(&self, k: &[u8]) -> Result<Vec<u8>> {
        let k = Zeroizing::new(self.scalar(k)?);
        self.encode(ProjectivePoint::<C>::generator() * *k)
    }

    fn mul(&self, k: &[u8], p: &[u8]) -> Result<Vec<u8>> {
        let p = self.point(p)?;
        let k = Zeroizing::new(self.scalar(k)?);
        self.encode(p * *k)
    }

    fn mul_base_add(&self, s: &[u8], h: &[u8]) -> Result<Vec<u8>> {
        let h = self.point(h)?;
        let s = Zeroizing::new(self.scalar(s)?);
        self.encode(ProjectivePoint::<C>::generator() * *s + h)
    }

    fn check_point(&self, p: &[u8]) -> Result<()> {
        self.point(p).map(|_| ())
    }
}

static BP256: Curve<bp256::BrainpoolP256r1> = Curve {
    name: "brainpoolP256r1",
    _c: PhantomData,
};
static BP384: Curve<bp384::BrainpoolP384r1> = Curve {
    name: "brainpoolP384r1",
    _c: PhantomData,
};
static P256: Curve<p256::NistP256> = Curve {
    name: "NIST P-256 (secp256r1)",
    _c: PhantomData,
};
static P384: Curve<p384::NistP384> = Curve {
    name: "NIST P-384 (secp384r1)",
    _c: PhantomData,
};

/// The curve of a standardized domain parameter id.
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the parameters for every id but 12 (P-256),
/// 13 (brainpoolP256r1), 15 (P-384) and 16 (brainpoolP384r1). brainpoolP512r1 (17) has no
/// RustCrypto implementation with arithmetic; the MODP groups (0-2) are DH, not ECDH.
pub(crate) fn curve(parameter_id: u32) -> Result<&'static dyn EcGroup> {
    Ok(match parameter_id {
        12 => &P256,
        13 => &BP256,
        15 => &P384,
        16 => &BP384,
        other => {
            let name = standardized_domain_parameters(other)
                .map(|n| format!("domain parameters {other} ({n})"))
                .unwrap_or_else(|| format!("domain parameter id {other}"));
            return Err(Error::new(ErrorKind::Unsupported, "eid", "PACE")
                .with_detail(format!("{name} not implemented")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_full_length_and_checked() {
        for id in [12, 13, 15, 16] {
            let c = curve(id).unwrap();
            let n = c.field_len();
            for _ in 0..20 {
                let k = c.random_scalar().unwrap();
                assert_eq!(k.len(), n);
                let p = c.mul_base(&k).unwrap();
                assert_eq!(p.len(), 1 + 2 * n, "{}", c.name());
                assert_eq!(x_coordinate(c, &p).unwrap().len(), n);
                c.check_point(&p).unwrap();
                // A flipped y is off the curve; a short encoding is refused.
                let mut off = p.clone();
                off[2 * n] ^= 1;
                assert_eq!(c.check_point(&off).unwrap_err().kind(), ErrorKind::Protocol);
                assert!(c.check_point(&p[..p.len() - 1]).is_err());
                assert!(c.mul(&k, &[0x00]).is_err());
            }
            // ECDH agrees.
            let (a, b) = (c.random_scalar().unwrap(), c.random_scalar().unwrap());
            let (pa, pb) = (c.mul_base(&a).unwrap(), c.mul_base(&b).unwrap());
            assert_eq!(c.mul(&a, &pb).unwrap(), c.mul(&b, &pa).unwrap());
        }
    }

    #[test]
    fn a_point_whose_x_starts_with_zero_keeps_its_leading_zero() {
        // About 1 in 256 points has x < 2^248; a terminal that strips the zero byte sends a
        // 64-byte point and fails PACE (the 0.7% bug). 856·G is the first multiple of the
        // brainpoolP256r1 generator with such an x (found by searching k = 1, 2, ...).
        let c = curve(13).unwrap();
        let p = c.mul_base(&856u16.to_be_bytes()).unwrap();
        assert_eq!(p[1], 0, "x of 856·G starts with a zero byte");
        assert_eq!(p.len(), 65);
        assert_eq!(x_coordinate(c, &p).unwrap().len(), 32);
        assert_eq!(x_coordinate(c, &p).unwrap()[0], 0);
        c.check_point(&p).unwrap();
        // The stripped form is refused, not silently accepted.
        let mut short = vec![0x04];
        short.extend_from_slice(&p[2..]);
        assert_eq!(
            c.check_point(&short).unwrap_err().kind(),
            ErrorKind::Protocol
        );
        // A small scalar is left-padded, not misread.
        assert_eq!(
            c.mul_base(&[0, 0, 0, 2]).unwrap(),
            c.mul_base(&[2]).unwrap()
        );
    }

    #[test]
    fn unsupported_parameters_are_named() {
        for (id, name) in [(17, "brainpoolP512r1"), (2, "MODP"), (99, "99")] {
            let e = curve(id).err().unwrap();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}
