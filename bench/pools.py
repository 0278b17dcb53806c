#!/usr/bin/env python3
"""pools.py: the open model at one rate with pools of several sizes, side by side.

Runs in turns, REPS times, each at one offered rate:
- bench/loadgen -rate RATE -max-workers N for each N in POOLS, and with
  -warm (every session's connection opened before time zero) for the
  largest pool;
- bench/openfloor -warm with that pool: the thinnest open-model generator on
  net/http, the open model's floor, waking once per start and, above
  4,000/s, once per window as the library does (12 intervals, at most
  750 µs);
- the closed loop (-workers 50);
- when F1 names a binary of ../shared/bench/f1, f1's `run constant`.
All on the shared harness's target, pinned as its "pinned" mode (target on
CPU 0, generator on CPU 1, GOMAXPROCS=1 each). Prints each generator's CPU
per ok request (user+sys over its whole process), start lag p99, dropped
starts and peak busy workers, medians of REPS, and with f1 the median of
the paired ratios to f1's CPU.

    python3 bench/pools.py                      # 15000/s, 6 s, 5 reps, pools 20 50 200
    RATE=15000 DURATION=6s REPS=5 POOLS="20 200" F1=/tmp/f1 python3 bench/pools.py

Needs ../shared/bench/target and Go. Load goes to 127.0.0.1 only.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rate = int(os.environ.get("RATE", "15000"))
dur = os.environ.get("DURATION", "6s")
reps = int(os.environ.get("REPS", "5"))
pools = os.environ.get("POOLS", "20 50 200").split()
f1 = os.environ.get("F1", "")
port = os.environ.get("PORT", "18094")
shared = os.environ.get("SHARED", os.path.join(root, "..", "shared", "bench"))
url = f"http://127.0.0.1:{port}/"

tmp = tempfile.mkdtemp()
loadgen, openfloor, target = (os.path.join(tmp, n) for n in ("loadgen", "openfloor", "target"))
subprocess.run(["go", "build", "-o", loadgen, "./bench/loadgen"], cwd=root, check=True)
subprocess.run(["go", "build", "-o", openfloor, "./bench/openfloor"], cwd=root, check=True)
subprocess.run(["go", "build", "-o", target, "."], cwd=os.path.join(shared, "target"), check=True,
               env={**os.environ, "GOFLAGS": "-mod=mod"})

pin = ["taskset", "-c", "1", "env", "GOMAXPROCS=1"]
tools = {f"{n} workers": pin + [loadgen, "-url", url, "-rate", str(rate), "-max-workers", n, "-duration", dur] for n in pools}
big = max(pools, key=int)
tools[f"{big} workers, -warm"] = pin + [loadgen, "-url", url, "-rate", str(rate), "-max-workers", big, "-duration", dur, "-warm"]
floor = pin + [openfloor, "-url", url, "-rate", str(rate), "-workers", big, "-duration", dur, "-warm"]
tools[f"openfloor, {big} workers, -warm, a wake per start"] = floor
interval_us = 1e6 / rate
if interval_us < 250:  # where the library batches its starts: the same window (open.go, batchWindow)
    window = f"{min(12 * interval_us, 750):.0f}us"
    tools[f"openfloor, {big} workers, -warm, -window {window}"] = floor + ["-window", window]
tools["closed loop, 50 workers"] = pin + [loadgen, "-url", url, "-workers", "50", "-duration", dur]
if f1:
    tools["f1"] = pin + ["env", "F1_LOG_FORMAT=json", f1, "--url", url, "run", "constant", "get",
                         "--rate", f"{rate}/s", "--max-duration", dur, "--concurrency", "200", "--ignore-dropped"]

tgt = subprocess.Popen(["taskset", "-c", "0", "env", "GOMAXPROCS=1", target, "-port", port, "-quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    time.sleep(0.5)
    cpu = {k: [] for k in tools}
    lag = {k: [] for k in tools}
    busy = {k: [] for k in tools}
    drops = {k: [] for k in tools}
    for _ in range(reps):
        for name, cmd in tools.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            ok = None
            if name == "f1":
                for line in p.stdout.splitlines():
                    if "iteration_stats" in line:
                        ok = json.loads(line)["iteration_stats"].get("successful")
            else:
                d = json.loads(p.stdout.strip().splitlines()[-1])
                ok = d["ok"]
                if "start_lag_p99_ns" in d:
                    lag[name].append(d["start_lag_p99_ns"] / 1e6)
                if "peak_busy" in d:
                    busy[name].append(d["peak_busy"])
                if "dropped" in d:
                    drops[name].append(d["dropped"])
            if not ok:
                sys.exit(f"pools.py: {name} made no successful request:\n{p.stdout}{p.stderr}")
            cpu[name].append(1e6 * used / ok)
finally:
    tgt.terminate()

print(f"{rate}/s, {dur}, {reps} reps, {time.strftime('%Y-%m-%d')}")
print("| generator | CPU-µs/req, median | start lag p99, median | dropped, median | peak busy workers, median | paired ratio to f1, median |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name in tools:
    l = f"{statistics.median(lag[name]):.1f} ms" if lag[name] else ""
    b = f"{statistics.median(busy[name]):.0f}" if busy[name] else ""
    dr = f"{statistics.median(drops[name]):.0f}" if drops[name] else ""
    r = ""
    if f1 and name != "f1":
        r = f"{statistics.median(a / b for a, b in zip(cpu[name], cpu['f1'])):.2f}×"
    print(f"| {name} | {statistics.median(cpu[name]):.1f} | {l} | {dr} | {b} | {r} |")
