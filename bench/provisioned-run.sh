#!/usr/bin/env bash
# Issue 13 benchmark: the time provisioning adds to `cloister run` → first answered request. The sample (samples/hello)
# is run RUNS times each way, alternating, in one run: standalone (the image build.sh makes), and provisioned (the same
# image and manifest plus a provisioning section, a provisioner on this machine with SQLite, the sample deployed with
# one secret): token before boot, NSM document, pinned TLS through the relay, the answer opened, the secret in the
# app's environment. Prints each time, the medians and the difference.
source "$(dirname "${BASH_SOURCE[0]}")/sample-harness.sh"
runs="${RUNS:-5}"
require python3
"$root/samples/hello/build.sh" >/dev/null 2>&1

start_provisioner
sed "s#oci-layout:./image#oci-layout:$root/samples/hello/image#" "$root/samples/hello/enclave.yaml" >"$work/enclave.yaml"
printf 'provisioning:\n  url: https://127.0.0.1:%s\n  pinned_sha256: %s\n  token_audience: hello\n' "$provisioner_port" "$pin" >>"$work/enclave.yaml"
"$root/cloister" build -f "$work/enclave.yaml" -o "$work/provisioned" >/dev/null 2>&1
"$root/cloister" deploy --deployment hello --measurements "$work/provisioned/measurements.json" --hostname localhost >/dev/null
printf 'bench-secret' | "$root/cloister" secrets set hello HELLO_SECRET >/dev/null
"$root/cloister" provisioner host add bench-host -o "$work/host.json" >/dev/null

answered() { (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && grep -q hello <&3) 2>/dev/null; }

# Milliseconds from starting `cloister run` to the first answered GET / on the passthrough port.
first_answer() {
  local name=$1 start port
  start=$(date +%s%N)
  "$root/cloister" run "${@:2}" --sim-root "$work/sim" --publish 0:8080 --publish 0:8443 >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  port=""
  until [[ -n "$port" ]] && answered "$port"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench: cloister run ($name) ended:" >&2; cat "$work/$name.err" >&2; exit 1; }
    port="$(sed -n "s/.*ingress 127.0.0.1:\([0-9]*\) → enclave port 8080 .*/\1/p" "$work/$name.err" | head -1)"
    sleep 0.01
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

printf '%-4s %12s %12s\n' run standalone provisioned
standalone=(); provisioned=()
for run in $(seq 1 "$runs"); do
  s=$(first_answer standalone "$root/samples/hello/out")
  p=$(first_answer provisioned "$work/provisioned" --provisioner-credentials "$work/host.json")
  standalone+=("$s"); provisioned+=("$p")
  printf '%-4s %10d ms %10d ms\n' "$run" "$s" "$p"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ms=$(median "${standalone[@]}"); mp=$(median "${provisioned[@]}")
printf 'median: standalone %d ms, provisioned %d ms: provisioning adds %d ms to cloister run → first answer\n' "$ms" "$mp" $((mp - ms))
machine_line "RUNS=$runs"
