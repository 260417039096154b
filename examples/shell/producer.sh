#!/bin/sh
# A runwared producer in shell (redis-cli): push one job, wait for its result record.
#
# The contract is JSON on Redis lists: LPUSH the job onto <prefix>:jobs naming a result list of
# its own, then BRPOP that list. Exit 0 on a success record, 1 on an error record, 2 when no
# record came in time or Redis is unreachable.
#
# Environment: REDIS_HOST, REDIS_PORT (default 127.0.0.1 6379), REDIS_DB (0), RUNWARE_PREFIX
# (runwared's key_prefix, default runware), WAIT_SECONDS (default 300). Needs redis-cli
# (Debian: redis-tools) and /proc/sys/kernel/random/uuid or uuidgen.
set -eu

host=${REDIS_HOST:-127.0.0.1}
port=${REDIS_PORT:-6379}
db=${REDIS_DB:-0}
prefix=${RUNWARE_PREFIX:-runware}
wait=${WAIT_SECONDS:-300}
prompt=${1:-a red fox in fresh snow, morning light}

rcli() { redis-cli -h "$host" -p "$port" -n "$db" --raw "$@"; }

# the prompt goes into JSON: escape backslashes and double quotes, refuse control characters
case $prompt in *[[:cntrl:]]*) echo "the prompt must be one line" >&2; exit 2 ;; esac
json_prompt=$(printf '%s' "$prompt" | sed 's/\\/\\\\/g; s/"/\\"/g')
uuid=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)
reply="$prefix:reply:$uuid"
job=$(printf '{"task":{"taskUUID":"%s","positivePrompt":"%s","width":1024,"height":1024,"numberResults":2},"meta":{"from":"examples/shell/producer.sh"},"resultList":"%s"}' \
    "$uuid" "$json_prompt" "$reply")

rcli LPUSH "$prefix:jobs" "$job" >/dev/null || { echo "redis: LPUSH failed" >&2; exit 2; }
echo "enqueued $uuid" >&2
# BRPOP prints the list name, then the record; nothing on a timeout
record=$(rcli BRPOP "$reply" "$wait" | sed -n 2p) || { echo "redis: BRPOP failed" >&2; exit 2; }
if [ -z "$record" ]; then
    echo "no record within $wait s; it will arrive on $reply" >&2
    exit 2
fi
printf '%s\n' "$record"
case $record in
*'"status":"success"'*) exit 0 ;;
*) exit 1 ;;
esac
