#!/usr/bin/env bash
# Compares scan-to-PDF throughput and peak memory, in one run and on the same folder of pages:
#   - ours (examples/scan_to_pdf --input-dir) raw RGB PPM -> JPEG PDF   vs  ImageMagick convert
#     to JPEG, then img2pdf
#   - ours raw -> Flate (lossless) PDF                                   vs  img2pdf on the PPMs
#   - ours JPEG pass-through                                             vs  img2pdf on the JPEGs
#   - our peak memory at 10 and at 100 pages (same page repeated)
#   - per core (SECTIONS percore): ours raw -> JPEG PDF with one thread on one CPU
#     (`taskset -c 0 --threads 1`, libjpeg-turbo and the pure-Rust encoder) vs ImageMagick
#     convert + img2pdf on the same CPU, and vs libjpeg-turbo's own `cjpeg` on the same pages
#   - through SANE (SECTIONS sane): `scanimage -d test --batch --format=jpeg|pnm` + img2pdf vs
#     our `scan_to_pdf --device sane:test` with the same options, colour and gray, 300 dpi,
#     two feeder loads of 10 pages (the test device's feeder holds 10; its largest area is
#     200 x 200 mm, so not A4), and our time from the last page to the durable PDF
#   - OCR (SECTIONS ocr): ours `--ocr deu+eng --pdfa` vs OCRmyPDF (same Tesseract) on pages
#     with known text: character accuracy of `pdftotext` against the text, pages/s; our peak
#     memory with OCR at OCR_PAGES/4 and OCR_PAGES pages
#
# Durability is the same for everyone: our example fsyncs the PDF (and its directory) before
# it reports success, so every other route ends with `sync FILE` on its output; without it the
# peers would be timed writing into the page cache only. Wall time and CPU time (user + sys,
# all processes) are both printed.
#
# Pages: A4 at 300 dpi (2480 x 3508), RGB, document-like (light paper with noise, dark text
# bars), made once with ImageMagick and hard-linked PAGES times (page cache is shared, so
# reading is not the bottleneck for anyone).
#
# Usage: scripts/compare_scan_to_pdf.sh [WORKDIR]     (env: PAGES=20 QUALITY=85 REPEAT=3
#        SECTIONS="folder percore sane ocr" OCR_PAGES=8 OCRMYPDF=ocrmypdf). A WORKDIR on tmpfs
#        (/dev/shm/...) takes the disk out of the comparison: the flush costs nothing there.
#        JPEG pages use libjpeg-turbo when libturbojpeg.so.0 is installed (the example prints
#        the encoder); BUERGERKOFFER_LIBTURBOJPEG=none forces the pure-Rust encoder.
# Needs: cargo, imagemagick, img2pdf, GNU time (/usr/bin/time), qpdf; percore: util-linux
#        (taskset), libjpeg-turbo-progs (cjpeg), libturbojpeg0; sane: sane-utils; ocr:
#        tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng fonts-dejavu-core poppler-utils,
#        and OCRmyPDF from PyPI (e.g. python3 -m venv /opt/ocrmypdf-venv &&
#        /opt/ocrmypdf-venv/bin/pip install ocrmypdf; OCRMYPDF=/opt/ocrmypdf-venv/bin/ocrmypdf).
set -euo pipefail

PAGES=${PAGES:-20}
REPEAT=${REPEAT:-3}
QUALITY=${QUALITY:-85}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d /tmp/compare_scan_to_pdf.XXXXXX)}
mkdir -p "$WORK"
CONVERT=/usr/bin/convert
[ -x "$CONVERT" ] || CONVERT=$(command -v convert)
for t in img2pdf "$CONVERT" /usr/bin/time qpdf; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install imagemagick img2pdf time qpdf" >&2; exit 1; }
done

SECTIONS=${SECTIONS:-folder percore sane ocr}
has() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
echo "== building the example (release, features sane,ocr)"
(cd "$ROOT" && cargo build --release --example scan_to_pdf -q --features sane,ocr)
OURS="$TARGET/release/examples/scan_to_pdf"

echo "== making pages in $WORK ($PAGES x A4 300 dpi RGB)"
if [ ! -f "$WORK/page.ppm" ]; then
  draw=()
  for i in $(seq 0 54); do
    y=$((300 + i * 55)); len=$((1400 + (i * 397) % 700))
    draw+=(-draw "rectangle 220,$y $((220 + len)),$((y + 22))")
  done
  "$CONVERT" -size 2480x3508 xc:'#f3f1ec' -seed 7 -attenuate 0.5 +noise Gaussian \
    -fill '#1e1e28' "${draw[@]}" -fill '#b03030' -draw "rectangle 1900,3200 2250,3350" \
    -depth 8 -density 300 -units PixelsPerInch "$WORK/page.ppm"
  "$CONVERT" "$WORK/page.ppm" -quality "$QUALITY" -density 300 -units PixelsPerInch "$WORK/page.jpg"
fi
mk() { # dir ext count
  rm -rf "$WORK/$1"; mkdir -p "$WORK/$1"
  for i in $(seq -w 1 "$3"); do ln "$WORK/page.$2" "$WORK/$1/p$i.$2"; done
}
mk raw ppm "$PAGES"
mk jpg jpg "$PAGES"
mk raw100 ppm 100
mk raw10 ppm 10
rm -rf "$WORK/imjpg"; mkdir -p "$WORK/imjpg"

# measure NAME CMD...: runs REPEAT times (the machine may be shared: every tool gets the same
# treatment); keeps the best wall time, the CPU time of that run and the highest peak RSS (KB,
# largest process).
declare -A SEC CPU KB
measure() {
  local name=$1; shift
  local tf="$WORK/time.$name" s u y k
  SEC[$name]=""; CPU[$name]=0; KB[$name]=0
  for _ in $(seq 1 "$REPEAT"); do
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" >"$WORK/out.$name" 2>&1 || {
      echo "$name failed:"; cat "$WORK/out.$name"; exit 1; }
    read -r s u y k <"$tf"
    if [ -z "${SEC[$name]}" ] || awk "BEGIN{exit !($s < ${SEC[$name]})}"; then
      SEC[$name]=$s; CPU[$name]=$(awk "BEGIN{print $u + $y}")
    fi
    if [ "$k" -gt "${KB[$name]}" ]; then KB[$name]=$k; fi
  done
  printf "  %-28s %8.2f s wall %8.2f s cpu %8.1f MB peak\n" "$name" "${SEC[$name]}" "${CPU[$name]}" \
    "$(awk "BEGIN{print ${KB[$name]}/1024}")"
}
ratio() { awk "BEGIN{ if ($2 + 0 == 0) print \"inf\"; else printf \"%.2f\", $1/$2}"; }

if has folder; then
sync
echo "== timing ($PAGES pages, quality $QUALITY, $(nproc) cores, best of $REPEAT, load $(cut -d' ' -f1-3 /proc/loadavg))"
measure ours_raw_jpeg "$OURS" --input-dir "$WORK/raw" --output "$WORK/ours_raw_jpeg.pdf" --encoding jpeg --quality "$QUALITY"
measure im_convert_img2pdf bash -c "for f in '$WORK'/raw/*.ppm; do '$CONVERT' \"\$f\" -quality $QUALITY '$WORK'/imjpg/\$(basename \"\$f\" .ppm).jpg; done && img2pdf '$WORK'/imjpg/*.jpg -o '$WORK/im_img2pdf.pdf' && sync '$WORK/im_img2pdf.pdf'"
measure ours_raw_flate "$OURS" --input-dir "$WORK/raw" --output "$WORK/ours_raw_flate.pdf" --encoding flate
measure img2pdf_raw bash -c "img2pdf '$WORK'/raw/*.ppm -o '$WORK/img2pdf_raw.pdf' && sync '$WORK/img2pdf_raw.pdf'"
measure ours_passthrough "$OURS" --input-dir "$WORK/jpg" --output "$WORK/ours_pass.pdf"
measure img2pdf_passthrough bash -c "img2pdf '$WORK'/jpg/*.jpg -o '$WORK/img2pdf_pass.pdf' && sync '$WORK/img2pdf_pass.pdf'"
measure ours_10_pages "$OURS" --input-dir "$WORK/raw10" --output "$WORK/ours_10.pdf" --encoding jpeg --quality "$QUALITY"
measure ours_100_pages "$OURS" --input-dir "$WORK/raw100" --output "$WORK/ours_100.pdf" --encoding jpeg --quality "$QUALITY"

for f in ours_raw_jpeg ours_raw_flate ours_pass ours_10 ours_100; do
  qpdf --check "$WORK/$f.pdf" >/dev/null || { echo "qpdf --check failed on $f.pdf"; exit 1; }
done

size() { awk "BEGIN{printf \"%.1f\", $(stat -c %s "$1")/1e6}"; }
echo "== results"
echo "  raw RGB -> JPEG PDF:  ours $(ratio "${SEC[im_convert_img2pdf]}" "${SEC[ours_raw_jpeg]}")x faster than ImageMagick+img2pdf (target >= 3x)," \
  "$(ratio "${CPU[im_convert_img2pdf]}" "${CPU[ours_raw_jpeg]}")x less CPU" \
  "[$(size "$WORK/ours_raw_jpeg.pdf") MB vs $(size "$WORK/im_img2pdf.pdf") MB]"
echo "  raw RGB -> lossless:  ours (flate) $(ratio "${SEC[img2pdf_raw]}" "${SEC[ours_raw_flate]}")x faster than img2pdf on PPM" \
  "[$(size "$WORK/ours_raw_flate.pdf") MB vs $(size "$WORK/img2pdf_raw.pdf") MB];" \
  "ours (jpeg) $(ratio "${SEC[img2pdf_raw]}" "${SEC[ours_raw_jpeg]}")x"
echo "  JPEG pass-through:    ours $(ratio "${SEC[img2pdf_passthrough]}" "${SEC[ours_passthrough]}")x faster than img2pdf (target >= 5x)," \
  "$(ratio "${CPU[img2pdf_passthrough]}" "${CPU[ours_passthrough]}")x less CPU" \
  "[$(size "$WORK/ours_pass.pdf") MB vs $(size "$WORK/img2pdf_pass.pdf") MB]"
echo "  ours pages/s:         raw->jpeg $(ratio "$PAGES" "${SEC[ours_raw_jpeg]}"), raw->flate $(ratio "$PAGES" "${SEC[ours_raw_flate]}"), pass-through $(ratio "$PAGES" "${SEC[ours_passthrough]}")"
echo "  peak memory:          ours $(ratio "${KB[ours_raw_jpeg]}" 1024) MB, IM+img2pdf $(ratio "${KB[im_convert_img2pdf]}" 1024) MB, img2pdf raw $(ratio "${KB[img2pdf_raw]}" 1024) MB, img2pdf pass $(ratio "${KB[img2pdf_passthrough]}" 1024) MB, ours pass $(ratio "${KB[ours_passthrough]}" 1024) MB"
echo "  ours 100 vs 10 pages: $(ratio "${KB[ours_100_pages]}" 1024) MB vs $(ratio "${KB[ours_10_pages]}" 1024) MB = $(ratio "${KB[ours_100_pages]}" "${KB[ours_10_pages]}")x (target <= 1.2x)"
fi

source "$ROOT/scripts/compare_scan_to_pdf_more.sh"

echo "  work dir: $WORK (remove it when done)"
