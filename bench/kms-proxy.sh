#!/usr/bin/env bash
# Issue 15 benchmark, one run, side by side: CALLS Decrypt calls, CONCURRENCY at a time, by an unchanged AWS SDK (the
# bench mode of a KMS test app, tests/KmsApps/README.md), against the test KMS server (tests/Cloister.Kms.TestServer):
#   direct  the app on the host, straight to the server over TLS (the baseline: what the SDK costs without Cloister),
#   proxied the app inside the simulated enclave, through the supervisor's KMS proxy on 127.0.0.1:9000 (the proxy's
#           checks, an attestation document and a fresh recipient key per call, TLS to the server through the host,
#           the CMS unwrap), same server, same key, same ciphertext.
# Prints both rates and proxied/direct. APP=dotnet (default; the NativeAOT app) or js; CALLS (default 500), CONCURRENCY
# (default 8). Needs node (APP=js), python3, and the JS app's packages (bash .ci/install).
source "$(dirname "${BASH_SOURCE[0]}")/sample-harness.sh"
app="${APP:-dotnet}"
calls="${CALLS:-500}"
concurrency="${CONCURRENCY:-8}"
require python3 bc
[[ "$app" == dotnet || "$app" == js ]] || { echo "bench: APP is dotnet or js, not '$app'" >&2; exit 2; }
server_dll="$root/tests/Cloister.Kms.TestServer/bin/Release/net10.0/Cloister.Kms.TestServer.dll"
dotnet build -c Release "$root/tests/Cloister.Kms.TestServer" >/dev/null

# The app, published where KmsAppImage (the tests' image builder) publishes it, or the JS app on this machine's node.
if [[ "$app" == dotnet ]]; then
  dotnet publish "$root/tests/KmsApps/dotnet/KmsApp.csproj" -c Release --nologo -nodeReuse:false \
    --artifacts-path "$root/artifacts/kms-apps" -o "$root/artifacts/kms-apps/publish" >/dev/null
  run_app=("$root/artifacts/kms-apps/publish/kms-app")
else
  require node
  [[ -f "$root/tests/KmsApps/js/node_modules/@aws-sdk/client-kms/package.json" ]] || { echo "bench: run bash .ci/install first (npm ci in tests/KmsApps/js)" >&2; exit 1; }
  run_app=(node "$root/tests/KmsApps/js/app.mjs")
fi

# The test KMS server on a free port, trusting the simulator's root in $work/sim (created here, used by the run below);
# it prints KEY=VALUE lines (its URL, CA file, keys and the credentials it accepts) once it listens. Its key policies
# stay "allow all": this measures the proxy's path, not a policy (the end-to-end tests hold the real policy).
dotnet "$server_dll" --listen 127.0.0.1:0 --sim-root "$work/sim" >"$work/kms.out" 2>"$work/kms.err" &
pids+=($!)
for _ in $(seq 1 200); do grep -q '^KMS_KEY_AGREEMENT_KEY_ALIAS=' "$work/kms.out" && break; sleep 0.1; done
grep -q '^KMS_URL=' "$work/kms.out" || { echo "bench: the test KMS server did not start:" >&2; cat "$work/kms.err" >&2; exit 1; }
set -a; source "$work/kms.out"; set +a
kms_url="$KMS_URL"
kms_port="$(sed 's|.*:\([0-9]*\)/*$|\1|' <<<"$kms_url")"
kms_ca="$KMS_CA_FILE"
kms_key="$KMS_SYMMETRIC_KEY_ARN"
access_key_id="$KMS_ACCESS_KEY_ID"
secret_access_key="$KMS_SECRET_ACCESS_KEY"
region="$KMS_REGION"

# One ciphertext for both halves, so each Decrypt is the same work.
ciphertext="$(AWS_CA_BUNDLE="$kms_ca" SSL_CERT_FILE="$kms_ca" NODE_EXTRA_CA_CERTS="$kms_ca" "${run_app[@]}" --endpoint "$kms_url" --region "$region" --key "$kms_key" \
  --access-key-id "$access_key_id" --secret-access-key "$secret_access_key" --ops Encrypt 2>/dev/null | sed -n 's/^KMS [a-z]* Encrypt OK ciphertext=\([^ ]*\) .*/\1/p')"
[[ -n "$ciphertext" ]] || { echo "bench: Encrypt against $kms_url failed" >&2; exit 1; }

# rate LINE: calls/s from a "KMS APP bench Decrypt … calls_per_second=R" line; a run with errors stops the benchmark.
rate() {
  local line
  line="$(grep '^KMS [a-z]* bench Decrypt ' <<<"$1" || true)"
  [[ -n "$line" && "$line" == *" errors=0 "* ]] || { echo "bench: the $2 run failed:" >&2; echo "$1" >&2; exit 1; }
  sed 's/.*calls_per_second=\([0-9.]*\).*/\1/' <<<"$line"
}

# The direct half. The CA: node reads NODE_EXTRA_CA_CERTS; the AWS SDK for .NET takes AWS_CA_BUNDLE over OpenSSL's
# SSL_CERT_FILE (and a machine may set it to its system bundle), so both are set.
direct_out="$(AWS_CA_BUNDLE="$kms_ca" SSL_CERT_FILE="$kms_ca" NODE_EXTRA_CA_CERTS="$kms_ca" "${run_app[@]}" bench --endpoint "$kms_url" --region "$region" --key "$kms_key" \
  --access-key-id "$access_key_id" --secret-access-key "$secret_access_key" --ciphertext "$ciphertext" --calls "$calls" --concurrency "$concurrency" 2>&1)"
direct=$(rate "$direct_out" direct)

# The proxied half: an image with the app and the server's CA, kms_proxy naming the key, run in the simulator; the
# app reads its settings from the manifest's env and prints its bench line on the console.
mkdir -p "$work/image-files/etc"
cp "$kms_ca" "$work/image-files/etc/kms-ca.pem"
if [[ "$app" == dotnet ]]; then
  "$root/cloister" image pack --executable "$root/artifacts/kms-apps/publish/kms-app" --path /app/dotnet/kms-app --with-openssl \
    --add "$work/image-files/etc/kms-ca.pem:/etc/kms-ca.pem" --output "oci-layout:$work/image:bench" >/dev/null
  cmd='["bench"]' # after the image's entrypoint, the executable
else
  "$root/cloister" image pack --executable "$(command -v node)" --path /usr/bin/node --add "$root/tests/KmsApps/js:/app/js" \
    --add "$work/image-files/etc/kms-ca.pem:/etc/kms-ca.pem" --output "oci-layout:$work/image:bench" >/dev/null
  cmd='["/app/js/app.mjs", "bench"]' # after the image's entrypoint, node
fi
cat >"$work/enclave.yaml" <<EOF
name: kms-bench
image: oci-layout:$work/image:bench
cmd: $cmd
env:
  HOME: /tmp
  KMS_KEY: "$kms_key"
  KMS_REGION: "$region"
  KMS_CIPHERTEXT: "$ciphertext"
  KMS_CALLS: "$calls"
  KMS_CONCURRENCY: "$concurrency"
resources:
  cpus: 2
  memory_mib: 1024
kms_proxy:
  region: $region
  allow: [Decrypt, Encrypt]
  keys: ["$kms_key"]
  endpoint: https://localhost:$kms_port
  ca_file: /etc/kms-ca.pem
restart: never
EOF
"$root/cloister" build -f "$work/enclave.yaml" -o "$work/out" >/dev/null
# The host serves its credentials to the proxy (vsock 7004) from the SDK's default chain: the environment below. The
# server is on loopback, which the host's egress forwarder reaches only with --allow-private-egress.
proxied_out="$(AWS_ACCESS_KEY_ID="$access_key_id" AWS_SECRET_ACCESS_KEY="$secret_access_key" \
  "$root/cloister" run "$work/out" --sim-root "$work/sim" --allow-private-egress --grace-period 1 2>"$work/cloister.err" || true)"
proxied=$(rate "$proxied_out$(cat "$work/cloister.err")" proxied)

printf '%-44s %12s\n' case calls/s
printf '%-44s %12.1f\n' "direct: $app app -> test KMS (TLS)" "$direct" "proxied: $app app -> kms_proxy -> test KMS" "$proxied"
printf 'Decrypt, %s calls, %s at a time, %s app: proxied %.1f calls/s = %.2fx direct (%.1f)\n' \
  "$calls" "$concurrency" "$app" "$proxied" "$(echo "$proxied / $direct" | bc -l)" "$direct"
machine_line "test KMS server on this machine; both halves on the same 2 cores"
