# Shared by fuzz/run and fuzz/smoke (sourced, not run).
# Builds the fuzz driver, instruments a copy of it with SharpFuzz, and runs afl-fuzz on one target.

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work_dir="$fuzz_dir/.work"
# The instrumented copy of the current build: fuzz_build points it at a folder named after the build, so a rebuild
# never pulls assemblies from under a campaign that is still running.
instrumented="$work_dir/bin/current"
# What afl-fuzz's coverage follows: Cloister's own assemblies and the YAML parser under the manifest reader. The BCL
# parsers (JSON, tar, gzip, CBOR, ASN.1) live in the shared framework and stay uninstrumented.
instrument=(Cloister.Attestation Cloister.Build Cloister.Encryption Cloister.Kms Cloister.Runtime cloister-enclave YamlDotNet)

# Builds the driver and instruments a copy of it, unless this build already has one (SharpFuzz instruments in place and
# refuses an assembly twice, so each build gets a fresh copy). FUZZ_SKIP_BUILD=1 reuses the current copy as it is.
fuzz_build() {
  if [[ "${FUZZ_SKIP_BUILD:-}" == 1 && -f "$instrumented/Cloister.Fuzz.dll" ]]; then
    return
  fi
  "$fuzz_dir/install"
  # One build and instrumentation at a time (a campaign and a minimization may ask together).
  local lock
  mkdir -p "$work_dir"
  exec {lock}>"$work_dir/.build.lock"
  flock "$lock"
  local out="$fuzz_dir/Cloister.Fuzz/bin/Release/net10.0" log stamp copy name
  log="$(mktemp)"
  if ! dotnet build "$fuzz_dir/Cloister.Fuzz" -c Release --nologo -v quiet >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exec {lock}>&-
    return 1
  fi
  rm -f "$log"
  stamp="$(cd "$out" && sha256sum -- *.dll | sha256sum | cut -c1-16)"
  copy="$work_dir/bin/$stamp"
  if [[ ! -f "$copy/.instrumented" ]]; then
    rm -rf "$copy"
    mkdir -p "$work_dir/bin"
    cp -r "$out" "$copy"
    for name in "${instrument[@]}"; do
      (cd "$fuzz_dir" && dotnet sharpfuzz "$copy/$name.dll" >/dev/null) || { exec {lock}>&-; return 1; }
    done
    touch "$copy/.instrumented"
  fi
  ln -sfn "$stamp" "$instrumented"
  exec {lock}>&-
}

# The uninstrumented driver: for `list`, `seed` and `replay`, which run outside afl-fuzz.
fuzz_driver() {
  dotnet "$fuzz_dir/Cloister.Fuzz/bin/Release/net10.0/Cloister.Fuzz.dll" "$@"
}

fuzz_targets() {
  fuzz_driver list | awk '{ print $1 }'
}

# fuzz_afl TARGET SECONDS OUTPUT_DIR TIMEOUT_MS: one afl-fuzz run at the lowest priority; resumes OUTPUT_DIR if it
# holds an earlier run of the same target. FUZZ_EXECS also ends the run once the campaign has made that many executions.
fuzz_afl() {
  local target="$1" seconds="$2" output="$3" timeout="$4"
  local execs=()
  [[ -n "${FUZZ_EXECS:-}" ]] && execs=(-E "$FUZZ_EXECS")
  local spool="/dev/shm/cloister-fuzz-$target-$$"
  mkdir -p "$output" "$spool"
  # A managed heap limit turns unbounded memory use into an OutOfMemoryException, which afl-fuzz records as a crash.
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_AUTORESUME=1 \
    AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000 \
    DOTNET_GCHeapHardLimit=0x40000000 DOTNET_CLI_TELEMETRY_OPTOUT=1 TMPDIR="$spool" \
    nice -n 19 afl-fuzz -i "$fuzz_dir/corpus/$target" -o "$output" -V "$seconds" "${execs[@]}" -t "$timeout" -m none \
    -- dotnet "$(readlink -f "$instrumented")/Cloister.Fuzz.dll" "$target" >"$output/afl.log" 2>&1
  local status=$?
  rm -rf "$spool"
  return $status
}

# fuzz_stat OUTPUT_DIR FIELD: one field of afl-fuzz's fuzzer_stats.
fuzz_stat() {
  awk -v key="$2" '$1 == key { print $3 }' "$1/default/fuzzer_stats" 2>/dev/null
}

# fuzz_findings OUTPUT_DIR KIND: the number of saved inputs of a kind (crashes, hangs).
fuzz_findings() {
  find "$1/default/$2" -type f -name 'id:*' 2>/dev/null | wc -l
}
