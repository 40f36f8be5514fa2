#!/usr/bin/env bash
# Archival transfer tests (tests/lifecycle_export.rs): the E-ARK validator
# (PyPI eark-validator, which ships the METS and CSIP schemas and schematron
# rules) in its own virtual environment; tools/eark_validate.py runs it
# offline. The interpreter is exported to the tests as DOCGATE_TEST_EARK_PYTHON
# through /tmp/docgate-ci.env. Idempotent; runs as root on a fresh Debian
# machine, no stdin.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/../.."

EARK_DIR=/opt/docgate-eark
EARK_VERSION=1.1.3
PY="$EARK_DIR/bin/python"

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv >/dev/null
fi
if [ ! -x "$PY" ] || ! "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('eark-validator') != '$EARK_VERSION')" >/dev/null 2>&1; then
  rm -rf "$EARK_DIR"
  python3 -m venv "$EARK_DIR"
  "$PY" -m pip install --quiet --disable-pip-version-check "eark-validator==$EARK_VERSION"
fi
# The validator imports, offline, and ships mets.xsd.
test -s "$("$PY" tools/eark_validate.py --mets-xsd)"

touch /tmp/docgate-ci.env
grep -v '^DOCGATE_TEST_EARK_PYTHON=' /tmp/docgate-ci.env > /tmp/docgate-ci.env.new || true
echo "DOCGATE_TEST_EARK_PYTHON=$PY" >> /tmp/docgate-ci.env.new
mv /tmp/docgate-ci.env.new /tmp/docgate-ci.env
echo "eark-validator $EARK_VERSION at $PY"
