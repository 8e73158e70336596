#!/usr/bin/env bash
# sqlx offline query data (`.sqlx/`), without sqlx-cli.
#   scripts/sqlx.sh prepare   rebuild `.sqlx/` from the queries in the code and `migrations/`
#   scripts/sqlx.sh check     fail if `.sqlx/` is not what `prepare` would write
# How: a schema database is built from `migrations/` with the sqlite3 CLI; then the crate is
# checked against it with SQLX_OFFLINE_DIR set, which makes sqlx 0.8's query macros write one
# `query-<hash>.json` per query there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sqlite3 >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/sqlx.sh: needs the sqlite3 CLI (apt-get install sqlite3)." >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Writes the query data of every macro in the crate into directory $1.
generate() {
  local out=$1
  local db="$work/schema.db"
  rm -f "$db"
  for migration in migrations/*.sql; do
    sqlite3 -bail "$db" <"$migration"
  done
  # The macros run only when the crate is compiled again: touch the crate root so it is.
  touch src/lib.rs
  SQLX_OFFLINE=false DATABASE_URL="sqlite:$db" SQLX_OFFLINE_DIR="$out" \
    cargo check --all-targets --quiet
}

case "${1:-}" in
  prepare)
    mkdir -p "$work/out"
    generate "$work/out"
    # Replace the whole folder: files of queries that are gone must not linger.
    rm -rf .sqlx
    mv "$work/out" .sqlx
    echo "scripts/sqlx.sh: $(ls .sqlx | wc -l) queries in .sqlx/"
    ;;
  check)
    mkdir -p "$work/out"
    generate "$work/out"
    mkdir -p .sqlx
    if ! diff -r .sqlx "$work/out" >"$work/diff"; then
      echo "scripts/sqlx.sh: .sqlx/ is stale; run scripts/sqlx.sh prepare and commit .sqlx/" >&2
      head -40 "$work/diff" >&2
      exit 1
    fi
    echo "scripts/sqlx.sh: .sqlx/ is up to date"
    ;;
  *)
    echo "usage: scripts/sqlx.sh prepare|check" >&2
    exit 2
    ;;
esac
