#!/usr/bin/env bash
# rate.sh: the open model (bench/loadgen -rate) against vegeta at the same
# fixed rate, on the shared harness's target, pinned as its "pinned" mode:
# target on CPU 0, generator on CPU 1, GOMAXPROCS=1 each.
#
#   bash bench/rate.sh            # 1000/s and 5000/s, 8 s, 2 repetitions
#   RATES="1000 5000" DURATION=8 REPS=2 BENCHBIN=/tmp/benchbin bash bench/rate.sh
#
# Needs ../shared/bench (its target) and vegeta in $BENCHBIN (the harness
# installs it there). Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RATES=${RATES:-"1000 5000"}
DURATION=${DURATION:-8}
REPS=${REPS:-2}
PORT=${PORT:-18093}
BENCHBIN=${BENCHBIN:-/tmp/benchbin}
SHARED=${SHARED:-../shared/bench}
TMPD=$(mktemp -d)
trap 'kill "${TP:-0}" 2>/dev/null; rm -rf "$TMPD"' EXIT

[[ -x $BENCHBIN/vegeta ]] || { echo "rate.sh: no vegeta in $BENCHBIN (run ../shared/bench/run_baselines.sh once)" >&2; exit 1; }
go build -o "$TMPD/loadgen" ./bench/loadgen
(cd "$SHARED/target" && GOFLAGS=-mod=mod go build -o "$TMPD/benchtarget" .)
GOMAXPROCS=1 taskset -c 0 "$TMPD/benchtarget" -port "$PORT" -quiet >/dev/null 2>&1 &
TP=$!
sleep 0.5
echo "GET http://127.0.0.1:$PORT/" >"$TMPD/targets.txt"

printf '| tool | rate | achieved/s | requests | dropped | CPU-µs per request |\n|---|---:|---:|---:|---:|---:|\n'
for rate in $RATES; do
	for _ in $(seq "$REPS"); do
		out=$({ /usr/bin/time -f '%U %S' taskset -c 1 env GOMAXPROCS=1 "$TMPD/loadgen" -url "http://127.0.0.1:$PORT/" \
			-rate "$rate" -max-workers 50 -duration "${DURATION}s"; } 2>&1)
		python3 - "$out" "$rate" <<'PY'
import sys, json
lines = sys.argv[1].strip().splitlines()
j = json.loads([l for l in lines if l.startswith('{')][0])
u, s = map(float, lines[-1].split())
n = j['ok'] + j['failed']
print(f"| loadgen | {sys.argv[2]} | {j['rate_achieved']:.0f} | {n} | {j['dropped']} | {(u+s)*1e6/n:.1f} |")
PY
		out=$({ /usr/bin/time -f '%U %S' taskset -c 1 env GOMAXPROCS=1 "$BENCHBIN/vegeta" attack -targets "$TMPD/targets.txt" \
			-rate "${rate}/s" -duration "${DURATION}s" -max-workers 50 -output "$TMPD/vegeta.bin"; } 2>&1)
		rep=$("$BENCHBIN/vegeta" report -type json "$TMPD/vegeta.bin")
		python3 - "$out" "$rep" "$rate" <<'PY'
import sys, json
lines = sys.argv[1].strip().splitlines()
u, s = map(float, lines[-1].split())
j = json.loads(sys.argv[2])
n = j['requests']
print(f"| vegeta | {sys.argv[3]} | {j['rate']:.0f} | {n} | - | {(u+s)*1e6/n:.1f} |")
PY
	done
done
