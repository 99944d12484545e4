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
best_pcr=""
cpu_ours=""
cpu_sha=""
peak_kb=0
ratios=()
for i in $(seq 1 "$runs"); do
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$work/sha-time.txt" sha384sum "$work/bench.eif" >/dev/null
  sha=$(echo "$(now) - $t0" | bc -l)
  sha_cpu=$(awk '{print $1 + $2}' "$work/sha-time.txt")

  t0=$(now)
  /usr/bin/time -v -o "$work/time.txt" "${cli[@]}" describe "$work/bench.eif" >/dev/null
  ours=$(echo "$(now) - $t0" | bc -l)
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/time.txt")

  # One SHA-384 pass in .NET (nitro-cli pcr --input), to separate hash speed from the double pass.
  t0=$(now)
  "${cli[@]}" pcr --input "$work/bench.eif" >/dev/null
  pcr=$(echo "$(now) - $t0" | bc -l)

  printf 'run %d: sha384sum %.3f s (CPU %.2f s) | cloister describe %.3f s (CPU %.2f s, peak RSS %d KiB) | cloister pcr --input %.3f s | load %s\n' \
    "$i" "$sha" "$sha_cpu" "$ours" "$cpu" "$kb" "$pcr" "$(cut -d' ' -f1 /proc/loadavg)"
  if [[ -z "$best_sha" || $(echo "$sha < $best_sha" | bc -l) == 1 ]]; then best_sha=$sha; cpu_sha=$sha_cpu; fi
  if [[ -z "$best_ours" || $(echo "$ours < $best_ours" | bc -l) == 1 ]]; then best_ours=$ours; cpu_ours=$cpu; fi
  ratios+=("$(echo "$ours / $sha" | bc -l)")
  [[ -z "$best_pcr" || $(echo "$pcr < $best_pcr" | bc -l) == 1 ]] && best_pcr=$pcr
  ((kb > peak_kb)) && peak_kb=$kb
done

printf '\nEIF size:               %d bytes (%d MiB)\n' "$eif_bytes" "$size_mib"
printf 'cloister eif build:     %.3f s (single pass: copy + CRC + PCRs)\n' "$build_s"
printf 'sha384sum (best):       %.3f s (%.0f MiB/s), CPU %.2f s\n' "$best_sha" "$(echo "$eif_bytes / 1048576 / $best_sha" | bc -l)" "$cpu_sha"
printf 'cloister describe (best): %.3f s (%.0f MiB/s)\n' "$best_ours" "$(echo "$eif_bytes / 1048576 / $best_ours" | bc -l)"
printf 'cloister describe CPU:  %.2f s user+sys (two SHA-384 passes + CRC on two threads)\n' "$cpu_ours"
printf 'cloister pcr (best):    %.3f s (%.0f MiB/s, one SHA-384 pass)\n' "$best_pcr" "$(echo "$eif_bytes / 1048576 / $best_pcr" | bc -l)"
# Paired per run (both ran back to back under the same load), then the median: robust on a shared machine.
median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{r[NR] = $1} END {print (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2}')
printf 'ratio describe/sha384sum: %.2f best-to-best wall, %.2f median of per-run wall ratios, %.2f CPU\n' \
  "$(echo "$best_ours / $best_sha" | bc -l)" "$median_ratio" "$(echo "$cpu_ours / $cpu_sha" | bc -l)"
printf 'cloister peak RSS:      %d KiB (%.1f MiB)\n' "$peak_kb" "$(echo "$peak_kb / 1024" | bc -l)"
printf 'machine:                %s CPUs, %s, load average %s, .NET %s\n' "$(nproc)" \
  "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(dotnet --list-runtimes | awk '/NETCore.App/ {v = $2} END {print v}')"
