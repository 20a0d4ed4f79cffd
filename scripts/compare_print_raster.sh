#!/usr/bin/env bash
# PDF -> PWG raster at 300 dpi (sgray_8, A4): ours (examples/print.rs --raster-to, release)
# against CUPS' own filter chain from cups-filters, `pdftoraster` (poppler) and `gstoraster`
# (Ghostscript), on the same PDFs in one run. Prints pages/s and peak memory (/usr/bin/time -v)
# per tool and their ratios to ours. Needs: cups-filters ghostscript time libtasn1-doc
# shared-mime-info (scripts/install-system-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
pdfs=("$@")
if [ ${#pdfs[@]} -eq 0 ]; then
  pdfs=(/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf /usr/share/doc/libtasn1-doc/libtasn1.pdf)
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --features ipp --example print
ours="$CARGO_TARGET_DIR/release/examples/print"
filters=/usr/lib/cups/filter
for f in "$ours" "$filters/pdftoraster" "$filters/gstoraster" /usr/bin/time; do
  [ -x "$f" ] || { echo "missing $f (install: cups-filters ghostscript time)"; exit 1; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# A PWG raster printer's PPD-less job options, as cups-filters takes them.
opts="PageSize=A4 Resolution=300dpi cupsColorSpace=18 cupsBitsPerColor=8 ColorModel=Gray"
measure() { # name, output, command...
  local name=$1 out=$2; shift 2
  /usr/bin/time -v -o "$tmp/time" "$@" > "$out" 2>/dev/null
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$tmp/time")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tmp/time")
  cpu=$(awk -F': ' '/User time|System time/{s+=$2} END{print s}' "$tmp/time")
  echo "$name $wall $rss $cpu"
}
total_pages=0
declare -A wall rss cpu
for pdf in "${pdfs[@]}"; do
  pages=$(pdfinfo "$pdf" | awk '/^Pages:/{print $2}')
  total_pages=$((total_pages + pages))
  while read -r name w r c; do
    wall[$name]=$(echo "${wall[$name]:-0} + $w" | bc -l)
    cpu[$name]=$(echo "${cpu[$name]:-0} + $c" | bc -l)
    [ "${rss[$name]:-0}" -gt "$r" ] || rss[$name]=$r
  done < <(
    measure ours "$tmp/ours.pwg" "$ours" --raster-to /dev/stdout --media iso_a4_210x297mm "$pdf"
    measure ours-1thread "$tmp/ours1.pwg" "$ours" --raster-to /dev/stdout --threads 1 --media iso_a4_210x297mm "$pdf"
    PPD= CONTENT_TYPE=application/pdf FINAL_CONTENT_TYPE=image/pwg-raster \
      measure pdftoraster "$tmp/p.pwg" "$filters/pdftoraster" 1 bench bench 1 "$opts" "$pdf"
    PPD= CONTENT_TYPE=application/pdf FINAL_CONTENT_TYPE=image/pwg-raster \
      measure gstoraster "$tmp/g.pwg" "$filters/gstoraster" 1 bench bench 1 "$opts" "$pdf"
  )
done
echo "PDF -> PWG raster, 300 dpi sgray_8, ${#pdfs[@]} PDFs, $total_pages pages"
echo "ours: one render thread per core (at most 4; $(nproc) here); ours-1thread: one"
printf "%-13s %10s %10s %12s %14s %12s\n" tool pages/s "CPU s" "peak MiB" "speed vs ours" "mem vs ours"
for name in ours ours-1thread pdftoraster gstoraster; do
  pps=$(echo "$total_pages / ${wall[$name]}" | bc -l)
  ours_pps=$(echo "$total_pages / ${wall[ours]}" | bc -l)
  printf "%-13s %10.2f %10.2f %12.1f %14.2f %12.2f\n" "$name" "$pps" "${cpu[$name]}" \
    "$(echo "${rss[$name]} / 1024" | bc -l)" \
    "$(echo "$pps / $ours_pps" | bc -l)" "$(echo "${rss[$name]} / ${rss[ours]}" | bc -l)"
done
