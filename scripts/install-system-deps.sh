#!/usr/bin/env bash
# Installs the Debian packages the full-feature build, the real-peer tests and the comparison
# script need. Run as root (CI is root). Idempotent; skips apt when everything is present.
set -euo pipefail
pkgs=(
  # build: pcsc feature; usb (libusb). cmake and nasm were for the removed `turbojpeg`
  # feature (libjpeg-turbo is now loaded at run time); kept until a clean all-features build
  # shows nothing else (aws-lc for ipps) wants them.
  pkg-config libpcsclite-dev cmake nasm libusb-1.0-0-dev
  # JPEG pages with libjpeg-turbo (loaded at run time; tests/jpeg_encoders.rs compares it with
  # the pure-Rust encoder); cjpeg for the comparison script
  libturbojpeg0 libjpeg-turbo-progs
  # OCR (feature ocr, tests/ocr.rs): Tesseract with German and English, and the font the test
  # renders its pages with (ImageMagick's convert, below)
  tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng fonts-dejavu-core
  # PC/SC peer: pcscd + virtual reader driver + virtual card
  pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pip
  # PACE peer: the OpenPACE card of tests/peer_pace.rs is built with cc against libeac
  gcc libeac-dev libeac3
  # SANE peer: libsane's `test` backend and scanimage
  sane-utils libsane1
  # IPP peer: ippeveprinter/ipptool, and a loopback-only DNS-SD daemon it insists on
  cups-ipp-utils avahi-daemon dbus
  # scan-to-PDF checkers and comparison peers
  qpdf poppler-utils mupdf-tools img2pdf imagemagick time
  # local service (tests/peer_airscan.rs, tests/peer_browser.rs): the eSCL client
  # sane-airscan, headless chromium and its WebDriver
  sane-airscan chromium chromium-driver
  # printing: independent raster reader (rastertopdf) and CUPS' own filter chain for the
  # comparison (pdftoraster, gstoraster = Ghostscript); real PDFs nobody here wrote
  cups-filters ghostscript libtasn1-doc shared-mime-info bc
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
