#!/usr/bin/env bash
# The benchmark in one command: builds (RelWithDebInfo, into build/ unless $BUILD), prints the
# machine and its load, then validation cost (bench_validate) and the pipeline figures with the
# machine's floor (bench_pipeline), $REPEAT times (default 3) so that the spread shows.
#   bench/run.sh [bench_pipeline options...]     e.g. bench/run.sh --jobs 50000 --batch 32
# Defaults: 20000 jobs, 20000 tasks in flight, callbacks at 1000/s for 10 s, submit_batch 16.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../tests/setup.sh"
BUILD=${BUILD:-$RW_TOP/build}
REPEAT=${REPEAT:-3}

rw_install_deps
RW_TARGETS="bench_validate bench_pipeline runwared runware-sim" rw_build "$BUILD" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

echo "== machine"
echo "  $(nproc) cores: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "  $(uname -sr), $(redis-server --version | cut -d' ' -f1-3), $(date -u '+%F %T UTC')"
echo "  uptime: $(uptime)"
echo "== validation cost per job (bench_validate, typical = a 1.1 KiB task)"
"$BUILD/bench/bench_validate" "$RW_TOP/conf/flux-1-dev-srpo.schema.json" 200
for i in $(seq 1 "$REPEAT"); do
    echo "== pipeline run $i of $REPEAT (uptime: $(uptime | sed 's/.*load/load/'))"
    "$BUILD/bench/bench_pipeline" "$@"
done
