#!/usr/bin/env bash
# Builds the sample enclave without Docker, timing each step:
#   1. dotnet publish: the NativeAOT executable (linux-x64),
#   2. cloister image pack: executable + its libraries + OpenSSL + CA certificates → OCI layout samples/hello/image,
#   3. cloister build: that image → samples/hello/out/hello.eif and measurements.json.
# SOURCE_DATE_EPOCH (default 0) pins every file time, so the same inputs give the same PCRs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cloister="$root/cloister"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"

step() {
  local name="$1"
  shift
  local start=$SECONDS
  "$@"
  echo "build.sh: $name took $((SECONDS - start)) s" >&2
}

publish="$here/publish"
step "publish (NativeAOT)" dotnet publish "$here/Hello.csproj" -c Release -o "$publish" --nologo -v quiet
rm -rf "$here/image"
step "image pack" "$cloister" image pack \
  --executable "$publish/hello" \
  --with-openssl --pinned-libraries --with-ca-certificates \
  --workdir /app --user 1000:1000 \
  --env PORT=8080 --expose 8080 \
  --output "oci-layout:$here/image:latest"
step "cloister build" "$cloister" build -f "$here/enclave.yaml" -o "$here/out"
echo "build.sh: done in $SECONDS s; run it with: ./cloister run samples/hello/out --publish 8080:8080" >&2
