#!/usr/bin/env bash
# Issue 6 benchmark: `cloister build` from a ~500 MB (unpacked) multi-layer gzip image, side by side with the floor
# of any build — decompressing every layer and hashing it once (`zcat layers | sha384sum`) — in one run.
# Prints both wall times, the ratio (target ≤ 2.0) and our peak RSS (target < 256 MiB).
# The image is made with umoci from real files (the .NET SDK on this machine: binaries, assemblies, text), in three
# layers, so it compresses like a real application image.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-3}"
work="$(mktemp -d /tmp/cloister-bench-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
for tool in umoci /usr/bin/time sha384sum zcat; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required (bash .ci/install)" >&2; exit 1; }
done

sdk_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
echo "== making the image from $sdk_dir (umoci, gzip)…" >&2
umoci init --layout "$work/image" >/dev/null
umoci new --image "$work/image:bench" >/dev/null
umoci unpack --image "$work/image:bench" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
add_layer() { cp -a "$@" "$rootfs/opt/"; umoci repack --refresh-bundle --image "$work/image:bench" "$work/bundle" >/dev/null; }
mkdir -p "$rootfs/opt"
add_layer "$sdk_dir/shared"
mapfile -t sdk_parts < <(find "$sdk_dir/sdk" -mindepth 2 -maxdepth 2 | sort)
half=$(( ${#sdk_parts[@]} / 2 ))
mkdir -p "$rootfs/opt/sdk-a" "$rootfs/opt/sdk-b"
cp -a "${sdk_parts[@]:0:$half}" "$rootfs/opt/sdk-a/"; umoci repack --refresh-bundle --image "$work/image:bench" "$work/bundle" >/dev/null
cp -a "${sdk_parts[@]:$half}" "$rootfs/opt/sdk-b/"; umoci repack --refresh-bundle --image "$work/image:bench" "$work/bundle" >/dev/null
umoci config --image "$work/image:bench" --config.cmd /opt/shared/app >/dev/null
rm -rf "$work/bundle"
cat > "$work/enclave.yaml" <<YAML
name: bench
image: oci-layout:./image:bench
YAML

manifest_digest="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$work/image/index.json")"
mapfile -t layers < <(python3 -c 'import json,sys; [print(l["digest"].split(":")[1]) for l in json.load(open(sys.argv[1]))["layers"]]' "$work/image/blobs/sha256/$manifest_digest")
compressed=0; unpacked=0
for layer in "${layers[@]}"; do
  compressed=$(( compressed + $(stat -c %s "$work/image/blobs/sha256/$layer") ))
  unpacked=$(( unpacked + $(zcat "$work/image/blobs/sha256/$layer" | wc -c) ))
done
printf '== image: %d layers, %d MiB compressed, %d MiB unpacked\n' "${#layers[@]}" $((compressed >> 20)) $((unpacked >> 20))

# The CLI is built once up front so that its build is not measured.
"$root/cloister" --help >/dev/null

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
baseline() { for layer in "${layers[@]}"; do zcat "$work/image/blobs/sha256/$layer"; done | sha384sum; }
ours() { /usr/bin/time -f '%M' -o "$work/rss" "$root/cloister" build -f "$work/enclave.yaml" -o "$work/out" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; }

printf '%-4s %12s %12s %8s %12s\n' run zcat+sha384 cloister ratio peak-RSS
best_ratio=99; worst_rss=0
for run in $(seq 1 "$runs"); do
  b=$(seconds baseline)
  o=$(seconds ours)
  rss=$(( $(cat "$work/rss") / 1024 ))
  ratio=$(echo "$o / $b" | bc -l)
  printf '%-4s %11.2fs %11.2fs %7.2fx %9d MiB\n' "$run" "$b" "$o" "$ratio" "$rss"
  (( rss > worst_rss )) && worst_rss=$rss
  if (( $(echo "$ratio < $best_ratio" | bc -l) )); then best_ratio=$ratio; fi
done
printf 'best ratio %.2fx (target ≤ 2.0), worst peak RSS %d MiB (target < 256)\n' "$best_ratio" "$worst_rss"
