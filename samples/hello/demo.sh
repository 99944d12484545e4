#!/usr/bin/env bash
# The main job: build the sample without Docker, run it in the simulator, and check what Cloister promises —
# attested TLS: a client verifies, inside the TLS handshake, that the certificate's key belongs to an enclave running
# exactly the PCRs the build printed (with a fresh nonce), and only then talks to the app; ingress reaches the app as
# the image's user; egress is allowed or refused inside the enclave by the manifest; the app's own attestation
# document verifies under the simulated root.
# Needs nothing but bash and the .NET SDK (requests go through bash's /dev/tcp). Exits non-zero if any check fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cloister="$root/cloister"
work="$(mktemp -d /tmp/cloister-demo.XXXXXX)"
run_pid=""
cleanup() {
  [[ -n "$run_pid" ]] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
failures=0
check() { if eval "$2"; then echo "  ok    $1"; passed=$((passed + 1)); else echo "  FAIL  $1"; failures=$((failures + 1)); fi; }

# GET PATH from the enclave's ingress; prints the body.
get() {
  local response
  exec 3<>"/dev/tcp/$address/$port"
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$address" >&3
  response="$(cat <&3)"
  exec 3<&-
  printf '%s' "${response#*$'\r\n\r\n'}"
}

# The simulator isolates the enclave with bubblewrap; without it `cloister run` falls back to an unisolated process,
# which the isolation check below reports as a failure rather than passing silently.
if ! command -v bwrap >/dev/null 2>&1; then
  if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    echo "== installing bubblewrap, the simulator's sandbox (Debian package bubblewrap)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1; } \
      || echo "   could not install bubblewrap: the enclave will run unisolated and the isolation check will fail"
  else
    echo "== bubblewrap (bwrap) is not installed and this is not root: the enclave will run unisolated and the isolation check will fail (install the Debian package bubblewrap)"
  fi
fi

echo "== building the sample (NativeAOT publish → cloister image pack → cloister build)"
"$here/build.sh"
# The sample is pinned end to end (its link, its libraries, the runtime, the file times): every checkout of this commit,
# on any machine, measures what measurements.expected.json publishes.
check "the sample measures exactly the PCRs and runtime samples/hello/measurements.expected.json publishes ($(grep -o '"PCR2": "[0-9a-f]\{12\}' "$here/out/measurements.json" | cut -c10-)…)" \
  'cmp -s "$here/out/measurements.json" "$here/measurements.expected.json" || { diff "$here/measurements.expected.json" "$here/out/measurements.json" >&2; false; }'

# The enclave's ports are published on 127.0.0.2 (any free ports): 8443 is attested TLS, 8080 passthrough. The same
# address is the manifest's allowed egress destination, so the app can reach itself through proxy → host forwarder →
# ingress without another server.
address=127.0.0.2
echo "== running it in the simulator"
start=$(date +%s%N)
"$cloister" run "$here/out" --ingress-address "$address" --publish 0:8443 --publish 0:8080 --allow-private-egress >"$work/stdout" 2>"$work/stderr" &
run_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(sed -n "s/.*ingress $address:\([0-9]*\) → enclave port 8080 .*/\1/p" "$work/stderr" | head -1)"
  [[ -n "$port" ]] && greeting="$(get / 2>/dev/null)" && [[ "$greeting" == *hello* ]] && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "   first answer after ${ready_ms} ms on $address:$port: $greeting"
tls_port="$(sed -n "s/.*ingress $address:\([0-9]*\) → enclave port 8443 .*/\1/p" "$work/stderr" | head -1)"
measurements="$here/out/measurements.json"
sim_root="$HOME/.cloister/sim/root.pem"

echo "== checks"
"$cloister" attest "https://$address:$tls_port" --pcrs "$measurements" --root "$sim_root" --nonce --get / >"$work/attest.out" 2>&1 || true
sed 's/^/        /' "$work/attest.out"; echo
check "attested TLS on $address:$tls_port: the certificate's key is the enclave's, with the build's PCRs and a fresh nonce, and GET / over it reaches the app" \
  '[[ "$(head -1 "$work/attest.out")" == "result       attested:"* && "$(tail -1 "$work/attest.out")" == *"hello from inside the enclave"* ]]'
check "the same server is refused when only the AWS root is trusted (nothing trusts the simulator by default)" \
  '! "$cloister" attest "https://$address:$tls_port" --pcrs "$measurements" >/dev/null 2>&1'
check "the passthrough port cannot pass for attested TLS (a downgrade is refused)" \
  '! "$cloister" attest "https://$address:$port" --pcrs "$measurements" --root "$sim_root" >/dev/null 2>&1'
check "the enclave is isolated: the app sees its own process tree and a network of loopback only ($(sed -n 's/.*\("pid":[0-9]*\).*\("network_interfaces":\[[^]]*\]\).*/\1 \2/p' <<<"$greeting"))" \
  '[[ "$greeting" =~ \"pid\":([0-9]+) ]] && ((BASH_REMATCH[1] < 100)) && [[ "$greeting" == *"\"network_interfaces\":[\"lo\"]"* ]]'
check "the app answers through ingress as the image's user in its workdir" '[[ "$greeting" == *"\"uid\":1000"* && "$greeting" == *"\"working_directory\":\"/app\""* ]]'
allowed="$(get "/egress?url=http://$address:$port/")"
check "egress to an allowed host succeeds ($allowed)" '[[ "$allowed" == *"\"status\":200"* ]]'
denied="$(get "/egress?url=http://127.0.0.3/")"
check "egress to any other host is refused inside the enclave ($denied)" '[[ "$denied" == *"\"status\":403"* && "$denied" == *"not allowed"* ]]'
nonce="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
get "/attestation?nonce=$nonce" | sed -n 's/.*"attestation_doc":"\([^"]*\)".*/\1/p' | sed 's/\\u002B/+/g; s/\\u002F/\//g' | base64 -d >"$work/doc.cbor"
check "the attestation document verifies under the simulated root with the build's PCRs and our nonce" \
  '"$cloister" verify-doc "$work/doc.cbor" --root "$sim_root" --pcrs "$measurements" --nonce "$nonce" >/dev/null'
check "the same document is refused under the AWS root (nothing trusts the simulator by default)" \
  '! "$cloister" verify-doc "$work/doc.cbor" >/dev/null 2>&1'
kill -TERM "$run_pid"
set +e
wait "$run_pid"
code=$?
set -e
run_pid=""
check "SIGTERM stops the enclave gracefully with the app's exit code 0" '[[ $code -eq 0 ]]'

echo "== $passed checks passed, $failures failed"
exit $(( failures > 0 ))
