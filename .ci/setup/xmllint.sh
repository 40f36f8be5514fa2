#!/usr/bin/env bash
# DHX tests compare the capsule reader and writer with xmllint (libxml2-utils).
set -euo pipefail
if ! command -v xmllint >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq libxml2-utils >/dev/null || { apt-get update -qq && apt-get install -y -qq libxml2-utils >/dev/null; }
fi
# sed reads all of it: head would close the pipe early and pipefail turn
# xmllint's SIGPIPE into a failed setup.
xmllint --version 2>&1 | sed -n 1p
