#!/usr/bin/env python3
"""A runwared producer in Python (redis-py): push one job, wait for its result record.

The contract is JSON on Redis lists: LPUSH the job onto <prefix>:jobs naming a result list of
its own, then BRPOP that list. Exit 0 on a success record, 1 on an error record, 2 when no
record came in time or Redis is unreachable.

Environment: REDIS_URL (default redis://127.0.0.1:6379/0), RUNWARE_PREFIX (runwared's
key_prefix, default runware), WAIT_SECONDS (default 300). Debian: apt-get install python3-redis.
"""
import json
import os
import sys
import uuid

import redis


def main() -> int:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = os.environ.get("RUNWARE_PREFIX", "runware")
    wait = int(os.environ.get("WAIT_SECONDS", "300"))
    prompt = sys.argv[1] if len(sys.argv) > 1 else "a red fox in fresh snow, morning light"

    r = redis.Redis.from_url(url, socket_timeout=wait + 10)
    task_uuid = str(uuid.uuid4())  # ours, so that we know which record answers us
    reply_list = f"{prefix}:reply:{task_uuid}"
    job = {
        "task": {
            "taskUUID": task_uuid,
            "positivePrompt": prompt,
            "width": 1024,
            "height": 1024,
            "numberResults": 2,
            "includeCost": True,
        },
        "meta": {"from": "examples/python/producer.py"},
        "resultList": reply_list,
    }
    try:
        r.lpush(f"{prefix}:jobs", json.dumps(job))
        print(f"enqueued {task_uuid}", file=sys.stderr)
        popped = r.brpop(reply_list, timeout=wait)
    except redis.RedisError as e:
        print(f"redis: {e}", file=sys.stderr)
        return 2
    if popped is None:
        print(f"no record within {wait} s; it will arrive on {reply_list}", file=sys.stderr)
        return 2
    record = json.loads(popped[1])
    print(json.dumps(record))
    if record["status"] != "success":
        for err in record["errors"]:
            print(f"error {err.get('code')}: {err.get('message')}", file=sys.stderr)
        return 1
    for item in record["data"]:
        print(f"image {item['imageUUID']}: {item.get('imageURL', '(inline data)')}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
