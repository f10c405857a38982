#!/bin/sh
# Rebuild the browser bundle from js/src/entry.js with exactly the locked packages.
#
#   sh js/build.sh                 # writes src/undersigned/static/js/blindrsa.bundle.js
#   sh js/build.sh /tmp/out.js     # writes elsewhere (tests/test_blindrsa_bundle.py compares)
#
# Needs node >= 20 and npm, and the npm registry (npm ci). The output depends only on
# package-lock.json and src/: no minification, no source map, no timestamps or absolute paths.
set -eu
cd "$(dirname "$0")"
out="${1:-../src/undersigned/static/js/blindrsa.bundle.js}"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
./node_modules/.bin/esbuild src/entry.js \
  --bundle \
  --format=iife \
  --platform=browser \
  --target=es2020 \
  --charset=utf8 \
  --legal-comments=inline \
  --log-level=warning \
  --banner:js="/* undersigned: @cloudflare/blindrsa-ts (Apache-2.0) and sjcl (BSD-2-Clause or GPL-2.0) bundled by js/build.sh from js/src/entry.js; do not edit, rebuild. */" \
  --outfile="$out"
