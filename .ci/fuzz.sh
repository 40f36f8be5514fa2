#!/usr/bin/env bash
# Builds every cargo-fuzz target (fuzz/) and runs each for FUZZ_SECONDS (60 by
# default), seeded from the committed corpora and the shared mail and office
# fixtures. A crash, a panic or a build failure fails CI.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes -Z flags: the nightly toolchain when rustup has one, else the
# installed toolchain with RUSTC_BOOTSTRAP.
if rustup toolchain list 2>/dev/null | grep '^nightly' >/dev/null; then
  fuzz() { cargo +nightly fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi
fuzz build -O -s none
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/mail_parser" "$seeds/office_text"
find ../../shared/corpus/mail -type f ! -name '*.txt' -size -256k -exec cp -t "$seeds/mail_parser" {} + 2>/dev/null || true
for f in ../fixtures/office/*; do
  [ -f "$f" ] || continue
  # The first byte picks the format in the office_text target.
  case "$f" in
    *.docx) k='\x00' ;; *.xlsx) k='\x01' ;; *.odt) k='\x02' ;; *.ods) k='\x03' ;; *.rtf) k='\x04' ;; *) continue ;;
  esac
  { printf "$k"; cat "$f"; } > "$seeds/office_text/$(basename "$f")"
done
for target in $(fuzz list); do
  echo "== fuzz $target (${secs}s)"
  corpus="$(mktemp -d)"
  cp -r corpus/"$target"/. "$corpus"/ 2>/dev/null || true
  mkdir -p "$seeds/$target"
  fuzz run "$target" -O -s none "$corpus" "$seeds/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 2>&1 | tail -n 12
  rm -rf "$corpus"
done
