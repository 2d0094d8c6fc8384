#!/bin/sh
# Installs tests/node's npm packages (stripe-node, standardwebhooks)
# exactly as pinned in tests/node/package-lock.json, with `npm ci`; does
# nothing when node_modules was installed from this very lockfile (so the
# e2e suites also run without network, e.g. inside `unshare -n`).
cd "$(dirname "$0")/node" || exit 1
command -v npm >/dev/null 2>&1 || { echo "node-deps: npm is missing (tests/deps.sh installs it)" >&2; exit 1; }
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ -f node_modules/.payguard-lock.sha256 ] &&
    [ "$(cat node_modules/.payguard-lock.sha256)" = "$want" ] && exit 0
echo "node-deps: npm ci in tests/node"
npm ci --no-audit --no-fund --loglevel=error >/tmp/payguard-npm.log 2>&1 || {
	echo "node-deps: npm ci failed, see /tmp/payguard-npm.log" >&2
	tail -20 /tmp/payguard-npm.log >&2
	exit 1
}
echo "$want" > node_modules/.payguard-lock.sha256
