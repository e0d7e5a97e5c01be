#!/usr/bin/env bash
# Every test of the project, as CI runs it (README's test command, .ci/run):
#   1. the release build in build/ and all its ctest tests;
#   2. an AddressSanitizer + UBSan build with clang in build-asan/ (libFuzzer
#      instrumentation too, no benchmarks) and its unit and integration
#      tests, leak checker on, undefined behaviour fatal;
#   3. a ThreadSanitizer build with clang in build-tsan/ (memext-server and
#      test_concurrency only), the integration tests that need only the
#      server (label `server`), including many clients at once across RAM
#      and flash, and the engine's concurrency unit tests;
#   4. each fuzz target of build-asan/ for FUZZ_SECONDS (default 10) from
#      its seed corpus (tests/fuzz/run_fuzzers.sh).
# Both sanitizer trees keep assert() on (MEMEXT_ASSERTS): the preconditions
# are checked there.
# Tests run in parallel (CTEST_PARALLEL_LEVEL, default the core count):
# most integration tests wait on sockets and child processes, not the CPU.
# Stops at the first failure. Expects tests/deps.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
fuzz_seconds=${FUZZ_SECONDS:-10}
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
step() { echo "=== $* ($(date -u +%H:%M:%S))" >&2; }

step "release build"
cmake -S . -B build
cmake --build build -j2
step "release tests"
ctest --test-dir build --output-on-failure

step "sanitizer build (clang, ASan + UBSan + libFuzzer)"
cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DMEMEXT_FUZZ=ON -DMEMEXT_ASSERTS=ON \
  -DMEMEXT_BUILD_BENCH=OFF
cmake --build build-asan -j2
step "sanitizer tests: unit, integration and the fuzz corpora once"
# The notebook test exercises plotting, not the engine; the release run has it.
ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -E '^notebook_'

step "thread sanitizer build (clang, memext-server)"
cmake -S . -B build-tsan -DCMAKE_CXX_COMPILER=clang++ -DMEMEXT_TSAN=ON -DMEMEXT_ASSERTS=ON \
  -DMEMEXT_BUILD_BENCH=OFF
cmake --build build-tsan -j2 --target memext-server test_concurrency
step "thread sanitizer tests: the server's integration tests, the engine's concurrency tests"
# A race is reported on the server's stderr, which fails the suite (harness).
TSAN_OPTIONS=second_deadlock_stack=1 ctest --test-dir build-tsan --output-on-failure -L server
TSAN_OPTIONS=second_deadlock_stack=1 ctest --test-dir build-tsan --output-on-failure \
  -R '^concurrency$'

step "fuzzers, ${fuzz_seconds}s each"
bash tests/fuzz/run_fuzzers.sh build-asan "$fuzz_seconds"
step "all tests passed"
