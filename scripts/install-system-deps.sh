#!/usr/bin/env bash
# Installs the Debian packages the full-feature build, the real-peer tests and the comparison
# script need. Run as root (CI is root). Idempotent; skips apt when everything is present.
set -euo pipefail
pkgs=(
  # build: pcsc feature; turbojpeg feature builds libjpeg-turbo (cmake, nasm); usb (libusb)
  pkg-config libpcsclite-dev cmake nasm libusb-1.0-0-dev
  # PC/SC peer: pcscd + virtual reader driver + virtual card
  pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pip
  # SANE peer: libsane's `test` backend and scanimage
  sane-utils libsane1
  # IPP peer: ippeveprinter/ipptool, and a loopback-only DNS-SD daemon it insists on
  cups-ipp-utils avahi-daemon dbus
  # scan-to-PDF checkers and comparison peers
  qpdf poppler-utils mupdf-tools img2pdf imagemagick time
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# vicc needs pycryptodome under its own module name; Debian ships it as Cryptodome.
deps=/opt/buergerkoffer-vicc-deps
if [ ! -d "$deps/Crypto" ]; then
  python3 -m pip install --quiet --target "$deps" pycryptodome
fi
echo "system dependencies present"
