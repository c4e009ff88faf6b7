#!/usr/bin/env bash
# The README's test command (`npm test`). On a bare machine it first sets up everything the tests
# need — Debian packages, npm packages, the native build — and stops before any test, naming the one
# command to run, when it cannot. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }
fail() { printf '\nnpm test: %s\n' "$*" >&2; exit 1; }

# --- system packages -------------------------------------------------------------------------------
# tool the tests run -> the Debian package that provides it
declare -A PACKAGE_OF=(
  [promtool]=prometheus        # alert-rules.spec.ts: promtool checks and unit-tests the alert rules
  [chromium]=chromium          # report-browser.spec.ts: report.html in a real headless browser
  [redis-server]=redis-server  # shared risk state: a real Redis started by the tests
)
step "system packages: ${!PACKAGE_OF[*]}"
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  install=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    fail "the tests need the Debian package(s) ${missing[*]}, and this user cannot install them.
Run this once, then npm test again:
  sudo apt-get update && sudo ${install[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "the tests need ${missing[*]} (Debian package names); this machine has no apt-get: install them with its package manager"
  echo "installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" "${install[@]}" >/dev/null
fi
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is still missing after installing ${PACKAGE_OF[$tool]}"
done
promtool --version 2>&1 | head -1
chromium --version 2>/dev/null  # the Debian wrapper script warns on stderr about its own memory probe
redis-server --version

# --- the shared market data and runbook --------------------------------------------------------------
shared="${AXON_SHARED:-$(cd .. && pwd)/shared}"
[ -f "$shared/data/btc-usdt-5m.csv" ] && [ -f "$shared/seed/operations-runbook.txt" ] ||
  fail "the tests read the real market data and the runbook from $shared (data/btc-usdt-5m.csv, seed/operations-runbook.txt), which is not there.
Clone the repository beside shared/, or run: AXON_SHARED=/path/to/shared npm test"
echo "shared data: $shared"

# --- npm packages and the build ---------------------------------------------------------------------
# npm records the installed tree in node_modules/.package-lock.json: install again when the lockfile
# is newer (a pull that changed dependencies) or the tree is missing.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci (builds the native addon from source through the prepare script)"
  npm ci --no-audit --no-fund
fi
step "build: native addon (cargo, from crates.io) and TypeScript"
npm run build

# --- formatting and lints ---------------------------------------------------------------------------
step "cargo fmt --check, cargo clippy -D warnings, ESLint (typescript-eslint strict)"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
npx eslint .

# --- the tests --------------------------------------------------------------------------------------
step "cargo test --workspace"
cargo test --workspace
step "type-check the specs"
npx tsc -p __test__/tsconfig.json
step "vitest"
npx vitest run
