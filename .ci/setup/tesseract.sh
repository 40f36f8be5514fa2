#!/usr/bin/env bash
# OCR for scans and photos (src/extract/ocr.rs, tests/ocr.rs): Tesseract with the
# Estonian, Russian and English models, poppler-utils for pdfinfo/pdftotext/pdftoppm,
# and a font (DejaVu) so that pdftoppm can draw the letters tests/ocr.rs generates.
# Idempotent; runs as root on a fresh Debian machine, no stdin.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=0
command -v tesseract >/dev/null 2>&1 || need=1
command -v pdftoppm >/dev/null 2>&1 || need=1
command -v pdfinfo >/dev/null 2>&1 || need=1
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need=1
for lang in est rus eng; do
  # grep reads everything (no -q): under pipefail an early exit would SIGPIPE tesseract.
  tesseract --list-langs 2>/dev/null | grep -x "$lang" >/dev/null || need=1
done
if [ "$need" = 1 ]; then
  apt-get update -qq
  apt-get install -y -qq tesseract-ocr tesseract-ocr-est tesseract-ocr-rus tesseract-ocr-eng poppler-utils fonts-dejavu-core >/dev/null
fi
# sed, not head: head would close the pipe early and pipefail would fail the script (141).
tesseract --version 2>&1 | sed -n 1p
tesseract --list-langs 2>&1 | grep -E '^(est|rus|eng)$'
pdftoppm -v 2>&1 | sed -n 1p
