#!/usr/bin/env bash
# Measures the wall time of `buergerkoffer check` (never asserted in a test):
#   1. the mock kit, all devices present
#   2. the mock kit with a hung scanner (scanner=hang) and a hung reader (reader=hang)
#   3. the mock kit with the scanner and printer gone
#   4. the real peers: pcscd + vpcd (no card inserted), libsane's `test` backend (own
#      SANE_CONFIG_DIR), ippeveprinter on loopback (with a loopback-only avahi-daemon and the
#      system D-Bus, started here if not running and stopped by pid at the end); all present,
#      printer missing, and pcscd and libsane unreachable. Needs the Debian packages pcscd
#      vsmartcard-vpcd libsane1 sane-utils cups-ipp-utils avahi-daemon dbus.
# Each case runs RUNS times (default 5); prints min / median / max in seconds.
#
#   scripts/check_timing.sh            # debug build
#   PROFILE=release scripts/check_timing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
RUNS="${RUNS:-5}"
FEATURES="cli,pcsc,sane,ipp"
flag=()
[ "$PROFILE" = release ] && flag=(--release)
cargo build -q "${flag[@]}" --features "$FEATURES" --bin buergerkoffer
BK="$CARGO_TARGET_DIR/$PROFILE/buergerkoffer"

# Runs "$@" RUNS times; prints label, exit code of the last run, min/median/max seconds.
measure() {
    local label="$1"; shift
    local times=() code=0
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s.%N)
        set +e; "$@" >/dev/null 2>&1; code=$?; set -e
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" -v c="$code" '
        { t[NR] = $1 }
        END { printf "%-44s exit %d  min %.3f  median %.3f  max %.3f s\n", l, c, t[1], t[int((NR + 1) / 2)], t[NR] }'
}

measure "mock, all present"                     "$BK" --mock check
measure "mock, all present, --test-scan"        "$BK" --mock check --test-scan
measure "mock, scanner=hang reader=hang"        "$BK" --mock-fault scanner=hang --mock-fault reader=hang check
measure "mock, scanner=gone printer=gone"       "$BK" --mock-fault scanner=gone --mock-fault printer=gone check

# The peers: start them with the peer test's own helpers by running a profile against them.
if command -v ippeveprinter >/dev/null && [ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] && command -v scanimage >/dev/null; then
    tmp=$(mktemp -d)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # libsane's test backend with its own configuration.
    printf 'test\n' >"$tmp/dll.conf"; printf 'number_of_devices 4\n' >"$tmp/test.conf"
    export SANE_CONFIG_DIR="$tmp"
    # pcscd (with vpcd) if none runs; one we start exits by itself after 60 s idle.
    pgrep -x pcscd >/dev/null || /usr/sbin/pcscd --auto-exit
    # ippeveprinter needs DNS-SD: the system bus and a loopback-only avahi-daemon.
    started=()
    if ! dbus-send --system --dest=org.freedesktop.DBus --print-reply /org/freedesktop/DBus \
            org.freedesktop.DBus.ListNames >/dev/null 2>&1; then
        mkdir -p /run/dbus; rm -f /run/dbus/pid /run/dbus/system_bus_socket
        started+=("$(dbus-daemon --system --fork --print-pid)")
    fi
    if ! avahi-daemon --check 2>/dev/null; then
        printf '[server]\nallow-interfaces=lo\nuse-ipv6=no\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n' >"$tmp/avahi.conf"
        avahi-daemon -f "$tmp/avahi.conf" --no-drop-root --no-chroot >/dev/null 2>&1 &
        started+=("$!")
        for _ in $(seq 150); do avahi-daemon --check 2>/dev/null && break; sleep 0.1; done
    fi
    ippeveprinter -n localhost -p "$port" -d "$tmp" -k -r off -f application/pdf,image/jpeg \
        -M Buergerkoffer -m TestPrinter "bk-timing-$port" 2>"$tmp/ipp.log" &
    started+=("$!")
    for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    uri="ipp://127.0.0.1:$port/ipp/print"
    cat >"$tmp/peers.toml" <<TOML
name = "peers"
[reader]
id = "pcsc:Virtual PCD 00 01"
[scanner]
id = "sane:test:1"
[printer]
uri = "$uri"
TOML
    measure "peers, all present"                 "$BK" --profile "$tmp/peers.toml" check
    measure "peers, all present, --test-scan"    "$BK" --profile "$tmp/peers.toml" check --test-scan
    sed -i "s|^uri = .*|uri = \"ipp://127.0.0.1:9/ipp/print\"|" "$tmp/peers.toml"
    measure "peers, printer missing"             "$BK" --profile "$tmp/peers.toml" check
    measure "peers, no pcscd, no libsane" env PCSCLITE_CSOCK_NAME="$tmp/none" BUERGERKOFFER_LIBSANE="$tmp/none.so" \
        "$BK" --profile "$tmp/peers.toml" check
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
else
    echo "(peers not installed: apt-get install pcscd vsmartcard-vpcd libsane1 sane-utils cups-ipp-utils avahi-daemon dbus)"
fi
