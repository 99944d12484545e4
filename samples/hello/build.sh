#!/usr/bin/env bash
# Builds the sample enclave without Docker, timing each step:
#   1. dotnet publish: the NativeAOT executable (linux-x64), linked with the pinned toolchain the CLI's build fetched,
#   2. cloister image pack: executable + the pinned glibc and OpenSSL → OCI layout samples/hello/image,
#   3. cloister build: that image → samples/hello/out/hello.eif and measurements.json.
# SOURCE_DATE_EPOCH (default 0) pins every file time; with the pinned link and libraries, the same commit gives the same
# PCRs from any checkout on any machine (samples/hello/README.md lists them; docs/reproducible-apps.md says how).
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
# The CLI's build fetches the pinned toolchain (and the runtime whose libraries image pack takes).
step "cloister (CLI and runtime)" "$cloister" version >/dev/null
toolchain="$root/src/Cloister.Cli/obj/toolchain"
step "publish (NativeAOT)" dotnet publish "$here/Hello.csproj" -c Release -o "$publish" --nologo -v quiet \
  -p:CppCompilerAndLinker=gcc -p:CppLinker="$toolchain/bin/gcc-12" -p:ObjCopyName="$toolchain/bin/objcopy" \
  -p:CloisterToolchainLockHash="$(cat "$toolchain/stamp")"
rm -rf "$here/image"
step "image pack" "$cloister" image pack \
  --executable "$publish/hello" \
  --with-openssl --pinned-libraries \
  --workdir /app --user 1000:1000 \
  --env PORT=8080 --expose 8080 \
  --output "oci-layout:$here/image:latest"
step "cloister build" "$cloister" build -f "$here/enclave.yaml" -o "$here/out"
echo "build.sh: done in $SECONDS s; run it with: ./cloister run samples/hello/out --publish 8080:8080" >&2
