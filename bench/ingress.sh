#!/usr/bin/env bash
# Issue 5 benchmark, one run, side by side, wrk with keep-alive against the same sample app (samples/hello):
#   direct   the app on the host, no proxy (context only)
#   nginx    nginx's `stream` TCP proxy in front of that app (the baseline)
#   cloister `cloister run`'s passthrough ingress into the simulated enclave: host TCP → vsock (Unix socket) →
#            the in-enclave supervisor → the app inside the sandbox
# Prints requests/s of each and cloister/nginx (target ≥ 0.8). Also prints `cloister run` → first answered request
# (target < 3 s). Needs wrk and nginx with the stream module (apt-get install wrk nginx-light libnginx-mod-stream).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
for tool in wrk nginx; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || { echo "bench: libnginx-mod-stream is required" >&2; exit 1; }
work="$(mktemp -d /tmp/cloister-bench-ingress.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$root/samples/hello/build.sh" >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench: nothing on port $1" >&2; exit 1; }

app_port=$(free_port); nginx_port=$(free_port)
PORT=$app_port "$root/samples/hello/publish/hello" >/dev/null 2>&1 &
pids+=($!)
cat >"$work/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
stream { server { listen 127.0.0.1:$nginx_port; proxy_pass 127.0.0.1:$app_port; } }
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

start=$(date +%s%N)
"$root/cloister" run "$root/samples/hello/out" --publish 0:8080 --publish 0:8443 >"$work/run.out" 2>"$work/run.err" &
pids+=($!)
cloister_port=""
until [[ -n "$cloister_port" ]]; do
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "bench: cloister run ended:" >&2; cat "$work/run.err" >&2; exit 1; }
  cloister_port="$(sed -n 's/.*ingress 127.0.0.1:\([0-9]*\) → enclave port 8080 .*/\1/p' "$work/run.err" | head -1)"; sleep 0.02
done
until response="$( (exec 3<>"/dev/tcp/127.0.0.1/$cloister_port"; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3) 2>/dev/null )" && [[ "$response" == *hello* ]]; do sleep 0.02; done
first_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait_for "$app_port"; wait_for "$nginx_port"

rps() { wrk -t 2 -c "$connections" -d "$duration" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'; }
wrk -t 1 -c 4 -d 2s "http://127.0.0.1:$app_port/" >/dev/null   # warm-up (JIT-free app, but page cache and sockets)
direct=$(rps "$app_port"); nginx_rps=$(rps "$nginx_port"); cloister_rps=$(rps "$cloister_port")
printf '%-10s %12s\n' target requests/s direct "$direct" nginx "$nginx_rps" cloister "$cloister_rps"
printf 'cloister/nginx: %.2f (target >= 0.8); cloister run → first answer: %d ms (target < 3000)\n' \
  "$(echo "$cloister_rps / $nginx_rps" | bc -l)" "$first_ms"
printf 'machine: %s CPUs, %s, load %s; wrk -t 2 -c %s -d %s, keep-alive\n' "$(nproc)" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$connections" "$duration"
