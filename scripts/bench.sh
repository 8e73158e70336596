#!/usr/bin/env bash
# Load benchmark: the five figures of "Hardening and performance, measured", in one run.
#
#   scripts/bench.sh
#
# (a) GET /register beside GET /robots.txt on the same server, requests/s and their ratio;
# (b) POST /register with a 512×512 PNG, registrations/s, beside the bare logo pipeline
#     (`examples/logo_pipeline.rs`, in-process, one thread per core) and their ratio;
# (c) GET /staff/submissions with 100,000 stored submissions: p50 and p99; also (g), a staff
#     search there, for a common term and for one that matches nothing: the slower p99;
# (d) peak RSS (VmHWM) of a fresh server while 50 clients upload 1 MiB logos at once;
# (e) time and RSS growth to refuse a PNG that declares 60000×60000;
# (f) peak RSS (VmHWM) of a fresh server while 200 clients POST /staff/login at once, each for
#     a different unknown email (LOGIN_RATE_LIMIT=0, so every one reaches the hashing pool).
#
# Each server is the release binary on 127.0.0.1 with its own temporary DATA_DIR,
# REGISTER_RATE_LIMIT=0 and RUST_LOG=warn; wrk, curl and the server share the machine's
# cores. Throughputs are medians of ROUNDS runs, taken alternately, since the machine is noisy.
#
# Settings (environment): DURATION (per wrk run, default 10s), ROUNDS (default 3),
# SEED_ROWS (default 100000), KEEP=1 keeps the work folder (logs, databases, bodies),
# ONLY="a b" runs just those figures (default: all six), SYNCHRONOUS=NORMAL serves with
# SQLite's synchronous=NORMAL instead of FULL (examples/bench_server.rs), so running
# `ONLY=b scripts/bench.sh` and `SYNCHRONOUS=NORMAL ONLY=b scripts/bench.sh` measures what FULL
# costs. (b) also counts the outbox rows still queued when each POST load ends.
# Needs: cargo, curl, python3, and wrk for (a)–(d).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
SEED_ROWS=${SEED_ROWS:-100000}
CORES=$(nproc)
BENCH=scripts/bench
WORK=$(mktemp -d /tmp/partner-registry-bench.XXXXXX)
SERVER_PIDS=()

cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    done
    if [[ -n "${KEEP:-}" ]]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say() { echo "== $*" >&2; }
wants() { [[ " ${ONLY:-a b c d e f} " == *" $1 "* ]]; }
fail() { echo "bench: $*" >&2; exit 1; }

for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool is needed"
done
if wants a || wants b || wants c || wants d; then
    command -v wrk >/dev/null || fail "wrk is needed for (a)-(d) (ONLY=\"e f\" runs without it)"
fi

say "building (release)"
cargo build --release --quiet --bin partner-registry --example sample_logos --example logo_pipeline \
    --example bench_server
BIN=${BIN:-target/release/partner-registry}
SYNCHRONOUS=${SYNCHRONOUS:-FULL}
case $SYNCHRONOUS in
    FULL) SERVER_BIN=$BIN ;;
    NORMAL) SERVER_BIN=target/release/examples/bench_server ;;
    *) fail "SYNCHRONOUS must be FULL or NORMAL, not $SYNCHRONOUS" ;;
esac
target/release/examples/sample_logos "$WORK/img" >/dev/null

# --- helpers ------------------------------------------------------------------------------

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server DATA_DIR: sets SERVER_PID and BASE, returns once /healthz answers.
start_server() {
    local data=$1 port
    port=$(free_port)
    mkdir -p "$data"
    DATA_DIR=$data BIND_ADDR=127.0.0.1:$port REGISTER_RATE_LIMIT=0 RUST_LOG=warn \
        "$SERVER_BIN" >"$data/server.log" 2>&1 &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    BASE=http://127.0.0.1:$port
    for _ in $(seq 200); do
        curl -fs -o /dev/null "$BASE/healthz" && return 0
        sleep 0.05
    done
    cat "$data/server.log" >&2
    fail "the server in $data did not start"
}

stop_server() {
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
}

proc_kb() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }

# csrf_for PATH: GET the page with a fresh cookie jar; sets CSRF_COOKIE (name=value) and
# CSRF_TOKEN (the hidden field).
csrf_for() {
    local jar=$WORK/jar.$RANDOM page
    page=$(curl -fs -c "$jar" "$BASE$1")
    CSRF_TOKEN=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
    CSRF_COOKIE=$(awk '$6 == "csrf" {print "csrf=" $7}' "$jar")
    [[ -n "$CSRF_TOKEN" && -n "$CSRF_COOKIE" ]] || fail "no anti-forgery token on $1"
}

# check_wrk OUTPUT: refuse to report a run that had socket errors or error answers.
check_wrk() {
    if grep -Eq 'Socket errors|Non-2xx' <<<"$1"; then
        echo "$1" >&2
        fail "wrk saw errors (above)"
    fi
}

rps() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# Latency from wrk --latency ("50%    1.23ms") in milliseconds.
latency_ms() {
    awk -v p="$2%" '$1 == p {
        v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
        if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; else if (unit == "m") v *= 60000
        printf "%.2f", v
    }' <<<"$1"
}
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "yes" : "**no**"}'; }

# --- the server for (a), (b) and (c): 100,000 submissions and a staff account ---------------

STAFF_EMAIL=bench@example.com
STAFF_PASSWORD=bench-password-long-enough
MAIN=$WORK/main
if wants a || wants b || wants c; then
mkdir -p "$MAIN"
if ! wants c; then SEED_ROWS=0; fi
say "seeding $SEED_ROWS submissions"
DATA_DIR=$MAIN RUST_LOG=warn "$BIN" staff add --email "$STAFF_EMAIL" --name Bench \
    <<<"$STAFF_PASSWORD" >/dev/null
python3 "$BENCH/seed_submissions.py" "$MAIN/registry.db" "$WORK/img/logo-512.png" "$SEED_ROWS" >&2
start_server "$MAIN"
fi

figure_a() {
say "(a) GET /register vs GET /robots.txt, $ROUNDS × $DURATION each"
robots=() register=()
for _ in $(seq "$ROUNDS"); do
    out=$(wrk -t2 -c32 -d"$DURATION" "$BASE/robots.txt"); check_wrk "$out"; robots+=("$(rps "$out")")
    out=$(wrk -t2 -c32 -d"$DURATION" "$BASE/register"); check_wrk "$out"; register+=("$(rps "$out")")
done
A_ROBOTS=$(printf '%s\n' "${robots[@]}" | median)
A_REGISTER=$(printf '%s\n' "${register[@]}" | median)
A_RATIO=$(ratio "$A_REGISTER" "$A_ROBOTS")
say "    robots.txt ${robots[*]} req/s; register ${register[*]} req/s"
}

figure_b() {
say "(b) POST /register (512×512 PNG) vs the logo pipeline on $CORES threads, $ROUNDS rounds"
csrf_for /register
python3 "$BENCH/make_body.py" "$BOUNDARY" "$CSRF_TOKEN" "$WORK/img/logo-512.png" "$WORK/body-512"
posts=() pipeline=() queued=()
# 32 connections, as for (a): capacity, not the latency of a few clients. With 8, each client
# spends most of its time waiting (upload, check, commit) and the cores stay ~20 % idle.
for _ in $(seq "$ROUNDS"); do
    out=$(BENCH_BODY=$WORK/body-512 BENCH_BOUNDARY=$BOUNDARY BENCH_COOKIE=$CSRF_COOKIE \
        wrk -t2 -c32 -d"$DURATION" --timeout 30s --latency -s "$BENCH/post.lua" "$BASE/register")
    check_wrk "$out"
    grep -q '^status 303:' <<<"$out" && ! grep -Ev '^status 303:' <<<"$out" | grep -q '^status' \
        || { echo "$out" >&2; fail "POST /register did not answer 303 every time"; }
    posts+=("$(rps "$out")")
    # Mail the load queued and the worker has not sent yet, the moment the load ends.
    queued+=("$(python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
print(db.execute("SELECT COUNT(*) FROM outbox WHERE state IN (\x27queued\x27, \x27sending\x27)").fetchone()[0])' "$MAIN/registry.db")")
    # As many logos as take about DURATION, so both sides see the same stretch of noise.
    out=$(target/release/examples/logo_pipeline "$WORK/img/logo-512.png" $(( ${DURATION%s} * 1000 )) "$CORES")
    pipeline+=("$(sed 's/.*logos_per_second=\([0-9.]*\).*/\1/' <<<"$out")")
done
B_POST=$(printf '%s\n' "${posts[@]}" | median)
B_PIPELINE=$(printf '%s\n' "${pipeline[@]}" | median)
B_RATIO=$(ratio "$B_POST" "$B_PIPELINE")
B_QUEUED="${queued[*]}"
say "    POST ${posts[*]} registrations/s (synchronous=$SYNCHRONOUS); pipeline ${pipeline[*]} logos/s; outbox queued after each load: $B_QUEUED"
}

figure_c() {
say "(c) GET /staff/submissions at $SEED_ROWS submissions"
csrf_for /staff/login
session=$(curl -fs -o /dev/null -D - -b "$CSRF_COOKIE" \
    --data-urlencode "email=$STAFF_EMAIL" --data-urlencode "password=$STAFF_PASSWORD" \
    --data-urlencode "csrf_token=$CSRF_TOKEN" "$BASE/staff/login" \
    | grep -io '^set-cookie: staff_session=[^;]*' | sed 's/^[^:]*: //')
[[ -n "$session" ]] || fail "staff login failed"
queue() {  # queue QUERY: wrk --latency output
    local out
    out=$(wrk -t2 -c4 -d"$DURATION" --latency -H "Cookie: $session" "$BASE/staff/submissions$1")
    check_wrk "$out"
    echo "$out"
}
curl -fs -b "$session" "$BASE/staff/submissions" | grep -q 'Submissions\|submissions' \
    || fail "the queue page did not render"
out=$(queue "")
C_P50=$(latency_ms "$out" 50); C_P99=$(latency_ms "$out" 99); C_RPS=$(rps "$out")
out=$(queue "?status=all")
C_ALL_P50=$(latency_ms "$out" 50); C_ALL_P99=$(latency_ms "$out" 99)
out=$(queue "?status=all&q=wonka")
C_Q_P50=$(latency_ms "$out" 50); C_Q_P99=$(latency_ms "$out" 99)
# A term no client has: the worst case for a scan, which reads every row to fill no page.
out=$(queue "?status=all&q=wonka99999")
C_RARE_P50=$(latency_ms "$out" 50); C_RARE_P99=$(latency_ms "$out" 99)
C_SEARCH_P99=$(printf '%s\n' "$C_Q_P99" "$C_RARE_P99" | sort -g | tail -1)
}

figure_d() {
say "(d) 50 concurrent 1 MiB uploads, fresh server"
start_server "$WORK/rss"
D_IDLE=$(proc_kb "$SERVER_PID" VmHWM)
csrf_for /register
UPLOAD_BYTES=$(stat -c %s "$WORK/img/upload-1mib.png")
python3 "$BENCH/make_body.py" "$BOUNDARY" "$CSRF_TOKEN" "$WORK/img/upload-1mib.png" "$WORK/body-1mib"
out=$(BENCH_BODY=$WORK/body-1mib BENCH_BOUNDARY=$BOUNDARY BENCH_COOKIE=$CSRF_COOKIE \
    wrk -t2 -c50 -d"$DURATION" --timeout 30s -s "$BENCH/post.lua" "$BASE/register")
check_wrk "$out"
D_STATUSES=$(grep '^status' <<<"$out" | tr '\n' ' ')
D_RPS=$(rps "$out")
D_HWM=$(proc_kb "$SERVER_PID" VmHWM)
D_MB=$(awk -v k="$D_HWM" 'BEGIN {printf "%.1f", k / 1024}')
stop_server
}

figure_e() {
say "(e) a PNG declaring 60000×60000, 20 POSTs"
start_server "$WORK/huge"
csrf_for /register
python3 "$BENCH/make_body.py" "$BOUNDARY" "$CSRF_TOKEN" "$WORK/img/huge-60000.png" "$WORK/body-huge"
post_huge() {
    curl -s -o "$WORK/huge.html" -w '%{http_code} %{time_total}\n' -b "$CSRF_COOKIE" \
        -H "Content-Type: multipart/form-data; boundary=$BOUNDARY" \
        --data-binary @"$WORK/body-huge" "$BASE/register"
}
post_huge >/dev/null  # the first 422 page builds the template's buffers once
grep -q '60000×60000' "$WORK/huge.html" || fail "the refusal does not quote 60000×60000"
E_RSS_BEFORE=$(proc_kb "$SERVER_PID" VmRSS)
times=()
for _ in $(seq 20); do
    read -r code seconds < <(post_huge)
    [[ "$code" == 422 ]] || fail "the 60000×60000 PNG got $code, not 422"
    times+=("$seconds")
done
E_RSS_AFTER=$(proc_kb "$SERVER_PID" VmRSS)
E_MS=$(printf '%s\n' "${times[@]}" | median | awk '{printf "%.2f", $1 * 1000}')
E_GROWTH_MB=$(awk -v a="$E_RSS_BEFORE" -v b="$E_RSS_AFTER" 'BEGIN {printf "%.2f", (b - a) / 1024}')
stop_server
}

figure_f() {
say "(f) 200 concurrent POST /staff/login for unknown emails, fresh server"
local data=$WORK/logins
mkdir -p "$data"
DATA_DIR=$data RUST_LOG=warn "$BIN" staff add --email "$STAFF_EMAIL" --name Bench \
    <<<"$STAFF_PASSWORD" >/dev/null
LOGIN_RATE_LIMIT=0 start_server "$data"
F_IDLE=$(proc_kb "$SERVER_PID" VmHWM)
csrf_for /staff/login
out=$(python3 "$BENCH/login_flood.py" "$BASE" "$CSRF_COOKIE" "$CSRF_TOKEN" "$SERVER_PID" 200)
F_PEAK=$(sed -n 's/^peak_kb=\([0-9]*\).*/\1/p' <<<"$out")
F_AFTER=$(sed -n 's/.*rss_after_kb=\([0-9]*\).*/\1/p' <<<"$out")
F_STATUSES=$(grep '^status' <<<"$out" | tr '\n' ' ')
grep -q '^status 500' <<<"$out" && { echo "$out" >&2; fail "a login got 500"; }
F_MB=$(awk -v k="$F_PEAK" 'BEGIN {printf "%.1f", k / 1024}')
stop_server
}

BOUNDARY=----benchBoundary7MA4YWxkTrZu0gW
if wants a || wants b || wants c; then
    for figure in a b c; do if wants $figure; then "figure_$figure"; fi; done
    stop_server
fi
for figure in d e f; do if wants $figure; then "figure_$figure"; fi; done

# --- report -------------------------------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
cat <<EOF

Partner Registry load benchmark — $(date -u +%Y-%m-%d), $CORES cores ($cpu), wrk on the same cores
medians of $ROUNDS runs of $DURATION; rows seeded: $SEED_ROWS

| | figure | measured | target | met |
|---|---|---|---|---|
EOF
if wants a; then echo "| (a) | GET /register vs GET /robots.txt | $A_REGISTER vs $A_ROBOTS req/s = **$A_RATIO** | ≥ 0.8 | $(verdict "$A_RATIO" ">=" 0.8) |"; fi
if wants b; then echo "| (b) | POST /register (512×512 PNG) vs bare pipeline ($CORES threads) | $B_POST vs $B_PIPELINE /s = **$B_RATIO** (synchronous=$SYNCHRONOUS; outbox rows queued when each load ended: $B_QUEUED) | ≥ 0.8 | $(verdict "$B_RATIO" ">=" 0.8) |"; fi
if wants c; then echo "| (c) | staff queue at $SEED_ROWS submissions (4 connections) | p50 $C_P50 ms, **p99 $C_P99 ms** ($C_RPS req/s) | p99 ≤ 10 ms | $(verdict "$C_P99" "<=" 10) |"; fi
if wants c; then echo "| (g) | staff search at $SEED_ROWS submissions (4 connections) | q=wonka p99 $C_Q_P99 ms, q=wonka99999 p99 $C_RARE_P99 ms: **p99 $C_SEARCH_P99 ms** | p99 ≤ 5 ms | $(verdict "$C_SEARCH_P99" "<=" 5) |"; fi
if wants d; then echo "| (d) | peak RSS, 50 concurrent $UPLOAD_BYTES-byte uploads | **$D_MB MB** (idle $(awk -v k="$D_IDLE" 'BEGIN {printf "%.1f", k / 1024}') MB; $D_RPS uploads/s; ${D_STATUSES% }) | ≤ 150 MB | $(verdict "$D_MB" "<=" 150) |"; fi
if wants e; then echo "| (e) | refuse a PNG declaring 60000×60000 | **$E_MS ms** median, RSS **+$E_GROWTH_MB MB** over 20 | ≤ 5 ms, ≤ 5 MB | $(verdict "$E_MS" "<=" 5) / $(verdict "$E_GROWTH_MB" "<=" 5) |"; fi
if wants f; then echo "| (f) | peak RSS, 200 concurrent staff logins (unknown emails) | **$F_MB MB** (idle $(awk -v k="$F_IDLE" 'BEGIN {printf "%.1f", k / 1024}') MB, $(awk -v k="$F_AFTER" 'BEGIN {printf "%.1f", k / 1024}') MB after; ${F_STATUSES% }) | < 200 MB | $(verdict "$F_MB" "<=" 200) |"; fi
if wants c; then
    echo
    echo "Queue variants (not targets): status=all p50 $C_ALL_P50 / p99 $C_ALL_P99 ms; search p50 q=wonka $C_Q_P50 ms, q=wonka99999 $C_RARE_P50 ms."
fi
