#!/bin/bash
# attack.sh: issue 11's costly-request attack against a real
# `closecast serve --offline`, loopback only, bounded in time. It prints the
# server's idle and peak RSS (VmHWM), the answers by status with the share
# of 503s (wrk + horizon.lua), and /healthz latency measured by curl every
# 0.2 s during the attack.
#
#   deploy/loadtest/attack.sh [closecast binary] [seconds]   # default: closecast on PATH, 15 s
#   HORIZON=30 SAMPLES=500 deploy/loadtest/attack.sh         # the original attack (now 400s)
#   EXTRA="--max-forecasts 2" deploy/loadtest/attack.sh      # other serve flags
set -euo pipefail
bin=${1:-closecast}
secs=${2:-15}
dir=$(cd "$(dirname "$0")" && pwd)
port=${PORT:-18199}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CLOSECAST_HOME=$work $bin serve --offline ${EXTRA:-} --addr 127.0.0.1:$port >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.1; done
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
HORIZON=${HORIZON:-6} SAMPLES=${SAMPLES:-500} wrk -t1 -c160 -d${secs}s --timeout 40s -s "$dir/horizon.lua" http://127.0.0.1:$port >"$work/wrk.txt" 2>&1 &
wpid=$!
sleep 1
for _ in $(seq $((secs * 4 - 8))); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 http://127.0.0.1:$port/healthz >>"$work/probe.txt" || echo "000 10" >>"$work/probe.txt"
  sleep 0.2
done
wait $wpid
echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
grep -E "answers|p50|Requests/sec" "$work/wrk.txt"
sort -k2 -n "$work/probe.txt" | awk '{a[NR]=$2; c[$1]++} END {printf "healthz probes %d: p50 %.1f ms, p90 %.1f ms, max %.1f ms; by status:", NR, a[int(NR*0.5)]*1000, a[int(NR*0.9)]*1000, a[NR]*1000; for (k in c) printf " %s x%d", k, c[k]; print ""}'
kill -TERM $pid
wait $pid || true
