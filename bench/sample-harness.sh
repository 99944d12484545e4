# Shared by the whole-command benchmarks that drive the sample (samples/hello): sourced, not run.
# Gives: $root, $work (a scratch directory removed on exit, with every started process), require TOOL…, free_port,
# wait_for PORT, start_app (the sample app on the host at $app_port), start_nginx MODULES BODY (nginx, 1 worker, on
# $work/nginx.conf; MODULES goes first, where load_module must be), start_cloister [NAME [RUN-OPTION…]] (cloister run
# on the built sample, both ports published on free host ports; NAME tells runs apart, default "cloister"),
# published_port ENCLAVE-PORT [NAME] (the host port once that run announced it), start_provisioner, machine_line EXTRA.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/cloister-bench.XXXXXX)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

require() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench: nothing on port $1" >&2; exit 1; }

start_app() {
  "$root/samples/hello/build.sh" >/dev/null 2>&1
  app_port=$(free_port)
  PORT=$app_port "$root/samples/hello/publish/hello" >/dev/null 2>&1 &
  pids+=($!)
}

start_nginx() {
  printf '%s\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/nginx.err;\nevents { worker_connections 4096; }\n%s\n' \
    "$1" "$work" "$work" "$2" >"$work/nginx.conf"
  nginx -c "$work/nginx.conf" -g 'daemon off;' &
  pids+=($!)
}

start_cloister() {
  local name="${1:-cloister}"
  "$root/cloister" run "$root/samples/hello/out" --publish 0:8080 --publish 0:8443 "${@:2}" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  echo $! >"$work/$name.pid"
}

published_port() {
  local name="${2:-cloister}" port=""
  until [[ -n "$port" ]]; do
    kill -0 "$(cat "$work/$name.pid")" 2>/dev/null || { echo "bench: cloister run ($name) ended:" >&2; cat "$work/$name.err" >&2; exit 1; }
    port="$(sed -n "s/.*ingress 127.0.0.1:\([0-9]*\) → enclave port $1 .*/\1/p" "$work/$name.err" | head -1)"
    [[ -n "$port" ]] || sleep 0.02
  done
  echo "$port"
}

# A provisioner (SQLite in $work/provisioner) that trusts the simulator's root in $work/sim: sets $provisioner_port and
# $pin (for a manifest's provisioning section), and CLOISTER_CREDENTIALS for the operator commands.
start_provisioner() {
  provisioner_port=$(free_port)
  "$root/cloister" provisioner init "$work/provisioner" --url "https://127.0.0.1:$provisioner_port" >/dev/null
  "$root/cloister" provisioner serve "$work/provisioner" --listen "127.0.0.1:$provisioner_port" --trust-simulator --sim-root "$work/sim" \
    >"$work/provisioner.out" 2>"$work/provisioner.err" &
  pids+=($!)
  wait_for "$provisioner_port"
  pin="$(sed -n 's/.*"pinned_sha256": *"\([0-9a-f]*\)".*/\1/p' "$work/provisioner/operator.json")"
  export CLOISTER_CREDENTIALS="$work/provisioner/operator.json"
}

machine_line() {
  printf 'machine: %s CPUs, %s, load %s; %s\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$1"
}
