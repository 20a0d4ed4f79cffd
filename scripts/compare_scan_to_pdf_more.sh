# Sourced by scripts/compare_scan_to_pdf.sh (uses its measure, ratio, has, OURS, WORK, PAGES,
# QUALITY, CONVERT, REPEAT): the per-core, SANE and OCR comparisons. Not run on its own.
# shellcheck shell=bash

size() { awk "BEGIN{printf \"%.1f\", $(stat -c %s "$1")/1e6}"; }
need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }

if has percore; then
  need taskset util-linux; need cjpeg libjpeg-turbo-progs
  echo "== per core: one thread on CPU 0 ($PAGES pages, quality $QUALITY)"
  measure core_ours_turbo taskset -c 0 "$OURS" --input-dir "$WORK/raw" --output "$WORK/core_turbo.pdf" \
    --encoding jpeg --quality "$QUALITY" --threads 1 --jpeg-encoder turbo
  measure core_ours_rust taskset -c 0 "$OURS" --input-dir "$WORK/raw" --output "$WORK/core_rust.pdf" \
    --encoding jpeg --quality "$QUALITY" --threads 1 --jpeg-encoder rust
  measure core_im_img2pdf taskset -c 0 bash -c "for f in '$WORK'/raw/*.ppm; do '$CONVERT' -limit thread 1 \"\$f\" -quality $QUALITY '$WORK'/imjpg/\$(basename \"\$f\" .ppm).jpg; done && img2pdf '$WORK'/imjpg/*.jpg -o '$WORK/core_im.pdf' && sync '$WORK/core_im.pdf'"
  # libjpeg-turbo's own encoder on the same pages, same quality and 4:2:0: the floor.
  measure core_cjpeg taskset -c 0 bash -c "for f in '$WORK'/raw/*.ppm; do cjpeg -quality $QUALITY -sample 2x2 \"\$f\" >/dev/null; done"
  grep -h "encoder:" "$WORK/out.core_ours_turbo" "$WORK/out.core_ours_rust" | sed 's/^/  /'
  # Wall time on CPU 0 includes waiting for other processes on that CPU and for the disk
  # (we fsync, cjpeg writes to /dev/null): on a shared machine the CPU-time ratios are the
  # steadier figures; both are printed.
  echo "  per core: ours (libjpeg-turbo) $(ratio "${SEC[core_im_img2pdf]}" "${SEC[core_ours_turbo]}")x faster than convert+img2pdf (target >= 3x)," \
    "$(ratio "${CPU[core_im_img2pdf]}" "${CPU[core_ours_turbo]}")x less CPU; ours (pure Rust) $(ratio "${SEC[core_im_img2pdf]}" "${SEC[core_ours_rust]}")x," \
    "$(ratio "${CPU[core_im_img2pdf]}" "${CPU[core_ours_rust]}")x less CPU"
  echo "  per core: cjpeg alone / ours end to end = $(ratio "${SEC[core_cjpeg]}" "${SEC[core_ours_turbo]}") wall, $(ratio "${CPU[core_cjpeg]}" "${CPU[core_ours_turbo]}") CPU (target >= 0.70);" \
    "ours $(ratio "$PAGES" "${SEC[core_ours_turbo]}") pages/s, cjpeg $(ratio "$PAGES" "${SEC[core_cjpeg]}") pages/s" \
    "[$(size "$WORK/core_turbo.pdf") MB vs $(size "$WORK/core_im.pdf") MB]"
fi

if has sane; then
  need scanimage sane-utils
  echo "== through SANE: scanimage -d test (ADF, 300 dpi, 200x200 mm, Color pattern), 2 loads x 10 pages"
  SANE_OPTS=(--resolution 300 -x 200 -y 200 --test-picture "Color pattern")
  for mode in Color Gray; do
    m=$(echo "$mode" | tr 'A-Z' 'a-z')
    for fmt in jpeg pnm; do
      ext=$fmt; [ "$fmt" = pnm ] && ext=pnm
      measure "sane_scanimage_${fmt}_$m" bash -c "
        for load in 1 2; do
          d='$WORK/sane_${fmt}_$m'_\$load; rm -rf \"\$d\"; mkdir -p \"\$d\"
          scanimage -d test --source 'Automatic Document Feeder' --mode $mode ${SANE_OPTS[*]@Q} \
            --batch=\"\$d/p%02d.$ext\" --format=$fmt >/dev/null 2>&1 || true
          [ \$(ls \"\$d\" | wc -l) -eq 10 ] || { echo \"scanimage gave \$(ls \"\$d\" | wc -l) pages\"; exit 1; }
          img2pdf \"\$d\"/p*.$ext -o \"\$d.pdf\" && sync \"\$d.pdf\"
        done"
      enc=jpeg; [ "$fmt" = pnm ] && enc=flate
      measure "sane_ours_${fmt}_$m" bash -c "
        for load in 1 2; do
          '$OURS' --device sane:test --source adf --mode $m --resolution 300 --area 200x200+0+0 \
            --option test-picture='Color pattern' --encoding $enc --quality $QUALITY \
            --output '$WORK/sane_ours_${fmt}_$m'_\$load.pdf || exit 1
        done"
      tail=$(grep -h "^tail:" "$WORK/out.sane_ours_${fmt}_$m" | awk '{s += $2} END {printf "%.3f", s / NR}')
      echo "  $m $fmt: ours $(ratio "${SEC[sane_scanimage_${fmt}_$m]}" "${SEC[sane_ours_${fmt}_$m]}")x faster than scanimage+img2pdf;" \
        "ours from the last page to the durable PDF: $tail s per load" \
        "[$(size "$WORK/sane_ours_${fmt}_${m}_1.pdf") MB vs $(size "$WORK/sane_${fmt}_${m}_1.pdf") MB per load]"
    done
  done
fi

if has ocr; then
  OCRMYPDF=${OCRMYPDF:-$(command -v ocrmypdf || echo /opt/ocrmypdf-venv/bin/ocrmypdf)}
  [ -x "$OCRMYPDF" ] || { echo "missing ocrmypdf: python3 -m venv /opt/ocrmypdf-venv && /opt/ocrmypdf-venv/bin/pip install ocrmypdf" >&2; exit 1; }
  need tesseract "tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng"; need pdftotext poppler-utils
  FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  [ -f "$FONT" ] || { echo "missing $FONT: apt-get install fonts-dejavu-core" >&2; exit 1; }
  OCR_PAGES=${OCR_PAGES:-8}
  echo "== OCR: $OCR_PAGES A4 300 dpi gray pages of known German text, deu+eng, $(tesseract --version 2>&1 | head -1), OCRmyPDF $("$OCRMYPDF" --version)"
  rm -rf "$WORK/ocr" "$WORK/ocr2x"; mkdir -p "$WORK/ocr" "$WORK/ocr2x"
  python3 - "$WORK/ocr" "$OCR_PAGES" <<'PY'
import sys, random
out, n = sys.argv[1], int(sys.argv[2])
words = ("Antrag Erteilung Personalausweis Meldebescheinigung Wohnung Anschrift Hauptstraße "
         "Bürgeramt Leipzig Geburtsdatum Staatsangehörigkeit deutsch Unterschrift Vorname "
         "Familienname Größe Augenfarbe Gebühr Euro bezahlt Zahlung Straße Hausnummer Postleitzahl "
         "Ort Telefon Bescheid Widerspruch innerhalb eines Monats nach Bekanntgabe schriftlich "
         "oder zur Niederschrift bei der Behörde einlegen für über zwölf Jahre").split()
rng = random.Random(18)
for p in range(n):
    lines = []
    for _ in range(22):
        line = []
        while sum(len(w) + 1 for w in line) < 48:
            line.append(rng.choice(words))
        lines.append(" ".join(line))
    open(f"{out}/p{p:02d}.txt", "w").write("\n".join(lines) + "\n")
PY
  for t in "$WORK"/ocr/p*.txt; do
    args=(); i=0
    while IFS= read -r line; do args+=(-annotate "+200+$((300 + i * 140))" "$line"); i=$((i + 1)); done <"$t"
    "$CONVERT" -size 2480x3508 xc:white -font "$FONT" -pointsize 48 -fill black "${args[@]}" \
      -colorspace Gray -depth 8 -density 300 -units PixelsPerInch "${t%.txt}.pgm"
  done
  cat "$WORK"/ocr/p*.txt >"$WORK/ocr_known.txt"
  for f in "$WORK"/ocr/p*.pgm; do
    b=$(basename "$f" .pgm); ln "$f" "$WORK/ocr2x/${b}a.pgm"; ln "$f" "$WORK/ocr2x/${b}b.pgm"
  done
  img2pdf "$WORK"/ocr/p*.pgm -o "$WORK/ocr_input.pdf"
  measure ocr_ours "$OURS" --input-dir "$WORK/ocr" --output "$WORK/ocr_ours.pdf" --ocr deu+eng --pdfa
  measure ocr_ours_2x "$OURS" --input-dir "$WORK/ocr2x" --output "$WORK/ocr_ours2x.pdf" --ocr deu+eng --pdfa
  measure ocr_ocrmypdf "$OCRMYPDF" -q -l deu+eng --jobs "$(nproc)" --output-type pdfa \
    "$WORK/ocr_input.pdf" "$WORK/ocr_ocrmypdf.pdf"
  acc() { # PDF -> character accuracy of pdftotext against the known text, page by page,
    # whitespace collapsed: 1 - (edit distance) / (characters)
    local pdf=$1 n=0 f
    for f in "$WORK"/ocr/p*.txt; do
      n=$((n + 1))
      pdftotext -f "$n" -l "$n" "$pdf" - | python3 -c '
import sys
def norm(s): return " ".join(s.split())
w, g = norm(open(sys.argv[1]).read()), norm(sys.stdin.read())
prev = list(range(len(g) + 1))
for i, a in enumerate(w):
    cur = [i + 1] + [0] * len(g)
    for j, b in enumerate(g):
        cur[j + 1] = min(prev[j] + (a != b), prev[j + 1] + 1, cur[j] + 1)
    prev = cur
print(prev[len(g)], len(w))' "$f"
    done | awk '{d += $1; c += $2} END {printf "%.4f", 1 - d / c}'
  }
  qpdf --check "$WORK/ocr_ours.pdf" >/dev/null || { echo "qpdf --check failed on ocr_ours.pdf"; exit 1; }
  echo "  OCR accuracy: ours $(acc "$WORK/ocr_ours.pdf"), OCRmyPDF $(acc "$WORK/ocr_ocrmypdf.pdf") (characters, 1 = all right)"
  echo "  OCR speed: ours $(ratio "$OCR_PAGES" "${SEC[ocr_ours]}") pages/s, OCRmyPDF $(ratio "$OCR_PAGES" "${SEC[ocr_ocrmypdf]}") pages/s" \
    "= ours $(ratio "${SEC[ocr_ocrmypdf]}" "${SEC[ocr_ours]}")x faster; CPU $(ratio "${CPU[ocr_ocrmypdf]}" "${CPU[ocr_ours]}")x less" \
    "[$(size "$WORK/ocr_ours.pdf") MB vs $(size "$WORK/ocr_ocrmypdf.pdf") MB]"
  echo "  OCR peak memory: ours $(ratio "${KB[ocr_ours_2x]}" 1024) MB at $((2 * OCR_PAGES)) pages, $(ratio "${KB[ocr_ours]}" 1024) MB at" \
    "$OCR_PAGES = $(ratio "${KB[ocr_ours_2x]}" "${KB[ocr_ours]}")x (target <= 1.2x); OCRmyPDF $(ratio "${KB[ocr_ocrmypdf]}" 1024) MB (largest process)"
fi
