#!/usr/bin/env bash
# The full load run of the local service (tests/service_load.rs bounded in the suite):
# a minute of one scan job per second while WebSocket clients come and go, then the same
# no-leak checks (fds, threads, RSS) and every job done or refused with a reason.
# Usage: scripts/service_load.sh [SECONDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUERGERKOFFER_LOAD_SECS="${1:-60}" BUERGERKOFFER_LOAD_CLIENTS="${2:-2000}" \
  cargo test --release --features service --test service_load -- --nocapture
