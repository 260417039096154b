/* hiredis async on the event loop: connect, AUTH/SELECT, reconnect with backoff, Lua scripts.
 *
 * hiredis is tied to libevent by our own hooks rather than its adapter, which costs four
 * epoll_ctl calls per command (a one-shot read event re-added after every read, the write event
 * added and removed around every command). Here the read event stays armed while connected;
 * commands issued during one turn of the loop are written together by one deferred flush, and
 * the write event is armed only while the socket will not take the whole output.
 *
 * With rwd_redis_one_batch (the command connection), that flush also waits while a batch it wrote
 * is still being answered: Redis then takes each loop turn's commands in one read instead of
 * several small ones, which cost both sides a wakeup and a trip through the network stack. The
 * wait is at most one round trip, and only when Redis already has work of ours. A batch hook
 * (rwd_redis_batch_hook) lets the listener follow those batches: it need not read requests while
 * a batch is out, since their commands would wait for it anyway, and it reads them just before
 * the next one is written, so that they join it.
 *
 * hiredis resolves a host name with a blocking getaddrinfo when it connects; a name is resolved
 * here first, with libevent's asynchronous resolver (which reads /etc/hosts too), and hiredis is
 * given the address. */
#include "redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/dns.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>
#include <openssl/sha.h>

#include "log.h"
#include "reply.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define OBUF_KEEP      (256 * 1024) /* output buffer room kept between loop turns */
#define PENDING_BLOCK  2048         /* a command's record, kept for reuse when this size */
#define PENDING_SPARE  64           /* records kept for reuse: 128 KiB at most */

struct pending;

struct rwd_redis {
    struct event_base *base;
    char *name;
    struct rw_redis_addr addr;
    redisAsyncContext *ac; /* NULL while disconnected */
    struct event *rev;     /* ac's socket readable (persistent, armed while attached) */
    struct event *wev;     /* ac's socket writable: connect done, or output left over */
    struct event *flush;   /* activated (no syscall) when a command is queued */
    bool flushing;         /* inside redisAsyncHandleWrite from our flush */
    bool one_batch;        /* hold new commands while a written batch awaits its replies */
    bool partial;          /* the last write left output behind */
    bool gathering;        /* inside the batch hook's RWD_BATCH_GATHER */
    bool batch_out;        /* the hook was told RWD_BATCH_SENT, and not RWD_BATCH_IDLE since */
    rwd_redis_batch_fn *batch_hook;
    void *batch_arg;
    unsigned long issued, replied, written; /* commands sent to hiredis, answered, written */
    struct event *retry_ev;
    struct evdns_base *dns;                 /* only when the host is a name, not an address */
    struct evdns_getaddrinfo_request *dnsq; /* a resolution in progress */
    int backoff_ms;
    bool ready;   /* connected, authenticated, db selected */
    bool closing; /* rwd_redis_free is tearing down */
    void (*on_ready)(void *);
    void (*on_lost)(void *);
    void *arg;
    struct rwd_spares spare; /* released records of PENDING_BLOCK bytes */
};

/* One outstanding command: the caller's callback, plus for a script call the RESP of its
 * arguments (numkeys onwards, in this allocation, after room for the EVALSHA header), so that a
 * NOSCRIPT answer can be retried as EVAL. */
struct pending {
    struct rwd_redis *r;
    rwd_redis_cb *cb;
    void *arg;
    const struct rwd_script *script; /* NULL for plain commands and after the EVAL retry */
    size_t argc;                     /* the script call's, EVALSHA included */
    char *rest;                      /* RESP of numkeys, keys, args */
    size_t restlen;
    size_t bytes; /* argument bytes still to come (while a script call is built) */
    int left;     /* arguments still to come (likewise) */
    bool block;   /* PENDING_BLOCK bytes long: reusable */
};

#define EVAL_HEAD_MAX 96 /* "*<argc>\r\n$7\r\nEVALSHA\r\n$40\r\n<sha>\r\n" */

static void connect_now(struct rwd_redis *r);

/* The hooks hiredis calls; privdata is the rwd_redis (it outlives each context). */

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_redis *r = arg;

    if (r->ac)
        redisAsyncHandleRead(r->ac); /* may free the context (r->ac is then NULL) */
}

static void hook_del_write(void *arg);

/* Writes what the commands of this loop turn queued, or what the socket refused before.
 *
 * Once connected, the write is done here rather than by redisAsyncHandleWrite, which frees the
 * output buffer after each complete write: the next turn's commands then grew a new one, a
 * malloc and reallocs per turn, and freeing a buffer of 64 KiB or more makes glibc consolidate
 * its free lists. Here the buffer keeps its room (up to OBUF_KEEP). Errors other than a full
 * socket are left to hiredis, which meets them again and disconnects. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct rwd_redis *r = arg;
    redisContext *c;
    ssize_t n;

    if (!r->ac)
        return;
    c = &r->ac->c;
    if (r->one_batch && !r->partial && r->replied < r->written && r->ready)
        return; /* on_reply flushes when the batch in Redis is answered */
    /* the batch is answered: what waited for it joins the next */
    if (r->batch_out && !r->partial) {
        r->gathering = true;
        r->batch_hook(r->batch_arg, RWD_BATCH_GATHER);
        r->gathering = false;
        if (!r->ac)
            return;
    }
    if ((c->flags & REDIS_CONNECTED) && !c->err && sdslen(c->obuf) > 0) {
        r->written = r->issued;
        if (r->batch_hook && r->ready) {
            r->batch_out = true;
            r->batch_hook(r->batch_arg, RWD_BATCH_SENT);
        }
        n = write(c->fd, c->obuf, sdslen(c->obuf));
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
            if (n > 0 && (size_t)n == sdslen(c->obuf) && sdsalloc(c->obuf) <= OBUF_KEEP) {
                sdsclear(c->obuf);
            } else if (n > 0 && (size_t)n == sdslen(c->obuf)) {
                sds empty = sdsempty();

                if (empty) {
                    sdsfree(c->obuf);
                    c->obuf = empty;
                } else {
                    sdsclear(c->obuf);
                }
            } else if (n > 0) {
                sdsrange(c->obuf, (int)n, -1);
            }
            r->partial = sdslen(c->obuf) > 0;
            if (sdslen(c->obuf) == 0) {
                hook_del_write(r);
            } else if (!event_pending(r->wev, EV_WRITE, NULL)) {
                event_add(r->wev, NULL); /* the rest when the socket takes it */
            }
            return;
        }
    }
    if (r->batch_out && !sdslen(c->obuf)) { /* answered, and nothing more to send */
        r->batch_out = false;
        r->batch_hook(r->batch_arg, RWD_BATCH_IDLE);
        return;
    }
    r->flushing = true;
    redisAsyncHandleWrite(r->ac); /* may free the context; r stays */
    r->flushing = false;
}

static void hook_add_read(void *arg)
{
    struct rwd_redis *r = arg;

    if (r->rev && !event_pending(r->rev, EV_READ, NULL))
        event_add(r->rev, NULL);
}

static void hook_del_read(void *arg)
{
    struct rwd_redis *r = arg;

    if (r->rev)
        event_del(r->rev);
}

/* hiredis has output to send. From a command: flush once this loop turn's other commands are
 * queued too. From our flush (the socket took part of it) or while connecting: wait until the
 * socket is writable. */
static void hook_add_write(void *arg)
{
    struct rwd_redis *r = arg;

    if (!r->wev || r->gathering)
        return;
    if (r->flushing || !(r->ac->c.flags & REDIS_CONNECTED)) {
        if (!event_pending(r->wev, EV_WRITE, NULL))
            event_add(r->wev, NULL);
    } else if (!event_pending(r->flush, EV_TIMEOUT, NULL) &&
               !event_pending(r->wev, EV_WRITE, NULL)) {
        event_active(r->flush, EV_TIMEOUT, 0);
    }
}

static void hook_del_write(void *arg)
{
    struct rwd_redis *r = arg;

    if (r->wev && event_pending(r->wev, EV_WRITE, NULL))
        event_del(r->wev);
}

static void hook_cleanup(void *arg)
{
    struct rwd_redis *r = arg;

    if (r->rev)
        event_free(r->rev);
    if (r->wev)
        event_free(r->wev);
    r->rev = r->wev = NULL;
    event_del(r->flush);
}

static int attach(struct rwd_redis *r, redisAsyncContext *ac)
{
    int fd = ac->c.fd;

    if (!(r->rev = event_new(r->base, fd, EV_READ | EV_PERSIST, on_readable, r)) ||
        !(r->wev = event_new(r->base, fd, EV_WRITE, on_flush, r))) {
        hook_cleanup(r);
        return -1;
    }
    ac->ev.addRead = hook_add_read;
    ac->ev.delRead = hook_del_read;
    ac->ev.addWrite = hook_add_write;
    ac->ev.delWrite = hook_del_write;
    ac->ev.cleanup = hook_cleanup;
    ac->ev.data = r;
    r->ac = ac;
    event_add(r->rev, NULL);
    event_add(r->wev, NULL); /* the connect's outcome */
    return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    connect_now(arg);
}

void rwd_script_init(struct rwd_script *s)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    SHA1((const unsigned char *)s->src, strlen(s->src), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

static bool numeric_host(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

struct rwd_redis *rwd_redis_new(struct event_base *base, const struct rw_redis_addr *addr,
                                const char *name)
{
    struct rwd_redis *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->spare.size = PENDING_BLOCK;
    r->spare.max = PENDING_SPARE;
    r->base = base;
    r->addr.port = addr->port;
    r->addr.db = addr->db;
    r->name = strdup(name);
    if (!r->name || (addr->host && !(r->addr.host = strdup(addr->host))) ||
        (addr->path && !(r->addr.path = strdup(addr->path))) ||
        (addr->password && !(r->addr.password = strdup(addr->password))))
        goto fail;
    r->retry_ev = evtimer_new(base, on_retry, r);
    r->flush = event_new(base, -1, 0, on_flush, r);
    if (!r->retry_ev || !r->flush)
        goto fail;
    if (r->addr.host && !numeric_host(r->addr.host) &&
        !(r->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) &&
        !(r->dns = evdns_base_new(base, 0))) /* no resolv.conf: /etc/hosts only */
        goto fail;
    if (r->dns)
        evdns_base_load_hosts(r->dns, NULL);
    r->backoff_ms = BACKOFF_MIN_MS;
    return r;
fail:
    rwd_redis_free(r);
    return NULL;
}

void rwd_redis_set_handlers(struct rwd_redis *r, void (*on_ready)(void *), void (*on_lost)(void *),
                            void *arg)
{
    r->on_ready = on_ready;
    r->on_lost = on_lost;
    r->arg = arg;
}

bool rwd_redis_ready(const struct rwd_redis *r)
{
    return r->ready;
}

static void schedule_reconnect(struct rwd_redis *r)
{
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};

    if (r->closing)
        return;
    evtimer_add(r->retry_ev, &tv);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* Writes n in decimal at out; returns the digits written. */
static size_t put_uint(char *out, size_t n)
{
    char tmp[24];
    size_t k = 0, i;

    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    return k;
}

static size_t uint_len(size_t n)
{
    size_t k = 1;

    while (n >= 10) {
        n /= 10;
        k++;
    }
    return k;
}

/* A record for a command, with extra bytes after it. A script call's takes about 1 KB with its
 * RESP, past what glibc keeps in its per-thread cache (1032 bytes): each malloc and free went
 * through its bins, and often consolidated them. Records of up to PENDING_BLOCK bytes are
 * allocated at that size and reused instead, a few of them kept while released (poisoned for
 * ASan meanwhile). */
static struct pending *pending_new(struct rwd_redis *r, rwd_redis_cb *cb, void *arg, size_t extra)
{
    bool block = extra <= PENDING_BLOCK - sizeof(struct pending);
    struct pending *p;

    if (!(block && (p = rwd_spare_get(&r->spare))) &&
        !(p = malloc(block ? PENDING_BLOCK : sizeof(*p) + extra))) {
        return NULL;
    }
    *p = (struct pending){.r = r, .cb = cb, .arg = arg, .block = block};
    return p;
}

static void pending_free(struct pending *p)
{
    if (p->block)
        rwd_spare_put(&p->r->spare, p);
    else
        free(p);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* Queues a command on the context (lens NULL: the arguments are strings), in RESP written here:
 * hiredis's own formatting (sdscatfmt per argument) was most of the cost of sending a script
 * call. REDIS_OK or REDIS_ERR. */
static int send_argv(redisAsyncContext *ac, struct pending *p, int argc, const char **argv,
                     const size_t *lens)
{
    char stack[4096], *buf = stack, *o;
    size_t len = 1 + uint_len((size_t)argc) + 2;
    int rc;

    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);

        len += 1 + uint_len(n) + 2 + n + 2;
    }
    if (len > sizeof(stack) && !(buf = malloc(len)))
        return REDIS_ERR;
    o = buf;
    *o++ = '*';
    o += put_uint(o, (size_t)argc);
    *o++ = '\r';
    *o++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);

        *o++ = '$';
        o += put_uint(o, n);
        *o++ = '\r';
        *o++ = '\n';
        memcpy(o, argv[i], n);
        o += n;
        *o++ = '\r';
        *o++ = '\n';
    }
    rc = redisAsyncFormattedCommand(ac, on_reply, p, buf, (size_t)(o - buf));
    if (buf != stack)
        free(buf);
    return rc;
}

/* Writes one RESP bulk string at o; returns the end. */
static char *put_bulk(char *o, const char *arg, size_t n)
{
    *o++ = '$';
    o += put_uint(o, n);
    *o++ = '\r';
    *o++ = '\n';
    memcpy(o, arg, n);
    o += n;
    *o++ = '\r';
    *o++ = '\n';
    return o;
}

/* Sends the script call as EVAL with its source (Redis did not know the sha). */
static int send_eval(redisAsyncContext *ac, struct pending *p)
{
    size_t srclen = strlen(p->script->src);
    size_t len =
        1 + uint_len(p->argc) + 2 + 10 + 1 + uint_len(srclen) + 2 + srclen + 2 + p->restlen;
    char *buf = malloc(len), *o = buf;
    int rc;

    if (!buf)
        return REDIS_ERR;
    *o++ = '*';
    o += put_uint(o, p->argc);
    *o++ = '\r';
    *o++ = '\n';
    o = put_bulk(o, "EVAL", 4);
    o = put_bulk(o, p->script->src, srclen);
    memcpy(o, p->rest, p->restlen);
    o += p->restlen;
    rc = redisAsyncFormattedCommand(ac, on_reply, p, buf, (size_t)(o - buf));
    free(buf);
    return rc;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct pending *p = privdata;
    struct rwd_redis *r = p->r;
    redisReply *rep = reply;

    r->replied++;
    if (rep && rep->type == REDIS_REPLY_ERROR && p->script &&
        strncmp(rep->str, "NOSCRIPT", 8) == 0 && !p->r->closing) {
        /* Redis lost the script (restart, SCRIPT FLUSH): send the source once. */
        int rc = send_eval(ac, p);

        p->script = NULL;
        if (rc == REDIS_OK) {
            r->issued++;
            goto held;
        }
        rep = NULL;
    }
    p->cb(rep, p->arg);
    pending_free(p);
held:
    if (r->one_batch && r->replied == r->written && (r->issued > r->written || r->batch_out) &&
        r->ac && !r->closing && !event_pending(r->flush, EV_TIMEOUT, NULL))
        event_active(r->flush, EV_TIMEOUT, 0);
}

int rwd_redis_cmd(struct rwd_redis *r, rwd_redis_cb *cb, void *arg, int argc, const char **argv,
                  const size_t *lens)
{
    struct pending *p;

    if (!r->ready)
        return -1;
    if (!(p = pending_new(r, cb, arg, 0)))
        return -1;
    if (send_argv(r->ac, p, argc, argv, lens) != REDIS_OK) {
        pending_free(p);
        return -1;
    }
    r->issued++;
    return 0;
}

/* A script call being built: its record, with the arguments written so far. */
struct rwd_eval {
    struct pending p;
};

struct rwd_eval *rwd_redis_eval_begin(struct rwd_redis *r, const struct rwd_script *s, int nkeys,
                                      int argc, size_t bytes)
{
    struct pending *p;
    char nk[16];
    size_t nklen = put_uint(nk, (size_t)nkeys), room;

    /* an argument's RESP framing takes less than 32 bytes */
    if (!r->ready || nkeys < 0 || argc < 0 || bytes > SIZE_MAX / 2 - (size_t)argc * 32)
        return NULL;
    /* room for numkeys, then argc bulk strings of bytes in all, none longer than bytes */
    room = 1 + uint_len(nklen) + 2 + nklen + 2 + (size_t)argc * (1 + uint_len(bytes) + 4) + bytes;
    /* One allocation: the pending record, room for the EVALSHA header, then the arguments in
     * RESP, formatted once: sent from there, and kept for an EVAL retry. */
    if (!(p = pending_new(r, NULL, NULL, EVAL_HEAD_MAX + room)))
        return NULL;
    p->script = s;
    p->argc = (size_t)argc + 3;
    p->rest = (char *)(p + 1) + EVAL_HEAD_MAX;
    p->restlen = (size_t)(put_bulk(p->rest, nk, nklen) - p->rest);
    p->bytes = bytes;
    p->left = argc;
    return (struct rwd_eval *)p;
}

char *rwd_redis_eval_arg(struct rwd_eval *e, size_t n)
{
    struct pending *p = &e->p;
    char *o = p->rest + p->restlen, *arg;

    if (p->left <= 0 || n > p->bytes)
        return NULL; /* within the room counted by rwd_redis_eval_begin */
    *o++ = '$';
    o += put_uint(o, n);
    *o++ = '\r';
    *o++ = '\n';
    arg = o;
    o += n;
    *o++ = '\r';
    *o++ = '\n';
    p->restlen = (size_t)(o - p->rest);
    p->bytes -= n;
    p->left--;
    return arg;
}

int rwd_redis_eval_send(struct rwd_eval *e, rwd_redis_cb *cb, void *arg)
{
    struct pending *p = &e->p;
    struct rwd_redis *r = p->r;
    size_t headlen = 1 + uint_len(p->argc) + 2 + 13 + 47; /* "*n", "$7 EVALSHA", "$40 sha" */
    char *head = p->rest - headlen, *o = head;

    if (p->left != 0 || !r->ready) {
        pending_free(p);
        return -1;
    }
    p->cb = cb;
    p->arg = arg;
    *o++ = '*';
    o += put_uint(o, p->argc);
    *o++ = '\r';
    *o++ = '\n';
    o = put_bulk(o, "EVALSHA", 7);
    put_bulk(o, p->script->sha, 40);
    if (redisAsyncFormattedCommand(r->ac, on_reply, p, head, headlen + p->restlen) != REDIS_OK) {
        pending_free(p);
        return -1;
    }
    r->issued++;
    return 0;
}

void rwd_redis_eval_cancel(struct rwd_eval *e)
{
    if (e)
        pending_free(&e->p);
}

int rwd_redis_eval(struct rwd_redis *r, const struct rwd_script *s, rwd_redis_cb *cb, void *arg,
                   int nkeys, int argc, const char **argv, const size_t *lens)
{
    struct rwd_eval *e;
    size_t bytes = 0;

    for (int i = 0; i < argc; i++)
        bytes += lens ? lens[i] : strlen(argv[i]);
    if (!(e = rwd_redis_eval_begin(r, s, nkeys, argc, bytes)))
        return -1;
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        char *dst = rwd_redis_eval_arg(e, n);

        if (!dst) { /* not reached: the bytes were counted above */
            rwd_redis_eval_cancel(e);
            return -1;
        }
        memcpy(dst, argv[i], n);
    }
    return rwd_redis_eval_send(e, cb, arg);
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rwd_redis *r = ac->data;
    redisReply *rep = reply;
    const char *what = privdata;

    if (!rep)
        return; /* disconnecting: the disconnect callback reconnects */
    if (rep->type == REDIS_REPLY_ERROR) {
        /* A wrong password or db is a configuration error: keep retrying, loudly. */
        log_warnx("%s: %s failed: %s", r->name, what, rep->str);
        redisAsyncDisconnect(ac);
        return;
    }
    if (strcmp(what, "PING") != 0)
        return;
    r->ready = true;
    r->issued = r->replied = r->written = 0;
    r->partial = false;
    r->backoff_ms = BACKOFF_MIN_MS;
    log_info("%s: connected", r->name);
    if (r->on_ready)
        r->on_ready(r->arg);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct rwd_redis *r = ac->data;
    char db[16];

    if (status != REDIS_OK) {
        log_warnx("%s: cannot connect: %s", r->name, ac->errstr);
        r->ac = NULL; /* hiredis frees it after this callback */
        schedule_reconnect(r);
        return;
    }
    /* Pipelined: AUTH, SELECT, then PING whose answer means ready. */
    if (r->addr.password)
        redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", r->addr.password);
    if (r->addr.db) {
        snprintf(db, sizeof(db), "%d", r->addr.db);
        redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %s", db);
    }
    redisAsyncCommand(ac, on_setup_reply, "PING", "PING");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rwd_redis *r = ac->data;
    bool was_ready = r->ready;

    r->ac = NULL; /* hiredis frees the context after this callback */
    r->ready = false;
    if (r->closing)
        return;
    if (r->batch_out) {
        r->batch_out = false;
        r->batch_hook(r->batch_arg, RWD_BATCH_IDLE);
    }
    log_warnx("%s: connection lost%s%s", r->name, status == REDIS_OK ? "" : ": ",
              status == REDIS_OK ? "" : ac->errstr);
    if (was_ready && r->on_lost)
        r->on_lost(r->arg);
    schedule_reconnect(r);
}

/* Connects to host, an address (or the socket path when host is NULL). */
static void connect_to(struct rwd_redis *r, const char *host)
{
    redisAsyncContext *ac;

    if (r->addr.path)
        ac = redisAsyncConnectUnix(r->addr.path);
    else
        ac = redisAsyncConnect(host, r->addr.port);
    if (!ac) {
        log_warnx("%s: cannot connect: out of memory", r->name);
        schedule_reconnect(r);
        return;
    }
    if (ac->err) {
        log_warnx("%s: cannot connect: %s", r->name, ac->errstr);
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    ac->c.reader->fn = &rwd_reply_fns;
    if (attach(r, ac) < 0) {
        log_warnx("%s: cannot attach to the event loop", r->name);
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    struct rwd_redis *r = arg;
    char ip[INET6_ADDRSTRLEN] = "";

    r->dnsq = NULL;
    if (result == EVUTIL_EAI_CANCEL)
        return; /* rwd_redis_free */
    if (result == 0 && res) {
        const void *a = res->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;

        inet_ntop(res->ai_family, a, ip, sizeof(ip));
    }
    if (res)
        evutil_freeaddrinfo(res);
    if (!ip[0]) {
        log_warnx("%s: cannot resolve %s: %s", r->name, r->addr.host,
                  result ? evutil_gai_strerror(result) : "no address");
        schedule_reconnect(r);
        return;
    }
    connect_to(r, ip);
}

static void connect_now(struct rwd_redis *r)
{
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

    if (!r->dns) {
        connect_to(r, r->addr.host);
        return;
    }
    if (r->dnsq)
        return;
    /* NULL when it answered at once (from /etc/hosts, or an error): on_resolved has run */
    r->dnsq = evdns_getaddrinfo(r->dns, r->addr.host, NULL, &hints, on_resolved, r);
}

void rwd_redis_start(struct rwd_redis *r)
{
    connect_now(r);
}

void rwd_redis_free(struct rwd_redis *r)
{
    if (!r)
        return;
    r->closing = true;
    r->ready = false;
    if (r->ac)
        redisAsyncFree(r->ac); /* runs pending callbacks with NULL, then on_disconnect */
    if (r->dnsq)
        evdns_getaddrinfo_cancel(r->dnsq);
    if (r->dns)
        evdns_base_free(r->dns, 0);
    if (r->retry_ev)
        event_free(r->retry_ev);
    if (r->flush)
        event_free(r->flush);
    rwd_spares_free(&r->spare);
    free(r->name);
    free(r->addr.host);
    free(r->addr.path);
    free(r->addr.password);
    free(r);
}

void rwd_redis_one_batch(struct rwd_redis *r)
{
    r->one_batch = true;
}

void rwd_redis_batch_hook(struct rwd_redis *r, rwd_redis_batch_fn *hook, void *arg)
{
    r->batch_hook = hook;
    r->batch_arg = arg;
}
