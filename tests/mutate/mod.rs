//! The mutation engine of tests/fuzz_parsers.rs: a seeded xorshift generator, the mutator
//! (bit flips, interesting bytes, inserts, deletes, length field and number tweaks,
//! truncations, duplications, splices) and the loop that runs a parser on every input under
//! `catch_unwind` and measures its largest allocation (tests/alloc_meter).
#![allow(dead_code)]

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::alloc_meter;

/// Inputs per target without `BK_FUZZ_ITERS`.
pub const DEFAULT_ITERS: u64 = 10_000;
/// Longest input the mutator makes.
pub const MAX_INPUT: usize = 8 << 10;

/// Inputs per target: `BK_FUZZ_ITERS`, else [`DEFAULT_ITERS`].
pub fn iters() -> u64 {
    std::env::var("BK_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_ITERS)
}

/// The mutation seed: `BK_FUZZ_SEED`, else a fixed one (runs are reproducible).
pub fn base_seed() -> u64 {
    std::env::var("BK_FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0x5EED_B0E6_2024_0012)
}

// ------------------------------------------------------------------------- mutator

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0x82, 0xFE, 0xFF, 0x9C, 0xC0, 0xC4, 0xD8, 0xD9, 0xDA, 0x61,
    0x6C, 0x90, 0x30, 0x31, 0x06, b' ', b'\n', b'#',
];

/// One mutated copy of `input`; `others` are spliced in.
pub fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        let at = rng.below(len);
        match rng.below(10) {
            0 if len > 0 => v[at] ^= 1 << rng.below(8),
            1 if len > 0 => v[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at.min(len)..at.min(len), bytes);
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                v.drain(at..end);
            }
            4 if len > 0 => tweak_length(rng, &mut v, at),
            5 => tweak_number(rng, &mut v),
            6 => v.truncate(rng.below(len + 1)),
            7 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                let chunk = v[at..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, chunk);
            }
            _ if !others.is_empty() => {
                let o = &others[rng.below(others.len())];
                if !o.is_empty() {
                    let from = rng.below(o.len());
                    let end = (from + 1 + rng.below(128)).min(o.len());
                    let to = at.min(len);
                    let replace = (to + rng.below(end - from + 1)).min(len);
                    v.splice(to..replace, o[from..end].iter().copied());
                }
            }
            _ => {}
        }
    }
    v.truncate(MAX_INPUT);
    v
}

/// Treats the bytes at `at` as a 1, 2 or 4 byte big- or little-endian length and changes it.
fn tweak_length(rng: &mut Rng, v: &mut [u8], at: usize) {
    let width = [1usize, 2, 4][rng.below(3)].min(v.len() - at);
    let big = rng.chance(75);
    let field = &mut v[at..at + width];
    let mut n: u64 = 0;
    for i in 0..width {
        let b = if big { field[i] } else { field[width - 1 - i] };
        n = n << 8 | u64::from(b);
    }
    let max = if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    n = match rng.below(8) {
        0 => n.wrapping_add(1),
        1 => n.wrapping_sub(1),
        2 => n.wrapping_add(1 + rng.below(16) as u64),
        3 => n.wrapping_sub(1 + rng.below(16) as u64),
        4 => n.wrapping_mul(2),
        5 => 0,
        6 => max,
        _ => max / 2 + 1,
    } & max;
    for i in 0..width {
        let b = (n >> (8 * (width - 1 - i))) as u8;
        if big {
            field[i] = b;
        } else {
            field[width - 1 - i] = b;
        }
    }
}

/// Replaces a run of ASCII digits (a number in a text header such as PNM's) by another.
fn tweak_number(rng: &mut Rng, v: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..v.len())
        .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
        .take(64)
        .collect();
    if starts.is_empty() {
        return;
    }
    let s = starts[rng.below(starts.len())];
    let e = (s..v.len())
        .find(|&i| !v[i].is_ascii_digit())
        .unwrap_or(v.len());
    let n: u64 = match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => 65_535,
        3 => 65_536,
        4 => u64::from(u32::MAX),
        5 => 99_999_999_999,
        6 => 1 << 20,
        _ => rng.next() % 100_000,
    };
    v.splice(s..e, n.to_string().into_bytes());
}

// ------------------------------------------------------------------------- loop

thread_local! {
    static FUZZING: Cell<bool> = const { Cell::new(false) };
}

/// Silences the panic message of fuzzing threads (the panics are counted and the first one
/// reported); other threads keep the default hook.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !FUZZING.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// What one target did.
pub struct Report {
    pub inputs: u64,
    pub panics: u64,
    pub accepted: u64,
    pub largest: usize,
    pub first_panic: Option<String>,
}

pub fn hex(d: &[u8]) -> String {
    let shown: String = d.iter().take(96).map(|b| format!("{b:02x}")).collect();
    if d.len() > 96 {
        format!("{shown}... ({} bytes)", d.len())
    } else {
        shown
    }
}

/// Runs `f` on the seeds and then on mutations of them; `f` says whether the input was
/// accepted (parsed without error). `keep` is called with accepted mutants.
pub fn fuzz(
    target: &str,
    seeds: &[Vec<u8>],
    salt: u64,
    mut f: impl FnMut(&[u8]) -> bool,
    mut keep: impl FnMut(&[u8]),
) -> Report {
    assert!(!seeds.is_empty());
    quiet_panics();
    let n = iters();
    let mut rng = Rng::new(base_seed() ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut r = Report {
        inputs: 0,
        panics: 0,
        accepted: 0,
        largest: 0,
        first_panic: None,
    };
    let mut last = seeds[0].clone();
    FUZZING.with(|c| c.set(true));
    for i in 0..n {
        let input = match seeds.get(i as usize) {
            Some(s) => s.clone(),
            None if rng.chance(30) => mutate(&mut rng, &last, seeds),
            None => {
                let s = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, s, seeds)
            }
        };
        r.inputs += 1;
        // Only the parser's allocations count, not the mutator's.
        alloc_meter::reset_here();
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&input)));
        r.largest = r.largest.max(alloc_meter::largest_here());
        match outcome {
            Ok(true) => {
                r.accepted += 1;
                if i as usize >= seeds.len() {
                    keep(&input);
                }
            }
            Ok(false) => {}
            Err(p) => {
                r.panics += 1;
                if r.first_panic.is_none() {
                    let msg = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    r.first_panic = Some(format!("{msg} on input {}", hex(&input)));
                }
            }
        }
        last = input;
    }
    FUZZING.with(|c| c.set(false));
    println!(
        "fuzz {target:<13} inputs {:>9}  panics {}  accepted {:>8}  largest allocation {} bytes",
        r.inputs, r.panics, r.accepted, r.largest
    );
    r
}

/// Fails on a panic, an allocation above `max_alloc`, or a target that accepted nothing.
pub fn check(target: &str, r: &Report, max_alloc: usize) {
    assert_eq!(
        r.panics, 0,
        "{target}: {} panics, first: {:?}",
        r.panics, r.first_panic
    );
    assert!(
        r.largest <= max_alloc,
        "{target}: largest allocation {} bytes, more than {max_alloc}",
        r.largest
    );
    assert!(r.accepted > 0, "{target}: not even the seeds were accepted");
}
