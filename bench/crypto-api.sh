#!/usr/bin/env bash
# Issue 14 benchmark, one run, side by side: the crypto API (POST /encrypt and /decrypt on 127.0.0.1:9999 inside the
# simulated enclave of the provisioned sample, api.crypto on) driven by wrk from inside the enclave's network namespace
# (nsenter; the API answers on the enclave's loopback only), against the baseline: raw AES-256-GCM of the same bytes in
# one .NET process (bench/Cloister.Benchmarks aes-gcm), on the same 2 cores.
#   small  a 1 KB JSON document of 20 string leaves: requests/s (target >= 20,000)
#   large  1 MB, application/octet-stream (encrypted whole): MB/s of plaintext (target >= 0.5x raw AES-GCM)
# Needs wrk, nsenter (util-linux) and python3.
source "$(dirname "${BASH_SOURCE[0]}")/sample-harness.sh"
duration="${DURATION:-10s}"
require wrk nsenter python3 bc
"$root/samples/hello/build.sh" >/dev/null 2>&1
dotnet build -c Release "$root/bench/Cloister.Benchmarks" >/dev/null
benchmarks="$root/bench/Cloister.Benchmarks/bin/Release/net10.0/Cloister.Benchmarks.dll"

start_provisioner
sed -e "s#oci-layout:./image#oci-layout:$root/samples/hello/image#" -e 's/^  attestation: true$/  attestation: true\n  crypto: true/' \
  "$root/samples/hello/enclave.yaml" >"$work/enclave.yaml"
printf 'provisioning:\n  url: https://127.0.0.1:%s\n  pinned_sha256: %s\n  token_audience: hello\n' "$provisioner_port" "$pin" >>"$work/enclave.yaml"
"$root/cloister" build -f "$work/enclave.yaml" -o "$work/crypto" >/dev/null 2>&1
"$root/cloister" deploy --deployment hello --measurements "$work/crypto/measurements.json" --hostname localhost >/dev/null
"$root/cloister" provisioner host add bench-host -o "$work/host.json" >/dev/null
"$root/cloister" run "$work/crypto" --provisioner-credentials "$work/host.json" --sim-root "$work/sim" --publish 0:8080 >"$work/cloister.out" 2>"$work/cloister.err" &
pids+=($!)
echo $! >"$work/cloister.pid"
wait_for "$(published_port 8080)"

# The in-enclave supervisor: its network namespace is the enclave's.
self_ns="$(readlink /proc/self/ns/net)"
enclave_pid=""
for _ in $(seq 1 100); do
  for pid in $(pgrep -f /cloister/bin/cloister-enclave); do
    [[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$self_ns" ]] && { enclave_pid=$pid; break 2; }
  done
  sleep 0.1
done
[[ -n "$enclave_pid" ]] || { echo "bench: no process of the enclave found" >&2; exit 1; }
inside() { nsenter -t "$enclave_pid" -n "$@"; }

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
doc = {f"field{i:02}": f"value {i:02} " + "x" * 28 for i in range(20)}
open(f"{work}/small.json", "w").write(json.dumps(doc, separators=(",", ":")))
open(f"{work}/large.bin", "wb").write(os.urandom(1 << 20))
PY
post() { inside python3 -c 'import sys, urllib.request; r = urllib.request.Request("http://127.0.0.1:9999" + sys.argv[1], data=open(sys.argv[2], "rb").read(), headers={"Content-Type": sys.argv[3]}); sys.stdout.buffer.write(urllib.request.urlopen(r).read())' "$@"; }
post /encrypt "$work/small.json" application/json >"$work/small.sealed"
post /encrypt "$work/large.bin" application/octet-stream >"$work/large.sealed"
[[ "$(post /decrypt "$work/small.sealed" application/json)" == "$(cat "$work/small.json")" ]] || { echo "bench: the small document does not round-trip" >&2; exit 1; }

rps() { # PATH BODY-FILE CONTENT-TYPE CONNECTIONS [DURATION [PORT]]
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "%s"\nlocal f = io.open("%s", "rb"); wrk.body = f:read("*a"); f:close()\n' "$3" "$2" >"$work/post.lua"
  inside wrk -t "${THREADS:-1}" -c "$4" -d "${5:-$duration}" -s "$work/post.lua" "http://127.0.0.1:${6:-9999}$1" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "bench: non-2xx answers" > "/dev/stderr"; exit 1}'
}
small_size=$(stat -c %s "$work/small.json")
rps /encrypt "$work/small.json" application/json 32 2s >/dev/null   # warm-up
encrypt_small=$(rps /encrypt "$work/small.json" application/json 32)
decrypt_small=$(rps /decrypt "$work/small.sealed" application/json 32)
encrypt_large=$(THREADS=2 rps /encrypt "$work/large.bin" application/octet-stream 8)
decrypt_large=$(THREADS=2 rps /decrypt "$work/large.sealed" application/octet-stream 8)
raw() { dotnet "$benchmarks" aes-gcm "$1" "${duration%s}" 2; }
# The transport's ceiling: a Kestrel that only echoes the body back, in the same network namespace, same wrk.
echo_port=$(free_port)
inside dotnet "$benchmarks" echo "$echo_port" >/dev/null 2>&1 &
pids+=($!)
until inside bash -c "exec 3<>/dev/tcp/127.0.0.1/$echo_port" 2>/dev/null; do sleep 0.1; done
echo_large=$(THREADS=2 rps "" "$work/large.bin" application/octet-stream 8 "${duration}" "$echo_port")
raw_small=$(raw "$work/small.json"); raw_large=$(raw "$work/large.bin")
raw_small_ops=$(awk '{print $1}' <<<"$raw_small"); raw_large_mbs=$(awk '{print $3}' <<<"$raw_large")
mbs() { echo "$1 * 1.048576" | bc -l; }
printf '%-28s %14s %10s\n' case requests/s MB/s
printf '%-28s %14.0f %10s\n' "/encrypt 1 KB JSON (20 leaves)" "$encrypt_small" "" "/decrypt 1 KB JSON (20 leaves)" "$decrypt_small" ""
printf '%-28s %14.0f %10.0f\n' "/encrypt 1 MB octet-stream" "$encrypt_large" "$(mbs "$encrypt_large")" "/decrypt 1 MB octet-stream" "$decrypt_large" "$(mbs "$decrypt_large")"
printf '%-28s %14.0f %10.0f\n' "Kestrel echo 1 MB (no cipher)" "$echo_large" "$(mbs "$echo_large")"
printf '%-28s %14.0f %10s\n' "raw AES-GCM $small_size B (2 thr)" "$raw_small_ops" ""
printf '%-28s %14s %10.0f\n' "raw AES-GCM 1 MB (2 threads)" "" "$raw_large_mbs"
printf 'small: /encrypt %.0f, /decrypt %.0f requests/s (target >= 20000); large: /encrypt %.2fx, /decrypt %.2fx raw AES-GCM (target >= 0.5), %.2fx and %.2fx of the echo\n' \
  "$encrypt_small" "$decrypt_small" "$(echo "$(mbs "$encrypt_large") / $raw_large_mbs" | bc -l)" "$(echo "$(mbs "$decrypt_large") / $raw_large_mbs" | bc -l)" \
  "$(echo "$encrypt_large / $echo_large" | bc -l)" "$(echo "$decrypt_large / $echo_large" | bc -l)"
machine_line "wrk inside the enclave's network namespace, -t 1 -c 32 (small) / -t 2 -c 8 (large), -d $duration, keep-alive"
