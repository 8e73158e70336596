#!/usr/bin/env bash
# Fuzz one target for a while, from the committed seeds, one process (2 cores are shared).
#
#   fuzz/run.sh TARGET [SECONDS]      e.g. fuzz/run.sh logo 600
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz pass its nightly flags (sanitizer coverage, AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")"
target=$1
seconds=${2:-600}
case $target in
    logo) max_len=65536 ;;
    redirect_uri) max_len=4096 ;;
    registration) max_len=16384 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target"
cp -n seeds/"$target"/* "corpus/$target/"
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -print_final_stats=1
