#!/usr/bin/env bash
# The long fuzz run (issue 12): every mutation target of tests/fuzz_parsers.rs (PNM, JPEG
# with the qpdf cross-check, PWG raster, SANE frames, TLV, EF.CardAccess, APDU) and the
# hostile-printer tests of tests/hostile_ipp.rs (when that file is in the tree), in release
# mode with all features. Prints each target's summary line (inputs, panics, inputs accepted,
# largest single allocation) and each test binary's wall time and peak RSS (GNU time).
#
# Usage: scripts/fuzz.sh [ITERS]      inputs per target (default: $BK_FUZZ_ITERS, else 1000000)
#        env BK_FUZZ_SEED=S           another mutation seed
#        env CARGO_TARGET_DIR         honoured as by cargo
# Needs: cargo, qpdf, GNU time (/usr/bin/time), python3 (to read cargo's JSON).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BK_FUZZ_ITERS=${1:-${BK_FUZZ_ITERS:-1000000}}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }
command -v qpdf >/dev/null || { echo "qpdf missing: apt-get install qpdf" >&2; exit 1; }

tests=(--test fuzz_parsers)
if [ -f tests/hostile_ipp.rs ]; then
    tests+=(--test hostile_ipp)
else
    echo "note: tests/hostile_ipp.rs is not in this tree; running fuzz_parsers only" >&2
fi

LOG=$(mktemp -d /tmp/bk-fuzz.XXXXXX)
echo "== building (release, all features): ${tests[*]}"
cargo test --release --all-features "${tests[@]}" --no-run --message-format=json \
    >"$LOG/build.json" 2>"$LOG/build.err" || true
bins=$(python3 - "$LOG/build.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    kind = m.get("target", {}).get("kind")
    if m.get("reason") == "compiler-artifact" and m.get("executable") and kind == ["test"]:
        print(m["executable"])
PY
)
if [ -z "$bins" ]; then
    echo "no test binaries built:" >&2
    tail -30 "$LOG/build.err" >&2
    exit 1
fi

status=0
seed=${BK_FUZZ_SEED:+, BK_FUZZ_SEED=$BK_FUZZ_SEED}
echo "== BK_FUZZ_ITERS=$BK_FUZZ_ITERS per target$seed; logs in $LOG"
for bin in $bins; do
    name=$(basename "$bin" | sed 's/-[0-9a-f]*$//')
    echo "== $name"
    if ! "$TIME" -v -o "$LOG/$name.time" "$bin" --nocapture >"$LOG/$name.out" 2>&1; then
        status=1
    fi
    grep -E '^fuzz |inputs|largest|allocation|test result|panicked|FAILED' "$LOG/$name.out" || true
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$LOG/$name.time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$LOG/$name.time")
    echo "$name: wall $wall, peak RSS ${rss} KiB"
done
[ "$status" -eq 0 ] && echo "== all fuzz tests passed" || echo "== FAILURES: see $LOG" >&2
exit "$status"
