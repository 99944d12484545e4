#!/usr/bin/env bash
# Measures a 1 GiB EIF two ways, side by side: `sha384sum` over the file (one SHA-384 pass, the floor) and
# `cloister describe` (CRC-32 + PCR0 + PCR1/PCR2, i.e. two SHA-384 passes over the measured bytes, run on two
# threads). Prints both wall times, their ratio and cloister's peak RSS. Random inputs live in a temp dir that
# is deleted on exit.
# Usage: bench/eif-measure.sh [size-MiB, default 1024] [runs, default 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mib="${1:-1024}"
runs="${2:-3}"

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time (for peak RSS)…" >&2
  apt-get install -y time >/dev/null
fi

"$root/cloister" --help >/dev/null   # builds the Release CLI if needed
cli=(dotnet "$root/.cloister-cli/bin/cloister.dll")

work="$(mktemp -d "${TMPDIR:-/tmp}/cloister-eif-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

kernel_mib=16
bootstrap_mib=1
customer_mib=$((size_mib - kernel_mib - bootstrap_mib))
head -c $((kernel_mib << 20)) /dev/urandom >"$work/kernel"
head -c $((bootstrap_mib << 20)) /dev/urandom >"$work/bootstrap.cpio"
head -c $((customer_mib << 20)) /dev/urandom >"$work/customer.cpio"

now() { date +%s.%N; }
build_start=$(now)
SOURCE_DATE_EPOCH=0 "${cli[@]}" eif build --kernel "$work/kernel" --cmdline "console=ttyS0" \
  --ramdisk "$work/bootstrap.cpio" --ramdisk "$work/customer.cpio" --output "$work/bench.eif" >/dev/null 2>&1
build_s=$(echo "$(now) - $build_start" | bc -l)
eif_bytes=$(stat -c %s "$work/bench.eif")
rm -f "$work/kernel" "$work/bootstrap.cpio" "$work/customer.cpio"
cat "$work/bench.eif" >/dev/null   # both contenders read from the page cache

best_sha=""
best_ours=""
peak_kb=0
for i in $(seq 1 "$runs"); do
  t0=$(now)
  sha384sum "$work/bench.eif" >/dev/null
  sha=$(echo "$(now) - $t0" | bc -l)

  t0=$(now)
  /usr/bin/time -v -o "$work/time.txt" "${cli[@]}" describe "$work/bench.eif" >/dev/null
  ours=$(echo "$(now) - $t0" | bc -l)
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")

  printf 'run %d: sha384sum %.3f s, cloister describe %.3f s, peak RSS %d KiB\n' "$i" "$sha" "$ours" "$kb"
  [[ -z "$best_sha" || $(echo "$sha < $best_sha" | bc -l) == 1 ]] && best_sha=$sha
  [[ -z "$best_ours" || $(echo "$ours < $best_ours" | bc -l) == 1 ]] && best_ours=$ours
  ((kb > peak_kb)) && peak_kb=$kb
done

printf '\nEIF size:               %d bytes (%d MiB)\n' "$eif_bytes" "$size_mib"
printf 'cloister eif build:     %.3f s (single pass: copy + CRC + PCRs)\n' "$build_s"
printf 'sha384sum (best):       %.3f s (%.0f MiB/s)\n' "$best_sha" "$(echo "$eif_bytes / 1048576 / $best_sha" | bc -l)"
printf 'cloister describe (best): %.3f s (%.0f MiB/s)\n' "$best_ours" "$(echo "$eif_bytes / 1048576 / $best_ours" | bc -l)"
printf 'ratio describe/sha384sum: %.2f\n' "$(echo "$best_ours / $best_sha" | bc -l)"
printf 'cloister peak RSS:      %d KiB (%.1f MiB)\n' "$peak_kb" "$(echo "$peak_kb / 1024" | bc -l)"
