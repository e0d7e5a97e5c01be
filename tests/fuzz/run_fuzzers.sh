#!/usr/bin/env bash
# Runs every libFuzzer target of a MEMEXT_FUZZ=ON build tree for a bounded
# time each, starting from its seed corpus in tests/fuzz/corpus/<target>/
# and dictionary tests/fuzz/<target>.dict when there is one (new inputs go
# to a scratch copy, never into the repository), and fails
# if any target finds a crash, a leak, undefined behaviour, a timeout or an
# out-of-memory. Prints each target's executions and coverage (libFuzzer's
# cov: edges and ft: features) at the end.
#
#   tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]   (default 30)
#
# A crashing input is kept as BUILD_DIR/fuzz-artifacts/<target>-crash-...;
# reproduce with BUILD_DIR/tests/fuzz/fuzz_<target> that-file.
set -euo pipefail
if (($# < 1)) || [[ $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit $(($# < 1 ? 2 : 0))
fi
build=$(cd "$1" && pwd)
seconds=${2:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "run_fuzzers.sh: SECONDS_PER_TARGET '$seconds' must be a positive whole number" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "run_fuzzers.sh: no fuzz_* targets in $build/tests/fuzz (configure with -DMEMEXT_FUZZ=ON)" >&2
  exit 2
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/fuzz-artifacts"
summary=()
failed=0
for bin in "${targets[@]}"; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  target=${name#fuzz_}
  corpus=$scratch/$target
  mkdir -p "$corpus"
  log=$build/fuzz-artifacts/$target.log
  echo "== $name: ${seconds}s" >&2
  dict=()
  [[ -f $src/$target.dict ]] && dict=(-dict="$src/$target.dict")
  status=0
  "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "$corpus" "$src/corpus/$target" >"$log" 2>&1 || status=$?
  done_line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
  execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -1)
  corpus_size=$(find "$corpus" -type f | wc -l)
  if ((status != 0)); then
    failed=1
    echo "FAILED: $name (exit $status); log: $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|fuzz invariant|Test unit written' "$log" | head -20 >&2 || true
  fi
  summary+=("$(printf '%-20s %-6s execs %-10s cov %-6s ft %-7s new corpus %s' "$target" \
    "$([[ $status == 0 ]] && echo ok || echo FAIL)" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$corpus_size")")
done
printf '%s\n' "${summary[@]}" >&2
exit $failed
