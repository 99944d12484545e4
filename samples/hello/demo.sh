#!/usr/bin/env bash
# The main job: build the sample without Docker, run it in the simulator, and check what Cloister promises —
# reproducible PCRs; provisioning: a provisioner releases the deployment's CA and a secret only to an enclave whose
# PCRs it was given, sealed to the enclave's own key; attested TLS: a client verifies, inside the TLS handshake, that
# the certificate chains to the deployment's CA and that its key belongs to an enclave running exactly the PCRs the
# build printed (with a fresh nonce), and only then talks to the app; attestation-bound encryption: data encrypted
# outside with the deployment's public key is read only inside its enclave; ingress reaches the app as the image's user;
# egress is allowed or refused inside the enclave by the manifest; the app's own attestation document verifies under
# the simulated root.
# Needs nothing but bash and the .NET SDK (requests go through bash's /dev/tcp). Exits non-zero if any check fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cloister="$root/cloister"
work="$(mktemp -d /tmp/cloister-demo.XXXXXX)"
run_pid=""
provisioner_pid=""
cleanup() {
  [[ -n "$run_pid" ]] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
  [[ -n "$provisioner_pid" ]] && kill -TERM "$provisioner_pid" 2>/dev/null && wait "$provisioner_pid" 2>/dev/null
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

post() {
  local response
  exec 3<>"/dev/tcp/$address/$port"
  printf 'POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$1" "$address" "${#2}" "$2" >&3
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

# A provisioner (SQLite in its directory) that trusts the local simulator's root, a deployment of the sample with its
# measurements, one secret and one host. The provisioned image is the sample's image and manifest plus a provisioning
# section that pins this provisioner's key: the pin is measured, so this image has its own PCR2.
echo "== starting a provisioner, deploying the sample to it, setting a secret"
provisioner="$work/provisioner"
provisioner_port="$(shuf -i 20000-59999 -n 1)"
while (exec 3<>"/dev/tcp/127.0.0.1/$provisioner_port") 2>/dev/null; do provisioner_port=$((provisioner_port + 1)); done
"$cloister" provisioner init "$provisioner" --url "https://127.0.0.1:$provisioner_port" >"$work/init.out"
pin="$(sed -n 's/.*"pinned_sha256": *"\([0-9a-f]*\)".*/\1/p' "$provisioner/operator.json")"
"$cloister" provisioner serve "$provisioner" --listen "127.0.0.1:$provisioner_port" --trust-simulator >"$work/provisioner.log" 2>&1 &
provisioner_pid=$!
for _ in $(seq 1 300); do
  grep -q "listening" "$work/provisioner.log" && break
  kill -0 "$provisioner_pid" 2>/dev/null || { cat "$work/provisioner.log" >&2; exit 1; }
  sleep 0.1
done
# The provisioned variant also turns on the crypto API (api.crypto): its keys come with the provisioning answer.
sed -e "s#oci-layout:./image#oci-layout:$here/image#" -e 's/^  attestation: true$/  attestation: true\n  crypto: true/' "$here/enclave.yaml" >"$work/enclave.yaml"
printf 'provisioning:\n  url: https://127.0.0.1:%s\n  pinned_sha256: %s\n  token_audience: hello\n' "$provisioner_port" "$pin" >>"$work/enclave.yaml"
"$cloister" build -f "$work/enclave.yaml" -o "$work/out" >/dev/null
measurements="$work/out/measurements.json"
export CLOISTER_CREDENTIALS="$provisioner/operator.json"
"$cloister" deploy --deployment hello --measurements "$measurements" --hostname localhost >/dev/null
secret="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$secret" | "$cloister" secrets set hello HELLO_SECRET >/dev/null
"$cloister" provisioner host add demo-host -o "$work/host.json" >/dev/null
# A card number encrypted outside with the deployment's public key: anyone can do this, only the enclave can undo it.
"$cloister" keys show hello --output "$work/hello.key.json" >/dev/null
card="$(printf '{"number":"4111 1111 1111 1111"}' | "$cloister" encrypt --deployment hello --public-key "$work/hello.key.json")"
echo "   provisioner on 127.0.0.1:$provisioner_port (pin ${pin:0:16}…), deployment hello: PCR2 $(grep -o '"PCR2": "[0-9a-f]\{16\}' "$measurements" | cut -c10-)…, secret HELLO_SECRET set"

# The enclave's ports are published on any free ports: 8443 is attested TLS, 8080 passthrough. The demo reaches them on
# 127.0.0.2, the manifest's allowed egress destination, so the app can reach itself through proxy → host forwarder →
# ingress without another server; and on localhost, the name the deployment's CA is constrained to, which a client
# checks against the certificate. The listeners are on every address (0.0.0.0) for the demo's duration to serve both.
address=127.0.0.2
echo "== running it in the simulator"
start=$(date +%s%N)
"$cloister" run "$work/out" --provisioner-credentials "$work/host.json" --ingress-address 0.0.0.0 --publish 0:8443 --publish 0:8080 --allow-private-egress >"$work/stdout" 2>"$work/stderr" &
run_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(sed -n "s/.*ingress 0.0.0.0:\([0-9]*\) → enclave port 8080 .*/\1/p" "$work/stderr" | head -1)"
  [[ -n "$port" ]] && greeting="$(get / 2>/dev/null)" && [[ "$greeting" == *hello* ]] && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "   first answer after ${ready_ms} ms on $address:$port: $greeting"
tls_port="$(sed -n "s/.*ingress 0.0.0.0:\([0-9]*\) → enclave port 8443 .*/\1/p" "$work/stderr" | head -1)"
sim_root="$HOME/.cloister/sim/root.pem"

echo "== checks"
received="$(get /secret)"
secret_sha256="$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)"
check "the app received HELLO_SECRET from the provisioner: the SHA-256 it reports is the one of the value set (the value itself never left the enclave)" \
  '[[ "$received" == *"\"sha256\":\"$secret_sha256\""* ]]'
card_summary="$(post /vault/card "$card")"
check "a card number encrypted outside with the deployment's public key (${card:11:24}…) is read inside the enclave, which answers only its last four digits ($card_summary)" \
  '[[ "$card" != *4111* && "$card_summary" == *"\"last4\":\"1111\""* ]]'
# One base64url character of the ciphertext changed (A↔B flips one of its bits).
tampered="$(sed 's/\(cl:.\{150\}\)A/\1B/; t; s/\(cl:.\{150\}\)./\1A/' <<<"$card")"
tampered_answer="$(post /vault/card "$tampered")"
check "the same ciphertext with one character changed is refused inside with its reason, not read ($tampered_answer)" \
  '[[ "$tampered_answer" == *"\"reason\":\"tampered\""* ]]'
"$cloister" provisioner audit >"$work/audit.out" 2>&1 || true
check "the provisioner's audit log records the grant to the enclave, with its PCRs and host, and never the value" \
  'grep -q "granted" "$work/audit.out" && grep -q "demo-host" "$work/audit.out" && ! grep -q "$secret" "$work/audit.out" "$work/provisioner.log" "$work/stderr" "$work/stdout"'
"$cloister" attest "https://localhost:$tls_port" --ca "$provisioner/root-ca.pem" --pcrs "$measurements" --root "$sim_root" --nonce --get / >"$work/attest.out" 2>&1 || true
sed 's/^/        /' "$work/attest.out"; echo
check "attested TLS on localhost:$tls_port: the chain leads to the provisioner's root through the deployment's name-constrained CA, the certificate's key is the enclave's, with the build's PCRs and a fresh nonce, and GET / over it reaches the app" \
  '[[ "$(head -1 "$work/attest.out")" == "result       attested:"* && "$(tail -1 "$work/attest.out")" == *"hello from inside the enclave"* ]]'
check "the same server is refused when only the AWS root is trusted (nothing trusts the simulator by default)" \
  '! "$cloister" attest "https://localhost:$tls_port" --ca "$provisioner/root-ca.pem" --pcrs "$measurements" >/dev/null 2>&1'
check "the passthrough port cannot pass for attested TLS (a downgrade is refused)" \
  '! "$cloister" attest "https://localhost:$port" --ca "$provisioner/root-ca.pem" --pcrs "$measurements" --root "$sim_root" >/dev/null 2>&1'
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
