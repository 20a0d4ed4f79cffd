//! A seeded mutation fuzzer for the IPP reply decoder ([`decode_printer_reply`]: the bounded
//! parser, the status check and the attribute mapping the backend runs on every reply),
//! on stable Rust: xorshift mutations of real replies (captured from ippeveprinter) and of
//! built ones (collections, with-language values, resolutions, an error status with an
//! unsupported-attributes group). Inputs alternate between the default limits and tight
//! ones, so that every limit is hit too.
//!
//! `BK_FUZZ_ITERS` sets the number of inputs (default 4000, a few seconds in a debug
//! build), `BK_FUZZ_SEED` the seed; with `--nocapture` it prints one summary line.

use std::panic::{catch_unwind, AssertUnwindSafe};

use buergerkoffer::backend::ipp::{decode_printer_reply, ReplyLimits};

use super::printer::{nested_collection, reply, reply_head, resolution, val};

const ALL: &[u8] = include_bytes!("ippeveprinter-all.ipp");
const OURS: &[u8] = include_bytes!("ippeveprinter-ours.ipp");
/// Inputs grow to at most this.
const MAX_INPUT: usize = 256 << 10;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut built = val(
        0x35,
        "printer-info",
        &[
            0, 2, b'd', b'e', 0, 7, b'D', b'r', b'u', b'c', b'k', b'e', b'r',
        ],
    );
    built.extend(val(
        0x36,
        "printer-name",
        &[0, 2, b'e', b'n', 0, 2, b'b', b'k'],
    ));
    built.extend(nested_collection("media-col-default", 3));
    built.extend(val(
        0x32,
        "printer-resolution-supported",
        &resolution(600, 600, 3),
    ));
    built.extend(val(0x32, "", &resolution(118, 118, 4)));
    built.extend(val(0x33, "copies-supported", &[0, 0, 0, 1, 0, 0, 0, 99]));
    built.extend(val(
        0x31,
        "printer-current-time",
        &[7, 234, 12, 1, 23, 59, 0, 0, b'+', 1, 0],
    ));
    built.extend(val(0x44, "sides-supported", b"one-sided"));
    built.extend(val(0x44, "", b"two-sided-long-edge"));
    let mut refused = reply_head(0x040B);
    refused.extend(val(0x41, "status-message", b"bad"));
    refused.push(0x05);
    refused.extend(val(0x44, "finishings-col", b"staple"));
    refused.push(0x02);
    refused.extend(val(0x21, "job-id", &7u32.to_be_bytes()));
    refused.extend(val(0x23, "job-state", &9u32.to_be_bytes()));
    refused.push(0x03);
    vec![ALL.to_vec(), OURS.to_vec(), reply(&built), refused]
}

const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0F, 0x10, 0x13, 0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33,
    0x34, 0x35, 0x36, 0x37, 0x41, 0x44, 0x4A, 0x7F, 0x80, 0xFE, 0xFF,
];
const INTERESTING_U16: &[u16] = &[
    0, 1, 2, 3, 4, 5, 8, 9, 11, 0x7F, 0xFF, 0x3FF, 0x7FFF, 0xFFFF,
];

/// Where the values and group tags of `input` start, as far as its lengths are consistent.
fn boundaries(input: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 8;
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *input.get(i)?,
            *input.get(i + 1)?,
        ])))
    };
    while pos < input.len() {
        out.push(pos);
        let tag = input[pos];
        if tag < 0x10 {
            pos += 1;
            if tag == 0x03 {
                break;
            }
            continue;
        }
        let Some(n) = u16_at(pos + 1) else { break };
        let Some(v) = u16_at(pos + 3 + n) else { break };
        pos += 5 + n + v;
    }
    out
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = input.len();
    // Insertions mostly go where a value starts, so that the rest still parses.
    let cuts = boundaries(input);
    let at = |rng: &mut Rng| -> usize {
        if cuts.is_empty() || rng.below(5) == 0 {
            rng.below(len + 1)
        } else {
            *rng.pick(&cuts)
        }
    };
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next() as u8;
        }
        2 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(INTERESTING_BYTES);
        }
        3 if len > 1 => {
            // A length field: an interesting value, or off by one from what is there.
            let i = rng.below(len - 1);
            let old = u16::from_be_bytes([input[i], input[i + 1]]);
            let v = match rng.below(3) {
                0 => old.wrapping_add(1),
                1 => old.wrapping_sub(1),
                _ => *rng.pick(INTERESTING_U16),
            };
            input[i..i + 2].copy_from_slice(&v.to_be_bytes());
        }
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            input.drain(a..b);
        }
        5 if cuts.len() > 1 => {
            // Duplicate a run of values somewhere.
            let i = rng.below(cuts.len() - 1);
            let j = (i + 1 + rng.below(8)).min(cuts.len() - 1);
            let piece = input[cuts[i]..cuts[j]].to_vec();
            let at = at(rng);
            input.splice(at..at, piece);
        }
        6 => {
            let at = at(rng);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            input.splice(at..at, bytes);
        }
        7 if len > 0 => input.truncate(rng.below(len)),
        8 => {
            // Splice in a piece of another seed.
            let other = rng.pick(seeds);
            let theirs = boundaries(other);
            if theirs.len() > 1 {
                let i = rng.below(theirs.len() - 1);
                let j = (i + 1 + rng.below(16)).min(theirs.len() - 1);
                let at = at(rng);
                input.splice(at..at, other[theirs[i]..theirs[j]].iter().copied());
            }
        }
        9 => {
            // Many copies of one structure: deep nesting, wide floods.
            let unit: Vec<u8> = match rng.below(4) {
                0 => [val(0x4A, "", b"m"), val(0x34, "", b"")].concat(),
                1 => val(0x44, "", b"a"),
                2 => val(0x21, "a", &[0; 4]),
                _ => vec![0x04],
            };
            let n = 1 + rng.below(4000);
            let at = at(rng);
            let flood: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * n).collect();
            input.splice(at..at, flood);
        }
        _ => {
            // A random value with a random tag.
            let tag = *rng.pick(INTERESTING_BYTES);
            let n = rng.below(24);
            let v: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let at = at(rng);
            input.splice(at..at, val(tag.max(0x10), "", &v));
        }
    }
    input.truncate(MAX_INPUT);
}

#[derive(Default)]
pub struct Summary {
    pub inputs: usize,
    pub panics: usize,
    pub decoded: usize,
    pub refused: usize,
    pub first_panic: Option<Vec<u8>>,
}

/// Runs `iters` inputs from `seed`.
pub fn run(iters: usize, seed: u64) -> Summary {
    let seeds = seeds();
    let mut rng = Rng(seed | 1);
    let tight = {
        let mut l = ReplyLimits::default();
        l.max_bytes = 16 << 10;
        l.max_depth = 3;
        l.max_attributes = 200;
        l.max_values = 2000;
        l
    };
    let mut s = Summary::default();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..iters {
        let mut input = rng.pick(&seeds).clone();
        // Mostly one mutation, so that many inputs still decode and reach the mapping.
        let n = if rng.below(2) == 0 {
            1
        } else {
            2 + rng.below(6)
        };
        for _ in 0..n {
            mutate(&mut rng, &mut input, &seeds);
        }
        let limits = if i % 2 == 0 {
            ReplyLimits::default()
        } else {
            tight
        };
        match catch_unwind(AssertUnwindSafe(|| decode_printer_reply(&input, &limits))) {
            Ok(Ok(_)) => s.decoded += 1,
            Ok(Err(_)) => s.refused += 1,
            Err(_) => {
                s.panics += 1;
                s.first_panic.get_or_insert(input);
            }
        }
        s.inputs += 1;
    }
    std::panic::set_hook(hook);
    s
}
