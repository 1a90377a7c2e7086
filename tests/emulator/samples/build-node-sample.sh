#!/usr/bin/env bash
# Builds AWS's Node.js Telemetry API sample extension into a layer folder, as its Makefile does (npm install, the
# launcher and index.js executable, extensions/ and the extension's folder side by side):
#   tests/emulator/samples/build-node-sample.sh OUT_DIR
# The sample's code is used as published (nodejs-example-telemetry-api-extension/, README.md beside this file);
# its dependencies are installed pinned from the npm registry (node-dependencies/: npm ci of a lock file), with the
# one change its own bug requires: node-fetch 2.7.0 instead of ^3.3.2 (ESM only: `require('node-fetch')` returns no
# function on Node 20 and fails on Node 18). Installs Debian's nodejs and npm first when node or npm is missing.
# Idempotent: OUT_DIR is rebuilt only when the sample or the lock file changed.
set -euo pipefail
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
out=${1:?usage: build-node-sample.sh OUT_DIR}
STEP_PREFIX=node-sample
. "$here/../../../scripts/lib/steps.sh"

missing=$(missing_tools node npm)
if [ -n "$missing" ]; then
    can_apt_install nodejs npm
    step "installing nodejs and npm from Debian's packages (missing: $missing)" apt_install nodejs npm
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' || fail "node >= 18 is needed, $(node --version) is here"

sample=$here/nodejs-example-telemetry-api-extension
stamp=$( (cd "$here" && find nodejs-example-telemetry-api-extension node-dependencies -type f -print0 | sort -z |
    xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
if [ -f "$out/.built" ] && [ "$(cat "$out/.built")" = "$stamp" ]; then
    exit 0
fi
build() {
    rm -rf "$out" && mkdir -p "$out" &&
        cp -R "$sample/extensions" "$sample/nodejs-example-telemetry-api-extension" "$out/" &&
        cp "$here/node-dependencies/package.json" "$here/node-dependencies/package-lock.json" \
            "$out/nodejs-example-telemetry-api-extension/" &&
        (cd "$out/nodejs-example-telemetry-api-extension" && npm ci --omit=dev --no-audit --no-fund) &&
        chmod +x "$out/nodejs-example-telemetry-api-extension/index.js" \
            "$out/extensions/nodejs-example-telemetry-api-extension"
}
step "building AWS's Node.js Telemetry API sample (npm ci, pinned)" build
echo "$stamp" >"$out/.built"
