#!/bin/sh
# Link with mold when it is installed (much faster on 2 cores), else with the default linker.
if command -v mold >/dev/null 2>&1; then exec cc -fuse-ld=mold "$@"; else exec cc "$@"; fi
