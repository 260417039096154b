#!/usr/bin/env bash
# The main job on the bundled defaults: build, start a private redis-server, the Runware
# simulator and runwared, enqueue the sample jobs of examples/jobs.jsonl, print their result
# records, stop everything it started.
set -euo pipefail
. "$(dirname "$0")/../tests/setup.sh"

rw_install_deps
echo "== building"
RW_TARGETS="runwared runware-sim runwarectl" rw_build "$RW_TOP/build" >/dev/null

work=$(mktemp -d /tmp/runwared-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A port nobody listens on, from a start value upwards.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}
wait_for() { # wait_for SECONDS COMMAND...: retry until it succeeds
    local t=$(( $1 * 10 )); shift
    until "$@" >/dev/null 2>&1; do
        t=$((t - 1)); [ "$t" -gt 0 ] || { echo "timed out: $*" >&2; return 1; }
        sleep 0.1
    done
}

redis_port=$(free_port 16379)
sim_port=$(free_port 18490)
listen_port=$(free_port 18480)
[ "$listen_port" = "$sim_port" ] && listen_port=$(free_port $((sim_port + 1)))
admin_port=$(free_port 19464)

echo "== starting redis-server on $redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for 10 redis-cli -p "$redis_port" ping

echo "== starting runware-sim on $sim_port (stands in for api.runware.ai)"
"$RW_TOP/build/tests/sim/runware-sim" --listen "127.0.0.1:$sim_port" --api-key demo-key \
    --delay-ms 300 --jitter-ms 700 >"$work/sim.log" 2>&1 &
pids+=($!)
wait_for 10 grep -q listening "$work/sim.log"

cat >"$work/runwared.conf" <<CONF
redis_url = redis://127.0.0.1:$redis_port/0
api_url = http://127.0.0.1:$sim_port/v1
listen = 127.0.0.1:$listen_port
admin_listen = 127.0.0.1:$admin_port
CONF
if [ -f "$RW_TOP/conf/flux-1-dev-srpo.schema.json" ]; then
    echo "model_spec = $RW_TOP/conf/flux-1-dev-srpo.schema.json" >>"$work/runwared.conf"
fi

echo "== starting runwared (config: $work/runwared.conf)"
RUNWARE_API_KEY=demo-key "$RW_TOP/build/daemon/runwared" -c "$work/runwared.conf" \
    2>"$work/runwared.log" &
pids+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$admin_port/readyz"

echo "== enqueueing $(wc -l <"$RW_TOP/examples/jobs.jsonl") sample jobs on runware:jobs"
while IFS= read -r job; do
    redis-cli -p "$redis_port" LPUSH runware:jobs "$job" >/dev/null
done <"$RW_TOP/examples/jobs.jsonl"

# Every job ends in exactly one record: on its resultList, else runware:results.
expect_default=$(grep -vc '"resultList"' "$RW_TOP/examples/jobs.jsonl")
expect_thumbs=$(grep -c '"demo:thumbnails"' "$RW_TOP/examples/jobs.jsonl")
show() { # long base64 images are cut short for the screen
    sed -E 's/("image(Base64Data|DataURI)":"[^"]{40})[^"]*"/\1..."/g'
}
echo "== result records"
for _ in $(seq "$expect_default"); do
    redis-cli -p "$redis_port" --raw BRPOP runware:results 30 | sed -n 2p | show
done
for _ in $(seq "$expect_thumbs"); do
    redis-cli -p "$redis_port" --raw BRPOP demo:thumbnails 30 | sed -n 2p | show
done
echo "== runwarectl stats"
"$RW_TOP/build/daemon/runwarectl" -c "$work/runwared.conf" stats | sed 's/^/  /'
echo "== a few lines of http://127.0.0.1:$admin_port/metrics"
curl -sf "http://127.0.0.1:$admin_port/metrics" | grep -E '^runwared_(jobs_completed|images|spend)' | sed 's/^/  /'
echo "== done; runwared's log:"
sed 's/^/  /' "$work/runwared.log"
