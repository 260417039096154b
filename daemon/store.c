/* runwared's data in Redis: taking jobs, registering tasks, writing result records exactly once.
 * Every Lua script and every key name use lives here. Scripts touch a task's result list, whose
 * name is only known inside Redis: runwared needs standalone Redis (or Sentinel), not Cluster. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rw_keys.h"
#include "rw_uuid.h"

#define KEYLEN 600

/* KEYS: processing, jobs. Oldest job in processing is at its right (intake moves RIGHT->LEFT);
 * moving LEFT->RIGHT repeatedly leaves the oldest at the consuming end of jobs. */
static struct rwd_script s_recover = {.name = "recover",
                                      .src = "local n = 0\n"
                                             "while redis.call('LMOVE', KEYS[1], KEYS[2], "
                                             "'LEFT', 'RIGHT') do n = n + 1 end\n"
                                             "return n\n"};

/* KEYS: jobs, processing, pending, instances. ARGV: max, max_inflight, instance id.
 * Notes this instance's heartbeat (so that one dying before its first periodic heartbeat is
 * still adopted), then moves up to max jobs, fewer when the tasks registered and not completed
 * (all instances') near max_inflight; -1 at the bound. */
static struct rwd_script s_take = {
    .name = "take",
    .src = "local t = redis.call('TIME')\n"
           "redis.call('ZADD', KEYS[4], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),"
           " ARGV[3])\n"
           "local room = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[3])\n"
           "if room <= 0 then return -1 end\n"
           "local n = math.min(tonumber(ARGV[1]), room)\n"
           "local out = {}\n"
           "for i = 1, n do\n"
           "  local j = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')\n"
           "  if not j then break end\n"
           "  out[i] = j\n"
           "end\n"
           "return out\n"};

/* The processing list holds up to max_pending jobs, newest at its left; jobs are registered or
 * refused about oldest first, so the scripts remove a job from the right (LREM -1): a few
 * comparisons instead of a scan of the whole list per job. */

/* KEYS: processing, default results, dead. ARGV: raw job, list ('' = default), record, dead.
 * Only a job still in this instance's processing list gets its record (0: it is not). A list
 * key holding another type cannot take the record: it goes to the default list. With dead '1'
 * the raw job is kept in the dead-letter list too. */
static struct rwd_script s_reject = {
    .name = "reject",
    .src = "if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end\n"
           "local list = ARGV[2]\n"
           "if list == '' then list = KEYS[2] end\n"
           "local ok = redis.pcall('LPUSH', list, ARGV[3])\n"
           "if type(ok) == 'table' and ok.err then redis.call('LPUSH', KEYS[2], ARGV[3]) end\n"
           "if ARGV[4] == '1' then redis.call('LPUSH', KEYS[3], ARGV[1]) end\n"
           "return 1\n"};

/* KEYS: task, pending, processing, submitting.
 * ARGV: uuid, list, n, head, takenAt, owner, raw job, task body.
 * The job leaves the processing list for the submitting set in the same step: from here on the
 * task (with the taskUUID it was given) is what a restart resubmits, never the job again. A job
 * no longer in the processing list (queued again meanwhile) is not registered (-3); the checks
 * that only read come first, so that the job's LREM is also the test that it is still there. */
static struct rwd_script s_register = {
    .name = "register",
    .src = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
           "local t = redis.call('TYPE', ARGV[2])['ok']\n"
           "if t ~= 'none' and t ~= 'list' then return -2 end\n"
           "if redis.call('LREM', KEYS[3], -1, ARGV[7]) == 0 then return -3 end\n"
           "redis.call('HSET', KEYS[1], 'state', 'queued', 'list', ARGV[2], 'n', ARGV[3],\n"
           "           'head', ARGV[4], 'takenAt', ARGV[5], 'owner', ARGV[6], 'body', ARGV[8])\n"
           "redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])\n"
           "redis.call('SADD', KEYS[4], ARGV[1])\n"
           "return 1\n"};

/* KEYS: submitting, pending, then the tasks. ARGV: now, first poll, then uuid, attempts for each
 * task. Runware acknowledged the tasks (of one POST, usually): each leaves the submitting set,
 * and one still queued becomes submitted; without a result by its first poll time, reconcile
 * asks Runware for it. A task holds its body exactly while it is queued (register sets both,
 * this script and complete drop the body as the state moves on), so deleting the body is the
 * test. Repeating it changes nothing. */
static struct rwd_script s_acked = {
    .name = "acked",
    .src = "local ids, due = {}, {}\n"
           "for i = 3, #KEYS do\n"
           "  local id = ARGV[2 * i - 3]\n"
           "  ids[#ids + 1] = id\n"
           "  if redis.call('HDEL', KEYS[i], 'body') == 1 then\n"
           "    redis.call('HSET', KEYS[i], 'state', 'submitted', 'submittedAt', ARGV[1],\n"
           "               'attempts', ARGV[2 * i - 2])\n"
           "    due[#due + 1] = ARGV[2]; due[#due + 1] = id\n"
           "  end\n"
           "end\n"
           "redis.call('SREM', KEYS[1], unpack(ids))\n"
           "if #due > 0 then redis.call('ZADD', KEYS[2], 'XX', unpack(due)) end\n"
           "return #ids\n"};

/* KEYS: submitting. ARGV: task key prefix. The bodies of this instance's tasks that a previous
 * run registered but did not see acknowledged; finished ones leave the set. */
static struct rwd_script s_unsubmitted = {
    .name = "unsubmitted",
    .src = "local out = {}\n"
           "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
           "  local f = redis.call('HMGET', ARGV[1] .. id, 'state', 'body')\n"
           "  if f[1] == 'queued' and f[2] then\n"
           "    out[#out + 1] = id; out[#out + 1] = f[2]\n"
           "  else\n"
           "    redis.call('SREM', KEYS[1], id)\n"
           "  end\n"
           "end\n"
           "return out\n"};

/* KEYS: task, seen, items, pending, submitting, default results.
 * ARGV: uuid, imageUUID ('' = error), item, tail, done ttl, timed ('1': answer a completion with
 * {2, takenAt} instead of 2).
 * The record is head ++ items joined by ',' ++ tail (see rw_record.h); the task then becomes a
 * tombstone (state done) that absorbs late and repeated callbacks until it expires. A task of
 * one image completes with its first image, without the seen and items keys; for more, the
 * items list holds one item per distinct image, so RPUSH's answer is the count. The task leaves
 * this instance's submitting set when it ends (acked takes it out otherwise). */
static struct rwd_script s_complete = {
    .name = "complete",
    .src = "local f = redis.call('HMGET', KEYS[1], 'state', 'n', 'head', 'list', 'takenAt')\n"
           "if not f[1] then redis.call('SREM', KEYS[5], ARGV[1]) return -1 end\n"
           "if f[1] == 'done' then return 0 end\n"
           "local items, kept = nil, true\n"
           "if ARGV[2] ~= '' then\n"
           "  if f[2] == '1' then\n"
           "    items, kept = {ARGV[3]}, false\n"
           "  else\n"
           "    if redis.call('HSETNX', KEYS[2], ARGV[2], '1') == 0 then return 0 end\n"
           "    if redis.call('RPUSH', KEYS[3], ARGV[3]) < tonumber(f[2]) then return 1 end\n"
           "  end\n"
           "end\n"
           "local taken = tonumber(f[5]) or 0\n"
           "if kept then items = redis.call('LRANGE', KEYS[3], 0, -1) end\n"
           "local rec = f[3] .. table.concat(items, ',') .. ARGV[4]\n"
           "local ok = redis.pcall('LPUSH', f[4], rec)\n"
           "if type(ok) == 'table' and ok.err then redis.call('LPUSH', KEYS[6], rec) end\n"
           "if kept then redis.call('DEL', KEYS[2], KEYS[3]) end\n"
           "redis.call('HDEL', KEYS[1], 'head', 'list', 'n', 'body')\n"
           "redis.call('HSET', KEYS[1], 'state', 'done')\n"
           "redis.call('ZREM', KEYS[4], ARGV[1])\n"
           "redis.call('SREM', KEYS[5], ARGV[1])\n"
           "if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
           "else redis.call('DEL', KEYS[1]) end\n"
           "if ARGV[6] == '1' then return {2, taken} end\n"
           "return 2\n"};

/* KEYS: secret. ARGV: candidate. */
static struct rwd_script s_secret = {.name = "secret",
                                     .src = "redis.call('SET', KEYS[1], ARGV[1], 'NX')\n"
                                            "return redis.call('GET', KEYS[1])\n"};

/* KEYS: pending, whose scores are when each task is next due for a look.
 * ARGV: now, max, task key prefix, queued wait, first interval, longest interval.
 * Entries of finished tasks go. Due submitted tasks are returned (uuid, takenAt) and their next
 * poll moves out by a growing interval (first, doubling, up to longest), which also keeps other
 * instances from polling them meanwhile; due tasks not yet submitted are looked at again after
 * the queued wait. */
static struct rwd_script s_claim = {
    .name = "claim",
    .src = "local out = {}\n"
           "local now = tonumber(ARGV[1])\n"
           "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, "
           "tonumber(ARGV[2]))\n"
           "for _, id in ipairs(ids) do\n"
           "  local key = ARGV[3] .. id\n"
           "  local f = redis.call('HMGET', key, 'state', 'takenAt')\n"
           "  if not f[1] or f[1] == 'done' then\n"
           "    redis.call('ZREM', KEYS[1], id)\n"
           "  elseif f[1] == 'submitted' then\n"
           "    local polls = redis.call('HINCRBY', key, 'polls', 1)\n"
           "    local wait = math.min(tonumber(ARGV[5]) * 2 ^ (polls - 1), tonumber(ARGV[6]))\n"
           "    redis.call('ZADD', KEYS[1], now + wait, id)\n"
           "    out[#out + 1] = id; out[#out + 1] = f[2]\n"
           "  else\n"
           "    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)\n"
           "  end\n"
           "end\n"
           "return out\n"};

/* KEYS: instances, jobs, submitting (this instance's).
 * ARGV: instance id, adopt_after ms, processing key prefix, submitting key prefix, task key
 * prefix. Notes this instance's heartbeat (on Redis's clock, so instances' clocks need not
 * agree), then adopts every instance silent for adopt_after: its processing list goes back to
 * the consuming end of the jobs list, oldest first, and its registered, unacknowledged tasks
 * become this instance's. Reply: what was adopted, for the log ('' if nothing), then uuid, body
 * pairs of the tasks to submit. */
static struct rwd_script s_heartbeat = {
    .name = "heartbeat",
    .src = "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
           "local out, said = {''}, {}\n"
           "local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))\n"
           "for _, id in ipairs(dead) do\n"
           "  local jobs, tasks = 0, 0\n"
           "  while redis.call('LMOVE', ARGV[3] .. id, KEYS[2], 'LEFT', 'RIGHT') do\n"
           "    jobs = jobs + 1\n"
           "  end\n"
           "  for _, u in ipairs(redis.call('SMEMBERS', ARGV[4] .. id)) do\n"
           "    local f = redis.call('HMGET', ARGV[5] .. u, 'state', 'body')\n"
           "    if f[1] == 'queued' and f[2] then\n"
           "      redis.call('SADD', KEYS[3], u)\n"
           "      redis.call('HSET', ARGV[5] .. u, 'owner', ARGV[1])\n"
           "      out[#out + 1] = u\n"
           "      out[#out + 1] = f[2]\n"
           "      tasks = tasks + 1\n"
           "    end\n"
           "  end\n"
           "  redis.call('DEL', ARGV[4] .. id)\n"
           "  redis.call('ZREM', KEYS[1], id)\n"
           "  said[#said + 1] = id .. ' (' .. jobs .. ' jobs, ' .. tasks .. ' tasks)'\n"
           "end\n"
           "out[1] = table.concat(said, ', ')\n"
           "return out\n"};

/* KEYS: jobs, pending, dead, instances. ARGV: adopt_after ms. Jobs queued, tasks pending,
 * dead letters, instances whose heartbeat is younger than adopt_after (on Redis's clock). */
static struct rwd_script s_stats = {
    .name = "stats",
    .src = "local t = redis.call('TIME')\n"
           "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
           "return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]),\n"
           "        redis.call('LLEN', KEYS[3]),\n"
           "        redis.call('ZCOUNT', KEYS[4], now - tonumber(ARGV[1]), '+inf')}\n"};

/* What follows the uuid in a key of a task's: "" for the task, ":seen", ":items" */
struct key_tail {
    char s[32];
    size_t len;
};

struct rwd_store {
    struct rwd_redis *cmd, *block;
    const char *prefix, *instance;
    char done_ttl[16], adopt_after[24];
    /* for complete, once per callback: lengths measured once, the task keys' tails */
    size_t task_prefix_len, pending_len, submitting_len, results_len, done_ttl_len;
    struct key_tail seen_tail, items_tail;
    char jobs[KEYLEN], results[KEYLEN], processing[KEYLEN], submitting[KEYLEN], pending[KEYLEN],
        secret[KEYLEN], dead[KEYLEN], task_prefix[KEYLEN], instances[KEYLEN],
        processing_prefix[KEYLEN], submitting_prefix[KEYLEN];
};

/* The tail of a task key of this kind: what rw_key writes after the task prefix and uuid. */
static int key_tail(struct key_tail *t, const struct rwd_store *st, enum rw_key_kind kind)
{
    char key[KEYLEN];
    size_t plen = strlen(st->task_prefix);
    int n = rw_key(key, sizeof(key), st->prefix, kind, "");

    if (n < 0 || (size_t)n < plen || memcmp(key, st->task_prefix, plen) != 0 ||
        (size_t)n - plen >= sizeof(t->s))
        return -1;
    t->len = (size_t)n - plen;
    memcpy(t->s, key + plen, t->len + 1);
    return 0;
}

struct rwd_store *rwd_store_new(struct rwd_redis *cmd, struct rwd_redis *block,
                                const struct rw_config *cfg)
{
    struct rwd_store *st = calloc(1, sizeof(*st));
    static struct rwd_script *const all[] = {&s_recover,     &s_take,      &s_reject, &s_register,
                                             &s_acked,       &s_complete,  &s_secret, &s_claim,
                                             &s_unsubmitted, &s_heartbeat, &s_stats};

    if (!st)
        return NULL;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        rwd_script_init(all[i]);
    st->cmd = cmd;
    st->block = block;
    st->prefix = cfg->key_prefix;
    st->instance = cfg->instance_id;
    snprintf(st->done_ttl, sizeof(st->done_ttl), "%d", cfg->done_ttl);
    snprintf(st->adopt_after, sizeof(st->adopt_after), "%lld", (long long)cfg->adopt_after * 1000);
    if (rw_key(st->jobs, KEYLEN, st->prefix, RW_KEY_JOBS, NULL) < 0 ||
        rw_key(st->results, KEYLEN, st->prefix, RW_KEY_RESULTS, NULL) < 0 ||
        rw_key(st->processing, KEYLEN, st->prefix, RW_KEY_PROCESSING, cfg->instance_id) < 0 ||
        rw_key(st->submitting, KEYLEN, st->prefix, RW_KEY_SUBMITTING, cfg->instance_id) < 0 ||
        rw_key(st->task_prefix, KEYLEN, st->prefix, RW_KEY_TASK, "") < 0 ||
        rw_key(st->instances, KEYLEN, st->prefix, RW_KEY_INSTANCES, NULL) < 0 ||
        rw_key(st->processing_prefix, KEYLEN, st->prefix, RW_KEY_PROCESSING, "") < 0 ||
        rw_key(st->submitting_prefix, KEYLEN, st->prefix, RW_KEY_SUBMITTING, "") < 0 ||
        rw_key(st->pending, KEYLEN, st->prefix, RW_KEY_PENDING, NULL) < 0 ||
        rw_key(st->secret, KEYLEN, st->prefix, RW_KEY_SECRET, NULL) < 0 ||
        rw_key(st->dead, KEYLEN, st->prefix, RW_KEY_DEAD, NULL) < 0 ||
        key_tail(&st->seen_tail, st, RW_KEY_TASK_SEEN) < 0 ||
        key_tail(&st->items_tail, st, RW_KEY_TASK_ITEMS) < 0) {
        free(st);
        return NULL;
    }
    st->task_prefix_len = strlen(st->task_prefix);
    st->pending_len = strlen(st->pending);
    st->submitting_len = strlen(st->submitting);
    st->results_len = strlen(st->results);
    st->done_ttl_len = strlen(st->done_ttl);
    return st;
}

void rwd_store_free(struct rwd_store *st)
{
    free(st);
}

int rwd_store_ready(const struct rwd_store *st)
{
    return rwd_redis_ready(st->cmd);
}

int rwd_store_recover(struct rwd_store *st, rwd_redis_cb *cb, void *arg)
{
    const char *argv[] = {st->processing, st->jobs};

    return rwd_redis_eval(st->block, &s_recover, cb, arg, 2, 2, argv, NULL);
}

int rwd_store_take(struct rwd_store *st, int max, int max_inflight, rwd_redis_cb *cb, void *arg)
{
    char n[16], bound[16];
    const char *argv[] = {st->jobs, st->processing, st->pending, st->instances,
                          n,        bound,          st->instance};

    snprintf(n, sizeof(n), "%d", max);
    snprintf(bound, sizeof(bound), "%d", max_inflight);
    return rwd_redis_eval(st->block, &s_take, cb, arg, 4, 7, argv, NULL);
}

int rwd_store_wait(struct rwd_store *st, int timeout_s, rwd_redis_cb *cb, void *arg)
{
    char t[16];
    const char *argv[] = {"BLMOVE", st->jobs, st->processing, "RIGHT", "LEFT", t};

    snprintf(t, sizeof(t), "%d", timeout_s);
    return rwd_redis_cmd(st->block, cb, arg, 6, argv, NULL);
}

int rwd_store_reject(struct rwd_store *st, const char *raw, size_t rawlen, const char *list,
                     const char *record, bool dead, rwd_redis_cb *cb, void *arg)
{
    const char *argv[] = {st->processing,   st->results, st->dead,        raw,
                          list ? list : "", record,      dead ? "1" : "0"};
    size_t lens[] = {strlen(argv[0]),
                     strlen(argv[1]),
                     strlen(argv[2]),
                     rawlen,
                     strlen(argv[4]),
                     strlen(record),
                     1};

    return rwd_redis_eval(st->cmd, &s_reject, cb, arg, 3, 7, argv, lens);
}

int rwd_store_register(struct rwd_store *st, const char *uuid, const char *list, int n,
                       const char *head, int64_t taken_ms, const char *raw, size_t rawlen,
                       const char *body, size_t bodylen, rwd_redis_cb *cb, void *arg)
{
    char task[KEYLEN], nbuf[16], taken[24];
    const char *argv[] = {
        task, st->pending, st->processing, st->submitting, uuid, list ? list : st->results,
        nbuf, head,        taken,          st->instance,   raw,  body};
    size_t lens[12];

    if (rw_key(task, sizeof(task), st->prefix, RW_KEY_TASK, uuid) < 0)
        return -1;
    snprintf(nbuf, sizeof(nbuf), "%d", n);
    snprintf(taken, sizeof(taken), "%lld", (long long)taken_ms);
    for (int i = 0; i < 10; i++)
        lens[i] = strlen(argv[i]);
    lens[10] = rawlen;
    lens[11] = bodylen;
    return rwd_redis_eval(st->cmd, &s_register, cb, arg, 4, 12, argv, lens);
}

int rwd_store_acked(struct rwd_store *st, const char *const *uuids, const int *attempts, size_t n,
                    int64_t now_ms, int64_t poll_ms, rwd_redis_cb *cb, void *arg)
{
    size_t argc = 4 + 3 * n, keylen = strlen(st->task_prefix);
    const char **argv = NULL;
    char *buf = NULL, now[24], poll[24];
    int rc = -1;

    if (n == 0 || n > RWD_ACKED_MAX)
        return -1;
    /* per task: its key (prefix + uuid) and its attempts as text */
    if (!(argv = malloc(argc * sizeof(*argv))) ||
        !(buf = malloc(n * (keylen + RW_UUID_LEN + 1 + 16))))
        goto out;
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(poll, sizeof(poll), "%lld", (long long)poll_ms);
    argv[0] = st->submitting;
    argv[1] = st->pending;
    argv[2 + n] = now;
    argv[3 + n] = poll;
    for (size_t i = 0; i < n; i++) {
        char *key = buf + i * (keylen + RW_UUID_LEN + 1 + 16),
             *tries = key + keylen + RW_UUID_LEN + 1;

        if (strlen(uuids[i]) > RW_UUID_LEN)
            goto out;
        memcpy(key, st->task_prefix, keylen);
        strcpy(key + keylen, uuids[i]);
        snprintf(tries, 16, "%d", attempts[i]);
        argv[2 + i] = key;
        argv[4 + n + 2 * i] = uuids[i];
        argv[5 + n + 2 * i] = tries;
    }
    rc = rwd_redis_eval(st->cmd, &s_acked, cb, arg, (int)(2 + n), (int)argc, argv, NULL);
out:
    free(argv);
    free(buf);
    return rc;
}

int rwd_store_unsubmitted(struct rwd_store *st, rwd_redis_cb *cb, void *arg)
{
    const char *argv[] = {st->submitting, st->task_prefix};

    return rwd_redis_eval(st->cmd, &s_unsubmitted, cb, arg, 1, 2, argv, NULL);
}

/* Writes at dst the key of task uuid (ulen bytes) that ends with tail. */
static void put_task_key(char *dst, const struct rwd_store *st, const char *uuid, size_t ulen,
                         const struct key_tail *tail)
{
    memcpy(dst, st->task_prefix, st->task_prefix_len);
    memcpy(dst + st->task_prefix_len, uuid, ulen);
    memcpy(dst + st->task_prefix_len + ulen, tail->s, tail->len);
}

/* The next argument of e, n bytes at p. */
static int put_arg(struct rwd_eval *e, const char *p, size_t n)
{
    char *o = rwd_redis_eval_arg(e, n);

    if (!o)
        return -1;
    if (n)
        memcpy(o, p, n);
    return 0;
}

/* A callback's script call, written straight into the command (its item most of the bytes). */
static int complete(struct rwd_store *st, const char *uuid, const char *image_uuid,
                    const struct rwd_span *item, size_t nspans, const char *tail, const char *timed,
                    rwd_redis_cb *cb, void *arg)
{
    static const struct key_tail none = {"", 0};
    const struct key_tail *keys[] = {&none, &st->seen_tail, &st->items_tail};
    size_t ulen = strlen(uuid), keylen = st->task_prefix_len + ulen, itemlen = 0, bytes = 0;
    const struct rwd_span before[] = {{st->pending, st->pending_len},
                                      {st->submitting, st->submitting_len},
                                      {st->results, st->results_len},
                                      {uuid, ulen},
                                      {image_uuid, image_uuid ? strlen(image_uuid) : 0}},
                          after[] = {
                              {tail, strlen(tail)}, {st->done_ttl, st->done_ttl_len}, {timed, 1}};
    struct rwd_eval *e;
    char *o;

    if (keylen + st->items_tail.len >= KEYLEN)
        return -1;
    for (size_t i = 0; i < nspans; i++)
        itemlen += item[i].n;
    for (size_t i = 0; i < 5; i++)
        bytes += before[i].n;
    for (size_t i = 0; i < 3; i++)
        bytes += keylen + keys[i]->len + after[i].n;
    if (!(e = rwd_redis_eval_begin(st->cmd, &s_complete, 6, 12, bytes + itemlen)))
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (!(o = rwd_redis_eval_arg(e, keylen + keys[i]->len)))
            goto fail;
        put_task_key(o, st, uuid, ulen, keys[i]);
    }
    for (size_t i = 0; i < 5; i++)
        if (put_arg(e, before[i].p, before[i].n) < 0)
            goto fail;
    if (!(o = rwd_redis_eval_arg(e, itemlen)))
        goto fail;
    for (size_t i = 0; i < nspans; o += item[i].n, i++)
        if (item[i].n)
            memcpy(o, item[i].p, item[i].n);
    for (size_t i = 0; i < 3; i++)
        if (put_arg(e, after[i].p, after[i].n) < 0)
            goto fail;
    return rwd_redis_eval_send(e, cb, arg);
fail:
    rwd_redis_eval_cancel(e);
    return -1;
}

int rwd_store_complete(struct rwd_store *st, const char *uuid, const char *image_uuid,
                       const struct rwd_span *item, size_t nspans, const char *tail,
                       rwd_redis_cb *cb, void *arg)
{
    return complete(st, uuid, image_uuid, item, nspans, tail, "0", cb, arg);
}

int rwd_store_complete_timed(struct rwd_store *st, const char *uuid, const char *image_uuid,
                             const struct rwd_span *item, size_t nspans, const char *tail,
                             rwd_redis_cb *cb, void *arg)
{
    return complete(st, uuid, image_uuid, item, nspans, tail, "1", cb, arg);
}

int rwd_store_secret(struct rwd_store *st, const char *candidate, rwd_redis_cb *cb, void *arg)
{
    const char *argv[] = {st->secret, candidate};

    return rwd_redis_eval(st->cmd, &s_secret, cb, arg, 1, 2, argv, NULL);
}

int rwd_store_claim_due(struct rwd_store *st, int64_t now_ms, int max, int64_t queued_wait_ms,
                        int64_t first_ms, int64_t longest_ms, rwd_redis_cb *cb, void *arg)
{
    char now[24], n[16], wait[24], first[24], longest[24];
    const char *argv[] = {st->pending, now, n, st->task_prefix, wait, first, longest};

    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(n, sizeof(n), "%d", max);
    snprintf(wait, sizeof(wait), "%lld", (long long)queued_wait_ms);
    snprintf(first, sizeof(first), "%lld", (long long)first_ms);
    snprintf(longest, sizeof(longest), "%lld", (long long)longest_ms);
    return rwd_redis_eval(st->cmd, &s_claim, cb, arg, 1, 7, argv, NULL);
}

int rwd_store_heartbeat(struct rwd_store *st, int adopt_after_s, rwd_redis_cb *cb, void *arg)
{
    char after[24];
    const char *argv[] = {st->instances,         st->jobs,       st->submitting,
                          st->instance,          after,          st->processing_prefix,
                          st->submitting_prefix, st->task_prefix};

    snprintf(after, sizeof(after), "%lld", (long long)adopt_after_s * 1000);
    return rwd_redis_eval(st->cmd, &s_heartbeat, cb, arg, 3, 8, argv, NULL);
}

int rwd_store_stats(struct rwd_store *st, rwd_redis_cb *cb, void *arg)
{
    const char *argv[] = {st->jobs, st->pending, st->dead, st->instances, st->adopt_after};

    return rwd_redis_eval(st->cmd, &s_stats, cb, arg, 4, 5, argv, NULL);
}
