#!/usr/bin/env bash
# The whole test suite: unit, simulator and integration tests (each starts its own redis-server
# and simulator on spare ports), first in a normal build, then under ASan+UBSan; then every
# libFuzzer target (clang) briefly from its corpus.
set -euo pipefail
. "$(dirname "$0")/setup.sh"

rw_install_deps
jobs=$(nproc)

echo "== build (RelWithDebInfo) and test"
rw_build "$RW_TOP/build"
ctest --test-dir "$RW_TOP/build" --output-on-failure -j"$jobs"

echo "== build with ASan+UBSan and test"
rw_build "$RW_TOP/build-asan" -DCMAKE_BUILD_TYPE=Debug -DRW_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$RW_TOP/build-asan" --output-on-failure -j"$jobs"

echo "== fuzz targets (clang, libFuzzer with ASan+UBSan), ${RW_FUZZ_SECONDS:-5} s each"
RW_TARGETS="fuzz_job fuzz_response fuzz_config fuzz_webhook fuzz_validate fuzz_http fuzz_cbody
fuzz_job_read fuzz_reply" \
    rw_build "$RW_TOP/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRW_FUZZ=ON -DRW_SANITIZE=ON -DRW_FUZZ_SECONDS="${RW_FUZZ_SECONDS:-5}"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$RW_TOP/build-fuzz" --output-on-failure -L fuzz
