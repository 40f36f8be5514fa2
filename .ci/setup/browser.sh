#!/usr/bin/env bash
# Web tests: Debian's Chromium + ChromeDriver for the end-to-end walk-through
# (tests/web.rs drives /usr/bin/chromium through /usr/bin/chromedriver), and
# schemathesis (PyPI) for the OpenAPI conformance run against the live server.
# Idempotent; runs as root on a fresh Debian machine, no stdin.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
fi
chromium --version
chromedriver --version

if ! command -v st >/dev/null 2>&1 && ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=3.39,<5'
fi
# pyenv puts console scripts behind shims; make sure `st` is reachable where cargo test looks.
hash -r
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
(command -v st || command -v schemathesis) && (st --version 2>/dev/null || schemathesis --version)
