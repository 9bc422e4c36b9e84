#!/bin/sh
# Real OPA (v1.20.2) for `--engine opa` and the differential tests: opa-golib-python-bindings
# embeds it as a Go shared library. Its metadata asks for Python 3.14 but the library runs on
# 3.11, so the wheel is fetched for 3.14 and installed without the version check.
set -eu
PY=${1:-python3}
VERSION=0.4.4
if "$PY" -c "import opa_golib" 2>/dev/null || "$PY" -m pip show -q opa-golib-python-bindings >/dev/null 2>&1; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download -q --no-deps --python-version 3.14 --only-binary=:all: \
  --platform manylinux_2_34_x86_64 -d "$tmp" "opa-golib-python-bindings==$VERSION"
"$PY" -m pip install -q --no-deps --ignore-requires-python "$tmp"/*.whl
