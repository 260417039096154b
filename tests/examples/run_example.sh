#!/usr/bin/env bash
# ctest examples.<lang>: starts a private redis-server, runware-sim and runwared on spare ports
# in a temp dir, runs examples/<lang>'s producer against them, and checks that it printed one
# success record with its two images and exited 0; then that a failing job makes it exit 1.
# Usage: run_example.sh LANG SOURCE_DIR BUILD_DIR RUNWARED RUNWARE_SIM
set -euo pipefail
lang=$1 src=$2 build=$3 runwared=$4 sim=$5

work=$(mktemp -d /tmp/rw-example-"$lang".XXXXXX)
pids=()
ok=0
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$ok" = 1 ]; then
        rm -rf "$work"
    else
        for f in "$work"/*.log; do echo "----- $f"; tail -n 40 "$f"; done
        echo "(kept $work)"
    fi
}
trap cleanup EXIT
fail() { echo "FAIL examples.$lang: $*" >&2; exit 1; }

free_port() { # a port nobody listens on, from a random start
    local p=$((20000 + RANDOM % 30000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

wait_up() { # wait_up SECONDS PID COMMAND...: 0 once COMMAND succeeds, 1 if PID exits or time's up
    local t=$(($1 * 10)) pid=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || return 1
        t=$((t - 1))
        [ "$t" -gt 0 ] || return 1
        sleep 0.1
    done
}

# Ports are picked free but may be taken by a parallel test before the bind: retry then.
for attempt in 1 2 3 4 5; do
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
        >"$work/redis.log" 2>&1 &
    redis_pid=$!
    wait_up 10 "$redis_pid" redis-cli -p "$redis_port" ping && break
    kill "$redis_pid" 2>/dev/null || true
    [ "$attempt" = 5 ] && fail "redis-server did not start"
done
pids+=($redis_pid)

"$sim" --listen 127.0.0.1:0 --api-key example-key --delay-ms 20 --jitter-ms 30 \
    >"$work/sim.log" 2>&1 &
sim_pid=$!
pids+=($sim_pid)
wait_up 10 "$sim_pid" grep -q "listening on" "$work/sim.log" || fail "runware-sim did not start"
sim_addr=$(sed -n 's/.*listening on //p' "$work/sim.log" | head -n 1)

for attempt in 1 2 3 4 5; do
    listen_port=$(free_port)
    admin_port=$(free_port)
    [ "$admin_port" = "$listen_port" ] && admin_port=$((listen_port + 1))
    cat >"$work/runwared.conf" <<CONF
redis_url = redis://127.0.0.1:$redis_port/0
api_url = http://$sim_addr/v1
listen = 127.0.0.1:$listen_port
admin_listen = 127.0.0.1:$admin_port
key_prefix = ex
model_spec = $src/conf/flux-1-dev-srpo.schema.json
CONF
    RUNWARE_API_KEY=example-key "$runwared" -c "$work/runwared.conf" 2>"$work/runwared.log" &
    rw_pid=$!
    wait_up 15 "$rw_pid" curl -sf "http://127.0.0.1:$admin_port/readyz" && break
    kill "$rw_pid" 2>/dev/null || true
    wait "$rw_pid" 2>/dev/null || true
    grep -q "Address already in use" "$work/runwared.log" && [ "$attempt" -lt 5 ] ||
        fail "runwared did not get ready"
done
pids+=($rw_pid)

export REDIS_URL="redis://127.0.0.1:$redis_port/0" REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port
export RUNWARE_PREFIX=ex WAIT_SECONDS=60

case $lang in
python)
    py=/usr/bin/python3
    [ -x "$py" ] || py=python3
    run() { "$py" "$src/examples/python/producer.py" "$@"; }
    ;;
node)
    # npm ci into the build tree, not the source tree; again only when the lock file changed
    dir="$build/examples-node"
    mkdir -p "$dir"
    if ! cmp -s "$src/examples/node/package-lock.json" "$dir/package-lock.json" ||
        [ ! -d "$dir/node_modules/redis" ]; then
        cp "$src/examples/node/package.json" "$src/examples/node/package-lock.json" "$dir/"
        (cd "$dir" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) ||
            { cat "$work/npm.log"; fail "npm ci failed"; }
    fi
    cp "$src/examples/node/producer.js" "$dir/"
    run() { node "$dir/producer.js" "$@"; }
    ;;
shell)
    run() { sh "$src/examples/shell/producer.sh" "$@"; }
    ;;
*)
    fail "unknown language $lang"
    ;;
esac

# a success: one JSON line, status success, two images, the producer's meta echoed
set +e
run "a \"quoted\" red fox in snow" >"$work/out.json" 2>"$work/producer.log"
rc=$?
set -e
[ "$rc" = 0 ] || { cat "$work/producer.log"; fail "the producer exited $rc, expected 0"; }
[ "$(wc -l <"$work/out.json")" = 1 ] || fail "expected one line of output: $(cat "$work/out.json")"
grep -q '"status": *"success"' "$work/out.json" || fail "not a success record: $(cat "$work/out.json")"
[ "$(grep -o '"imageUUID"' "$work/out.json" | wc -l)" = 2 ] ||
    fail "expected 2 images: $(cat "$work/out.json")"
grep -q "examples/$lang/producer" "$work/out.json" || fail "meta not echoed: $(cat "$work/out.json")"

# a job Runware fails: an error record, exit 1
set +e
run "[sim:gen-fail] a fox" >"$work/out-fail.json" 2>>"$work/producer.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a failing job: the producer exited $rc, expected 1"
grep -q '"status": *"error"' "$work/out-fail.json" || fail "not an error record: $(cat "$work/out-fail.json")"

# nothing left behind: no reply lists, an empty queue
left=$(redis-cli -p "$redis_port" --raw KEYS 'ex:reply:*')
[ -z "$left" ] || fail "reply lists left behind: $left"
[ "$(redis-cli -p "$redis_port" LLEN ex:jobs)" = 0 ] || fail "jobs left in ex:jobs"
# runwared stops cleanly, and with nothing from a sanitizer or a secret in its log
kill -TERM "$rw_pid"
set +e
wait "$rw_pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "runwared exited $rc on SIGTERM"
! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work/runwared.log" ||
    fail "a sanitizer reported a problem"
! grep -q example-key "$work/runwared.log" || fail "the API key reached the log"
ok=1
echo "examples.$lang: ok"
