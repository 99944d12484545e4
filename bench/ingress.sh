#!/usr/bin/env bash
# Issue 5 benchmark, one run, side by side, wrk with keep-alive against the same sample app (samples/hello):
#   direct   the app on the host, no proxy (context only)
#   nginx    nginx's `stream` TCP proxy in front of that app (the baseline)
#   cloister `cloister run`'s passthrough ingress into the simulated enclave: the host hands each TCP connection to
#            the in-enclave supervisor whole (SCM_RIGHTS), which relays it to the app inside the sandbox
#   relayed  the same with --relay-ingress, Nitro's path: host TCP → vsock (Unix socket) → supervisor → app, two
#            relays where nginx has one (context only: what Nitro's host costs on top)
# Prints requests/s of each and cloister/nginx (target ≥ 0.8). Also prints `cloister run` → first answered request
# (target < 3 s). Needs wrk and nginx with the stream module (apt-get install wrk nginx-light libnginx-mod-stream).
source "$(dirname "${BASH_SOURCE[0]}")/sample-harness.sh"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
require wrk nginx python3 bc
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || { echo "bench: libnginx-mod-stream is required" >&2; exit 1; }

start_app
nginx_port=$(free_port)
start_nginx "load_module /usr/lib/nginx/modules/ngx_stream_module.so;" \
  "stream { server { listen 127.0.0.1:$nginx_port; proxy_pass 127.0.0.1:$app_port; } }"

start=$(date +%s%N)
start_cloister
cloister_port=$(published_port 8080)
until response="$( (exec 3<>"/dev/tcp/127.0.0.1/$cloister_port"; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3) 2>/dev/null )" && [[ "$response" == *hello* ]]; do sleep 0.02; done
first_ms=$(( ($(date +%s%N) - start) / 1000000 ))
start_cloister relayed --relay-ingress
relayed_port=$(published_port 8080 relayed)
wait_for "$app_port"; wait_for "$nginx_port"; wait_for "$relayed_port"

rps() { wrk -t 2 -c "$connections" -d "$duration" "http://127.0.0.1:$1/" | awk '/Requests\/sec/ {print $2}'; }
wrk -t 1 -c 4 -d 2s "http://127.0.0.1:$app_port/" >/dev/null   # warm-up (JIT-free app, but page cache and sockets)
direct=$(rps "$app_port"); nginx_rps=$(rps "$nginx_port"); cloister_rps=$(rps "$cloister_port"); relayed_rps=$(rps "$relayed_port")
printf '%-10s %12s\n' target requests/s direct "$direct" nginx "$nginx_rps" cloister "$cloister_rps" relayed "$relayed_rps"
printf 'cloister/nginx: %.2f (target >= 0.8); relayed/nginx: %.2f; cloister run → first answer: %d ms (target < 3000)\n' \
  "$(echo "$cloister_rps / $nginx_rps" | bc -l)" "$(echo "$relayed_rps / $nginx_rps" | bc -l)" "$first_ms"
machine_line "wrk -t 2 -c $connections -d $duration, keep-alive"
