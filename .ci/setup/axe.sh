#!/usr/bin/env bash
# Accessibility tests: axe-core (npm) in a fixed directory, for tests/web_ui.rs,
# which injects axe.min.js into every page in headless Chromium. The path is
# exported to the tests as DOCGATE_TEST_AXE_JS through /tmp/docgate-ci.env.
# Idempotent; runs as root on a fresh Debian machine, no stdin.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

AXE_DIR=/opt/docgate-axe
AXE_VERSION=4.10.3
AXE_JS="$AXE_DIR/node_modules/axe-core/axe.min.js"

if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq npm >/dev/null
fi
if [ ! -f "$AXE_JS" ] || ! grep -F "$AXE_VERSION" "$AXE_DIR/node_modules/axe-core/package.json" >/dev/null; then
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
fi
test -s "$AXE_JS"

touch /tmp/docgate-ci.env
grep -v '^DOCGATE_TEST_AXE_JS=' /tmp/docgate-ci.env > /tmp/docgate-ci.env.new || true
echo "DOCGATE_TEST_AXE_JS=$AXE_JS" >> /tmp/docgate-ci.env.new
mv /tmp/docgate-ci.env.new /tmp/docgate-ci.env
echo "axe-core $AXE_VERSION at $AXE_JS"
