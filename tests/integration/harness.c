/* Integration harness: spawn, wait for, talk to and always clean up redis, the sim and runwared. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#ifndef RW_IT_DEFAULT_SLOW
#define RW_IT_DEFAULT_SLOW 1 /* 3 in sanitizer builds */
#endif

#define IT_MAX_CHILDREN 16
#define IT_LOG_TAIL     24000 /* bytes of each log printed on failure */

/* Every live child, for the exit and signal hooks: a test that dies leaves nothing behind. */
static volatile pid_t live[IT_MAX_CHILDREN];
static bool hooks_installed;

static void redis_connect(struct it_env *e);

static void live_add(pid_t pid)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++) {
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
    }
    fprintf(stderr, "harness: too many children\n");
    kill(pid, SIGKILL);
    exit(1);
}

static void live_del(pid_t pid)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (live[i] == pid)
            live[i] = 0;
}

static void kill_all_children(void)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++) {
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
    }
}

static void on_signal(int sig)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (live[i] > 0)
            kill(live[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_hooks(void)
{
    if (hooks_installed)
        return;
    hooks_installed = true;
    atexit(kill_all_children);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* not SEGV/ABRT: the sanitizers report those; PR_SET_PDEATHSIG reaps the children then */
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "harness: curl_global_init failed\n");
        exit(1);
    }
}

const char *it_bin_runwared(void)
{
#ifdef RW_IT_RUNWARED
    return RW_IT_RUNWARED;
#else
    return NULL;
#endif
}

const char *it_bin_sim(void)
{
#ifdef RW_IT_SIM
    return RW_IT_SIM;
#else
    return NULL;
#endif
}

int it_slow(void)
{
    const char *s = getenv("RW_IT_SLOW");
    int v = s ? atoi(s) : RW_IT_DEFAULT_SLOW;
    return v >= 1 ? v : 1;
}

int64_t it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

char *it_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "harness: out of memory\n");
        exit(1);
    }
    return s;
}

/* Reads a whole file; NULL if it cannot be read. *len receives its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (!nb)
                goto fail;
            buf = nb;
            cap += 65536;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

char *it_read_file(const char *path, size_t *len)
{
    return slurp(path, len);
}

static void print_tail(const char *title, const char *path)
{
    size_t n = 0;
    char *s = slurp(path, &n);
    if (!s)
        return;
    if (n > 0) {
        const char *start = s;
        if (n > IT_LOG_TAIL) {
            start = s + n - IT_LOG_TAIL;
            const char *nl = strchr(start, '\n');
            if (nl)
                start = nl + 1;
        }
        fprintf(stderr, "----- %s (%s)%s -----\n%s", title, path, start != s ? ", tail" : "",
                start);
        if (s[n - 1] != '\n')
            fputc('\n', stderr);
        fprintf(stderr, "----- end of %s -----\n", title);
    }
    free(s);
}

static void print_glob(struct it_env *e, const char *stem)
{
    char pattern[PATH_MAX];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "%s/%s*.std*", e->dir, stem);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            print_tail(strrchr(g.gl_pathv[i], '/') + 1, g.gl_pathv[i]);
        globfree(&g);
    }
}

static void print_logs(struct it_env *e)
{
    /* every runwared run (restarts and peers have their own files), the sim, every redis run */
    struct it_proc *sim = e->owner ? &e->owner->sim : &e->sim;
    print_glob(e, "runwared");
    if (sim->name) {
        char title[96];
        snprintf(title, sizeof(title), "%s stderr", sim->name);
        print_tail(title, sim->err_path);
        snprintf(title, sizeof(title), "%s stdout", sim->name);
        print_tail(title, sim->out_path);
    }
    print_glob(e, "redis-server");
}

void it_die(struct it_env *e, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FATAL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (e) {
        kill_all_children();
        print_logs(e);
        fprintf(stderr, "(temp dir kept: %s)\n", e->dir);
    }
    exit(1);
}

/* One port from the kernel (bind to port 0), or -1. */
static int kernel_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int it_spare_port(void)
{
    /* The kernel may hand out a port it gave a moment ago, before the first taker has bound
     * it: never give the same port twice in one test process. */
    static int given[256];
    static size_t ngiven;

    for (int tries = 0; tries < 100; tries++) {
        int port = kernel_port();
        bool seen = false;

        if (port <= 0)
            return -1;
        for (size_t i = 0; i < ngiven && !seen; i++)
            seen = given[i] == port;
        if (seen)
            continue;
        if (ngiven < sizeof(given) / sizeof(given[0]))
            given[ngiven++] = port;
        return port;
    }
    return -1;
}

static void random_hex(char *out, size_t nhex)
{
    unsigned char buf[64];
    size_t nbytes = (nhex + 1) / 2;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (nbytes > sizeof(buf) || fd < 0 || read(fd, buf, nbytes) != (ssize_t)nbytes) {
        fprintf(stderr, "harness: /dev/urandom unreadable\n");
        exit(1);
    }
    close(fd);
    for (size_t i = 0; i < nhex; i++)
        out[i] = "0123456789abcdef"[(buf[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
    out[nhex] = '\0';
}

void it_uuid(char out[37])
{
    char h[33];
    random_hex(h, 32);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* runwared, runwared-2, ... or runwared-<tag>, runwared-<tag>-2, ... */
static void set_rw_names(struct it_env *e)
{
    size_t n = sizeof(e->rw_names) / sizeof(e->rw_names[0]);
    for (size_t i = 0; i < n; i++) {
        char run[16] = "";
        if (i > 0)
            snprintf(run, sizeof(run), "-%zu", i + 1);
        snprintf(e->rw_names[i], sizeof(e->rw_names[i]), "runwared%s%s%s", e->tag[0] ? "-" : "",
                 e->tag, run);
    }
}

void it_env_init(struct it_env *e, const char *prefix)
{
    memset(e, 0, sizeof(*e));
    install_hooks();
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 200)
        tmp = "/tmp";
    snprintf(e->dir, sizeof(e->dir), "%s/rw-it-XXXXXX", tmp);
    if (!mkdtemp(e->dir))
        it_die(NULL, "mkdtemp %s: %s", e->dir, strerror(errno));
    snprintf(e->prefix, sizeof(e->prefix), "%s", prefix ? prefix : "runware");
    snprintf(e->instance, sizeof(e->instance), "it-%d", (int)getpid());
    char h[25];
    random_hex(h, 24);
    snprintf(e->api_key, sizeof(e->api_key), "itkey-%s", h);
    e->redis_port = it_spare_port();
    e->sim_port = it_spare_port();
    e->rw_port = it_spare_port();
    e->admin_port = it_spare_port();
    if (e->redis_port <= 0 || e->sim_port <= 0 || e->rw_port <= 0 || e->admin_port <= 0)
        it_die(e, "no spare ports");
    snprintf(e->rw_url, sizeof(e->rw_url), "http://127.0.0.1:%d", e->rw_port);
    snprintf(e->admin_url, sizeof(e->admin_url), "http://127.0.0.1:%d", e->admin_port);
    set_rw_names(e);
}

void it_env_peer(struct it_env *peer, struct it_env *e, const char *tag)
{
    if (e->owner || e->peer || !e->rc || !tag || !*tag || strlen(tag) >= sizeof(peer->tag))
        it_die(e, "it_env_peer: needs a started env without a peer and a short tag");
    memset(peer, 0, sizeof(*peer));
    snprintf(peer->dir, sizeof(peer->dir), "%s", e->dir);
    snprintf(peer->prefix, sizeof(peer->prefix), "%s", e->prefix);
    snprintf(peer->tag, sizeof(peer->tag), "%s", tag);
    int n = snprintf(peer->instance, sizeof(peer->instance), "%s-%s", e->instance, tag);
    if (n < 0 || (size_t)n >= sizeof(peer->instance))
        it_die(e, "it_env_peer: instance_id too long");
    snprintf(peer->api_key, sizeof(peer->api_key), "%s", e->api_key);
    peer->secret_in_file = e->secret_in_file;
    peer->redis_port = e->redis_port;
    peer->sim_port = e->sim_port;
    snprintf(peer->sim_url, sizeof(peer->sim_url), "%s", e->sim_url);
    peer->rw_port = it_spare_port();
    peer->admin_port = it_spare_port();
    if (peer->rw_port <= 0 || peer->admin_port <= 0)
        it_die(e, "no spare port");
    snprintf(peer->rw_url, sizeof(peer->rw_url), "http://127.0.0.1:%d", peer->rw_port);
    snprintf(peer->admin_url, sizeof(peer->admin_url), "http://127.0.0.1:%d", peer->admin_port);
    set_rw_names(peer);
    peer->owner = e;
    e->peer = peer;
    redis_connect(peer);
    if (!peer->rc)
        it_die(e, "it_env_peer: cannot connect to redis-server on port %d", e->redis_port);
}

void it_write_file(struct it_env *e, const char *name, const char *text, char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", e->dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0)
        it_die(e, "cannot write %s: %s", p, strerror(errno));
    if (path)
        snprintf(path, PATH_MAX, "%s", p);
}

void it_spawn(struct it_env *e, struct it_proc *p, const char *name, char *const argv[])
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    snprintf(p->out_path, sizeof(p->out_path), "%s/%s.stdout", e->dir, name);
    snprintf(p->err_path, sizeof(p->err_path), "%s/%s.stderr", e->dir, name);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        it_die(e, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    live_add(pid);
}

/* Reaps p if it exited. Returns true when it is no longer running. */
static bool proc_exited(struct it_proc *p)
{
    int st = 0;
    if (p->pid <= 0)
        return true;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == 0)
        return false;
    live_del(p->pid);
    p->pid = 0;
    p->status = r > 0 ? st : 0;
    return true;
}

static char *describe_status(int st)
{
    if (WIFEXITED(st))
        return it_fmt("exit status %d", WEXITSTATUS(st));
    if (WIFSIGNALED(st))
        return it_fmt("killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return it_fmt("wait status 0x%x", st);
}

static void die_if_exited(struct it_env *e, struct it_proc *p, const char *while_)
{
    if (!proc_exited(p))
        return;
    char *d = describe_status(p->status);
    it_die(e, "%s exited %s (%s)", p->name, while_, d);
}

/* SIGTERM, then wait up to timeout_ms. A process that must be killed is a failure. Returns the
 * wait status (or -1 when it had to be killed). */
/* Kills p with sig (a crash, not a stop) and reaps it. */
static void proc_kill(struct it_proc *p, int sig)
{
    kill(p->pid, sig);
    waitpid(p->pid, NULL, 0);
    live_del(p->pid);
    p->pid = 0;
}

static int proc_stop(struct it_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return p->status;
    if (proc_exited(p))
        return p->status;
    kill(p->pid, SIGTERM);
    int64_t deadline = it_now_ms() + timeout_ms;
    while (it_now_ms() < deadline) {
        if (proc_exited(p))
            return p->status;
        it_sleep_ms(10);
    }
    fprintf(stderr, "  %s (pid %d) did not stop within %d ms of SIGTERM; killing it\n", p->name,
            (int)p->pid, timeout_ms);
    proc_kill(p, SIGKILL);
    rwt_failed++;
    return -1;
}

static void expect_clean_exit(struct it_proc *p, int st)
{
    if (st == -1)
        return;
    char *d = describe_status(st);
    IT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "%s should exit 0 after SIGTERM, got %s (see its stderr below)", p->name, d);
    free(d);
}

void it_run(struct it_env *e, char *const argv[], int timeout_ms, int *status, char **output)
{
    struct it_proc p;
    it_spawn(e, &p, "cmd", argv);
    int64_t deadline = it_now_ms() + timeout_ms;
    while (!proc_exited(&p)) {
        if (it_now_ms() > deadline) {
            kill(p.pid, SIGKILL);
            it_die(e, "%s did not finish within %d ms", argv[0], timeout_ms);
        }
        it_sleep_ms(10);
    }
    *status = p.status;
    char *o = slurp(p.out_path, NULL), *er = slurp(p.err_path, NULL);
    *output = it_fmt("%s%s", o ? o : "", er ? er : "");
    free(o);
    free(er);
}

static void redis_connect(struct it_env *e)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", e->redis_port, tv);
    if (!c)
        it_die(e, "redisConnect: out of memory");
    if (c->err) {
        redisFree(c);
        return;
    }
    redisReply *r = redisCommand(c, "PING");
    bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return;
    }
    struct timeval rtv = {30, 0};
    redisSetTimeout(c, rtv);
    e->rc = c;
}

/* Spawns redis-server (a restart logs to fresh files) and connects e->rc once it answers PING
 * (not while it is still loading its data). */
static void redis_spawn(struct it_env *e)
{
    static const char *const names[] = {"redis-server", "redis-server-2", "redis-server-3",
                                        "redis-server-4"};
    if (e->redis_runs >= (int)(sizeof(names) / sizeof(names[0])))
        it_die(e, "too many redis-server restarts");
    char port[16];
    snprintf(port, sizeof(port), "%d", e->redis_port);
    char *argv[] = {"/usr/bin/redis-server",
                    "--port",
                    port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    e->redis_persist ? "yes" : "no",
                    "--appendfsync",
                    e->redis_persist ? "always" : "everysec",
                    "--dir",
                    e->dir,
                    "--daemonize",
                    "no",
                    NULL, /* --unixsocket <dir>/redis.sock when redis_unix */
                    NULL,
                    NULL};
    char *sock = NULL;
    if (e->redis_unix) {
        sock = it_fmt("%s/redis.sock", e->dir);
        argv[15] = "--unixsocket";
        argv[16] = sock;
    }
    it_spawn(e, &e->redis, names[e->redis_runs++], argv);
    free(sock);
    int64_t deadline = it_now_ms() + 10000;
    while (!e->rc) {
        die_if_exited(e, &e->redis, "while starting");
        if (it_now_ms() > deadline)
            it_die(e, "redis-server did not answer PING on port %d within 10 s", e->redis_port);
        redis_connect(e);
        if (!e->rc)
            it_sleep_ms(20);
    }
}

void it_redis_start(struct it_env *e)
{
    redis_spawn(e);
}

void it_redis_stop(struct it_env *e, int sig)
{
    if (e->owner)
        it_die(e, "it_redis_stop: redis-server belongs to the peer's owner");
    struct it_env *envs[] = {e, e->peer};
    for (size_t i = 0; i < 2; i++) {
        if (envs[i] && envs[i]->rc) {
            redisFree(envs[i]->rc);
            envs[i]->rc = NULL;
        }
    }
    if (!e->redis.pid)
        return;
    if (sig == SIGTERM) {
        expect_clean_exit(&e->redis, proc_stop(&e->redis, 10000));
        return;
    }
    proc_kill(&e->redis, sig);
}

void it_redis_restart(struct it_env *e)
{
    if (e->redis.pid)
        it_die(e, "it_redis_restart: redis-server is still running");
    redis_spawn(e);
    if (e->peer && !e->peer->finished) {
        redis_connect(e->peer);
        if (!e->peer->rc)
            it_die(e, "cannot connect the peer to the restarted redis-server");
    }
}

void it_sim_start(struct it_env *e, const char *const *extra)
{
    const char *bin = it_bin_sim();
    if (!bin)
        it_die(e, "runware-sim is not built (no CMake target runware-sim)");
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", e->sim_port);
    const char *fixed[] = {bin, "--listen", listen, "--api-key", e->api_key};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    char **argv = calloc(nfixed + nextra + 1, sizeof(char *));
    if (!argv)
        it_die(e, "out of memory");
    for (size_t i = 0; i < nfixed; i++)
        argv[i] = (char *)fixed[i];
    for (size_t i = 0; i < nextra; i++)
        argv[nfixed + i] = (char *)extra[i];
    it_spawn(e, &e->sim, "runware-sim", argv);
    free(argv);

    const char *marker = "runware-sim listening on ";
    int64_t deadline = it_now_ms() + 10000 * it_slow();
    for (;;) {
        char *out = slurp(e->sim.out_path, NULL);
        const char *m = out ? strstr(out, marker) : NULL;
        if (m && strchr(m, '\n')) {
            const char *colon = strrchr(m + strlen(marker), ':');
            int port = colon ? atoi(colon + 1) : 0;
            free(out);
            if (port <= 0 || port > 65535)
                it_die(e, "cannot read the port from runware-sim's ready line");
            e->sim_port = port;
            break;
        }
        free(out);
        die_if_exited(e, &e->sim, "while starting");
        if (it_now_ms() > deadline)
            it_die(e, "runware-sim printed no \"%s\" line within %d ms", marker, 10000 * it_slow());
        it_sleep_ms(10);
    }
    snprintf(e->sim_url, sizeof(e->sim_url), "http://127.0.0.1:%d", e->sim_port);
}

static void load_secret_from_redis(struct it_env *e)
{
    char key[128];
    it_key(e, key, sizeof(key), "secret");
    redisReply *r = it_redis(e, "GET %s", key);
    if (r->type != REDIS_REPLY_STRING)
        it_die(e, "runwared is serving but %s holds no string (the webhook secret)", key);
    if ((size_t)r->len >= sizeof(e->secret) || r->len < 16)
        it_die(e, "%s is %d bytes; expected 16..%zu", key, (int)r->len, sizeof(e->secret) - 1);
    memcpy(e->secret, r->str, (size_t)r->len);
    e->secret_len = (size_t)r->len;
    e->secret[e->secret_len] = '\0';
    freeReplyObject(r);
}

/* Starts runwared on e->conf_path (a restart writes its logs to fresh files) and waits for its
 * /readyz; then loads the webhook secret when runwared keeps it in Redis. */
static void rw_spawn(struct it_env *e)
{
    if (e->rw_runs >= (int)(sizeof(e->rw_names) / sizeof(e->rw_names[0])))
        it_die(e, "too many runwared restarts");
    char *argv[] = {(char *)it_bin_runwared(), "-c", e->conf_path, NULL};
    it_spawn(e, &e->rw, e->rw_names[e->rw_runs], argv);
    e->rw_runs++;
    char *url = it_fmt("%s/readyz", e->admin_url);
    int64_t deadline = it_now_ms() + 10000 * it_slow();
    long code = 0;
    for (;;) {
        die_if_exited(e, &e->rw, "while starting");
        code = it_http("GET", url, NULL, 0, NULL, 500);
        if (code == 200)
            break;
        if (it_now_ms() > deadline)
            it_die(e, "runwared's %s did not answer 200 within %d ms (last status %ld)", url,
                   10000 * it_slow(), code);
        it_sleep_ms(20);
    }
    free(url);
    if (!e->secret_in_file)
        load_secret_from_redis(e);
}

void it_rw_start(struct it_env *e, const char *extra)
{
    const char *bin = it_bin_runwared();
    if (!bin)
        it_die(e, "runwared is not built (no CMake target runwared)");
    char keyfile[PATH_MAX], secretfile[PATH_MAX] = "";
    char *keytext = it_fmt("%s\n", e->api_key);
    char *keyname = it_fmt("api%s%s.key", e->tag[0] ? "-" : "", e->tag);
    char *confname = it_fmt("%s.conf", e->rw_names[0]);
    it_write_file(e, keyname, keytext, keyfile);
    chmod(keyfile, 0600); /* runwared warns about a key file others may read */
    free(keytext);
    if (e->secret_in_file && e->owner) {
        /* a peer shares the owner's file (and so its secret) */
        if (!e->owner->secret_len)
            it_die(e, "start the owner's runwared before its peer's");
        memcpy(e->secret, e->owner->secret, e->owner->secret_len + 1);
        e->secret_len = e->owner->secret_len;
        snprintf(secretfile, sizeof(secretfile), "%s/webhook.secret", e->dir);
    } else if (e->secret_in_file) {
        random_hex(e->secret, 40);
        e->secret_len = 40;
        /* trailing whitespace is stripped by runwared: the key is the 40 hex digits */
        char *st = it_fmt("%s \n\n", e->secret);
        it_write_file(e, "webhook.secret", st, secretfile);
        free(st);
    }
    char *redis_url =
        e->redis_unix
            ? it_fmt("unix:%s/redis.sock", e->dir)
            : it_fmt("redis://%s:%d/0", e->redis_host ? e->redis_host : "127.0.0.1", e->redis_port);
    char *conf = it_fmt(
        "# written by the integration harness\n"
        "redis_url = %s\n"
        "api_url = %s/v1\n"
        "api_key_file = %s\n"
        "listen = 127.0.0.1:%d\n"
        "admin_listen = 127.0.0.1:%d\n"
        "key_prefix = %s\n"
        "instance_id = %s\n"
        "log_level = %s\n"
        "%s%s%s"
        "%s",
        redis_url, e->sim_url, keyfile, e->rw_port, e->admin_port, e->prefix, e->instance,
        getenv("RW_IT_LOG_LEVEL") ? getenv("RW_IT_LOG_LEVEL") : "debug",
        e->secret_in_file ? "webhook_secret_file = " : "", e->secret_in_file ? secretfile : "",
        e->secret_in_file ? "\n" : "", extra ? extra : "");
    it_write_file(e, confname, conf, e->conf_path);
    free(conf);
    free(redis_url);
    free(confname);
    free(keyname);

    rw_spawn(e);
}

void it_rw_kill(struct it_env *e)
{
    if (!e->rw.pid)
        return;
    proc_kill(&e->rw, SIGKILL);
}

void it_rw_restart(struct it_env *e)
{
    if (e->rw.pid)
        it_die(e, "it_rw_restart: runwared is still running");
    it_expect_log_clean(e, "API key", e->api_key);
    if (e->secret_len)
        it_expect_log_clean(e, "webhook secret", e->secret);
    rw_spawn(e);
}

long it_rw_health(struct it_env *e)
{
    char *url = it_fmt("%s/readyz", e->admin_url);
    long code = it_http("GET", url, NULL, 0, NULL, 1000);
    free(url);
    return code;
}

void it_rw_stop(struct it_env *e)
{
    if (!e->rw.pid)
        return;
    int st = proc_stop(&e->rw, 15000 * it_slow());
    expect_clean_exit(&e->rw, st);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void it_rmtree(const char *dir)
{
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

void it_expect_log_clean(struct it_env *e, const char *what, const char *needle)
{
    size_t n = 0;
    char *log = slurp(e->rw.err_path, &n);
    if (!log || !*needle)
        goto done;
    const char *hit = memmem(log, n, needle, strlen(needle));
    if (hit) {
        const char *bol = hit, *eol = strchr(hit, '\n');
        while (bol > log && bol[-1] != '\n')
            bol--;
        IT_EXPECT(false, "runwared's log contains the %s: %.*s", what,
                  (int)((eol ? eol : log + n) - bol), bol);
    }
done:
    free(log);
}

/* A sanitizer report in any child's stderr is a failure even if the child exited 0. */
static void expect_no_sanitizer_report(struct it_env *e)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error:"};
    char pattern[PATH_MAX];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "%s/*.stderr", e->dir);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *log = slurp(g.gl_pathv[i], NULL);
        for (size_t m = 0; log && m < sizeof(marks) / sizeof(marks[0]); m++)
            IT_EXPECT(!strstr(log, marks[m]), "%s holds a sanitizer report (\"%s\")", g.gl_pathv[i],
                      marks[m]);
        free(log);
    }
    globfree(&g);
}

void it_env_finish(struct it_env *e)
{
    if (e->finished)
        return;
    e->finished = true;
    if (e->peer)
        it_env_finish(e->peer);
    if (e->rw.name) {
        it_rw_stop(e);
        it_expect_log_clean(e, "API key", e->api_key);
        if (e->secret_len)
            it_expect_log_clean(e, "webhook secret", e->secret);
    }
    if (e->rc) {
        redisFree(e->rc);
        e->rc = NULL;
    }
    if (e->owner)
        return; /* the owner stops the rest, checks and prints every log */
    if (e->sim.name)
        expect_clean_exit(&e->sim, proc_stop(&e->sim, 10000 * it_slow()));
    if (e->redis.name)
        expect_clean_exit(&e->redis, proc_stop(&e->redis, 10000));
    expect_no_sanitizer_report(e);
    if (rwt_failed) {
        print_logs(e);
        fprintf(stderr, "(temp dir kept: %s)\n", e->dir);
    } else if (!getenv("RW_IT_KEEP")) {
        it_rmtree(e->dir);
    }
}

redisReply *it_redis(struct it_env *e, const char *fmt, ...)
{
    va_list ap;
    if (!e->rc)
        it_die(e, "redis command \"%s\" while there is no connection (redis-server stopped)", fmt);
    va_start(ap, fmt);
    redisReply *r = redisvCommand(e->rc, fmt, ap);
    va_end(ap);
    if (!r)
        it_die(e, "redis command \"%s\" failed: %s", fmt, e->rc->errstr);
    return r;
}

void it_key(struct it_env *e, char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "%s:%s", e->prefix, suffix);
}

void it_push(struct it_env *e, const char *payload)
{
    char key[128];
    it_key(e, key, sizeof(key), "jobs");
    redisReply *r = it_redis(e, "LPUSH %s %b", key, payload, strlen(payload));
    if (r->type != REDIS_REPLY_INTEGER)
        it_die(e, "LPUSH %s failed", key);
    freeReplyObject(r);
}

void it_push_many(struct it_env *e, char **payloads, size_t n)
{
    char key[128];
    it_key(e, key, sizeof(key), "jobs");
    const char **argv = calloc(n + 2, sizeof(char *));
    size_t *lens = calloc(n + 2, sizeof(size_t));
    if (!argv || !lens)
        it_die(e, "out of memory");
    argv[0] = "LPUSH";
    lens[0] = 5;
    argv[1] = key;
    lens[1] = strlen(key);
    for (size_t i = 0; i < n; i++) {
        argv[i + 2] = payloads[i];
        lens[i + 2] = strlen(payloads[i]);
    }
    redisReply *r = redisCommandArgv(e->rc, (int)n + 2, argv, lens);
    if (!r || r->type != REDIS_REPLY_INTEGER)
        it_die(e, "LPUSH of %zu jobs failed", n);
    freeReplyObject(r);
    free(argv);
    free(lens);
}

long long it_llen(struct it_env *e, const char *key)
{
    redisReply *r = it_redis(e, "LLEN %s", key);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static void records_add(struct it_env *e, struct it_records *out, const char *list, const char *raw,
                        size_t len)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        struct it_record *v = realloc(out->v, cap * sizeof(*v));
        if (!v)
            it_die(e, "out of memory");
        out->v = v;
        out->cap = cap;
    }
    struct it_record *rec = &out->v[out->n++];
    rec->list = strdup(list);
    rec->raw = strndup(raw, len);
    if (!rec->list || !rec->raw)
        it_die(e, "out of memory");
    rec->obj = json_tokener_parse(rec->raw);
}

size_t it_collect(struct it_env *e, const char *const *lists, size_t nlists, size_t want,
                  int timeout_ms, struct it_records *out)
{
    size_t got = 0;
    int64_t deadline = it_now_ms() + timeout_ms;
    const char **argv = calloc(nlists + 2, sizeof(char *));
    if (!argv)
        it_die(e, "out of memory");
    argv[0] = "BRPOP";
    for (size_t i = 0; i < nlists; i++)
        argv[i + 1] = lists[i];
    while (got < want) {
        int64_t left = deadline - it_now_ms();
        if (left <= 0)
            break;
        char tmo[32];
        snprintf(tmo, sizeof(tmo), "%.3f", (double)(left < 1000 ? left : 1000) / 1000.0);
        argv[nlists + 1] = tmo;
        redisReply *r = redisCommandArgv(e->rc, (int)nlists + 2, argv, NULL);
        if (!r)
            it_die(e, "BRPOP failed: %s", e->rc->errstr);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            records_add(e, out, r->element[0]->str, r->element[1]->str, r->element[1]->len);
            got++;
        } else if (r->type == REDIS_REPLY_ERROR) {
            it_die(e, "BRPOP: %s", r->str);
        }
        freeReplyObject(r);
        if (e->rw.pid > 0)
            die_if_exited(e, &e->rw, "while jobs were in flight");
        if (e->peer && e->peer->rw.pid > 0)
            die_if_exited(e, &e->peer->rw, "while jobs were in flight");
    }
    free(argv);
    return got;
}

void it_expect_no_more(struct it_env *e, const char *const *lists, size_t nlists, int grace_ms)
{
    it_sleep_ms(grace_ms);
    for (size_t i = 0; i < nlists; i++) {
        redisReply *r = it_redis(e, "LRANGE %s 0 -1", lists[i]);
        if (r->type == REDIS_REPLY_ARRAY) {
            for (size_t j = 0; j < r->elements; j++)
                IT_EXPECT(false, "extra record on %s after all jobs had one: %s", lists[i],
                          r->element[j]->str);
        }
        freeReplyObject(r);
    }
}

void it_expect_quiescent(struct it_env *e)
{
    char key[160];
    it_key(e, key, sizeof(key), "jobs");
    long long n = it_llen(e, key);
    IT_EXPECT(n == 0, "%s should be empty once every job has its record, holds %lld", key, n);
    char sfx[64];
    snprintf(sfx, sizeof(sfx), "processing:%s", e->instance);
    it_key(e, key, sizeof(key), sfx);
    n = it_llen(e, key);
    IT_EXPECT(n == 0, "%s should be empty once every job has its record, holds %lld", key, n);
    snprintf(sfx, sizeof(sfx), "submitting:%s", e->instance);
    it_key(e, key, sizeof(key), sfx);
    redisReply *r = it_redis(e, "SMEMBERS %s", key);
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t j = 0; j < r->elements; j++)
            IT_EXPECT(false, "%s should be empty once every job has its record, holds task %s", key,
                      r->element[j]->str);
    } else {
        IT_EXPECT(false, "SMEMBERS %s: unexpected reply type %d", key, r->type);
    }
    freeReplyObject(r);
    it_key(e, key, sizeof(key), "pending");
    r = it_redis(e, "ZRANGE %s 0 -1", key);
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t j = 0; j < r->elements; j++)
            IT_EXPECT(false, "%s should be empty once every job has its record, holds task %s", key,
                      r->element[j]->str);
    } else {
        IT_EXPECT(false, "ZRANGE %s: unexpected reply type %d", key, r->type);
    }
    freeReplyObject(r);
}

void it_records_free(struct it_records *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].list);
        free(r->v[i].raw);
        json_object_put(r->v[i].obj);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

struct it_record *it_records_find(struct it_records *r, const char *uuid)
{
    for (size_t i = 0; i < r->n; i++) {
        const char *u = it_jstr(r->v[i].obj, "taskUUID");
        if (u && strcmp(u, uuid) == 0)
            return &r->v[i];
    }
    return NULL;
}

json_object *it_jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

const char *it_jstr(json_object *o, const char *key)
{
    json_object *v = it_jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

long long it_jint(json_object *o, const char *key)
{
    json_object *v = it_jget(o, key);
    return v && json_object_is_type(v, json_type_int) ? (long long)json_object_get_int64(v) : -1;
}

bool it_json_equal(json_object *a, json_object *b)
{
    if (!a || !b)
        return a == b;
    return json_object_equal(a, b) != 0;
}

bool it_check_record_shape(const struct it_record *rec, const char *what)
{
    json_object *o = rec->obj;
    if (!o || !json_object_is_type(o, json_type_object)) {
        IT_EXPECT(false, "%s: record on %s is not a JSON object: %s", what, rec->list, rec->raw);
        return false;
    }
    int before = rwt_failed;
    const char *status = it_jstr(o, "status");
    json_object *data = it_jget(o, "data"), *errors = it_jget(o, "errors");
    long long taken = it_jint(o, "takenAt"), done = it_jint(o, "completedAt");
    IT_EXPECT(it_jstr(o, "taskUUID"), "%s: record has no string taskUUID: %s", what, rec->raw);
    IT_EXPECT(status && (!strcmp(status, "success") || !strcmp(status, "error")),
              "%s: record status should be \"success\" or \"error\": %s", what, rec->raw);
    IT_EXPECT(data && json_object_is_type(data, json_type_array),
              "%s: record \"data\" should be an array: %s", what, rec->raw);
    IT_EXPECT(errors && json_object_is_type(errors, json_type_array),
              "%s: record \"errors\" should be an array: %s", what, rec->raw);
    IT_EXPECT(json_object_object_get_ex(o, "meta", NULL), "%s: record has no \"meta\": %s", what,
              rec->raw);
    IT_EXPECT(taken > 0, "%s: record takenAt should be a positive integer (ms): %s", what,
              rec->raw);
    IT_EXPECT(done >= taken, "%s: record completedAt should be >= takenAt: %s", what, rec->raw);
    if (status && errors && data && json_object_is_type(errors, json_type_array)) {
        size_t ne = json_object_array_length(errors);
        if (!strcmp(status, "success"))
            IT_EXPECT(ne == 0, "%s: success record with errors: %s", what, rec->raw);
        else
            IT_EXPECT(ne > 0, "%s: error record without errors: %s", what, rec->raw);
        for (size_t i = 0; i < ne; i++) {
            json_object *er = json_object_array_get_idx(errors, i);
            IT_EXPECT(it_jstr(er, "code") && it_jstr(er, "message"),
                      "%s: errors[%zu] should have string code and message: %s", what, i, rec->raw);
        }
    }
    return rwt_failed == before;
}

const char *it_output_field(const char *output_type)
{
    if (output_type && !strcmp(output_type, "base64Data"))
        return "imageBase64Data";
    if (output_type && !strcmp(output_type, "dataURI"))
        return "imageDataURI";
    return "imageURL";
}

bool it_check_item(json_object *item, const char *what, const char *uuid, const char *field)
{
    static const char *const outputs[] = {"imageURL", "imageBase64Data", "imageDataURI"};
    const char *js = item ? json_object_to_json_string(item) : "null";
    int before = rwt_failed;
    if (!item || !json_object_is_type(item, json_type_object)) {
        IT_EXPECT(false, "%s: item is not an object: %s", what, js);
        return false;
    }
    const char *tu = it_jstr(item, "taskUUID"), *iu = it_jstr(item, "imageUUID");
    IT_EXPECT(tu && !strcmp(tu, uuid), "%s: item taskUUID should be %s: %s", what, uuid, js);
    IT_EXPECT(iu && *iu, "%s: item has no imageUUID: %s", what, js);
    for (size_t i = 0; i < 3; i++) {
        const char *v = it_jstr(item, outputs[i]);
        if (!strcmp(outputs[i], field))
            IT_EXPECT(v && *v, "%s: item should carry %s: %s", what, field, js);
        else
            IT_EXPECT(!it_jget(item, outputs[i]), "%s: item should carry only %s, has %s: %s", what,
                      field, outputs[i], js);
    }
    return rwt_failed == before;
}

bool it_check_success(const struct it_record *rec, const char *what, const char *uuid,
                      const char *list, int n, const char *output_type, json_object *meta)
{
    if (!it_check_record_shape(rec, what))
        return false;
    int before = rwt_failed;
    json_object *o = rec->obj, *data = it_jget(o, "data");
    const char *tu = it_jstr(o, "taskUUID"), *status = it_jstr(o, "status");
    IT_EXPECT(!uuid || !strcmp(tu, uuid), "%s: record taskUUID %s, expected %s", what, tu, uuid);
    IT_EXPECT(!strcmp(rec->list, list), "%s: record arrived on %s, expected %s", what, rec->list,
              list);
    IT_EXPECT(!strcmp(status, "success"), "%s: status \"%s\", expected \"success\": %s", what,
              status, rec->raw);
    size_t nd = json_object_array_length(data);
    IT_EXPECT(nd == (size_t)n, "%s: %zu items in data, expected numberResults %d: %s", what, nd, n,
              rec->raw);
    const char *field = it_output_field(output_type);
    for (size_t i = 0; i < nd; i++) {
        json_object *item = json_object_array_get_idx(data, i);
        char w[256];
        snprintf(w, sizeof(w), "%s data[%zu]", what, i);
        it_check_item(item, w, tu, field);
        const char *iu = it_jstr(item, "imageUUID");
        for (size_t j = 0; iu && j < i; j++) {
            const char *ju = it_jstr(json_object_array_get_idx(data, j), "imageUUID");
            IT_EXPECT(!ju || strcmp(iu, ju), "%s: data[%zu] and data[%zu] share imageUUID %s", what,
                      j, i, iu);
        }
    }
    json_object *got = it_jget(o, "meta");
    IT_EXPECT(it_json_equal(got, meta), "%s: meta %s, expected %s", what,
              got ? json_object_to_json_string(got) : "null",
              meta ? json_object_to_json_string(meta) : "null");
    return rwt_failed == before;
}

bool it_check_error(const struct it_record *rec, const char *what, const char *code,
                    const char *param)
{
    if (!it_check_record_shape(rec, what))
        return false;
    int before = rwt_failed;
    json_object *o = rec->obj, *errors = it_jget(o, "errors"), *data = it_jget(o, "data");
    const char *status = it_jstr(o, "status");
    IT_EXPECT(!strcmp(status, "error"), "%s: status \"%s\", expected \"error\": %s", what, status,
              rec->raw);
    IT_EXPECT(json_object_array_length(data) == 0, "%s: error record should have no data: %s", what,
              rec->raw);
    size_t ne = json_object_array_length(errors);
    IT_EXPECT(ne == 1, "%s: expected exactly one error (%s), got %zu: %s", what, code, ne,
              rec->raw);
    if (ne >= 1) {
        json_object *er = json_object_array_get_idx(errors, 0);
        const char *c = it_jstr(er, "code"), *p = it_jstr(er, "parameter");
        IT_EXPECT(c && !strcmp(c, code), "%s: error code %s, expected %s: %s", what,
                  c ? c : "(none)", code, rec->raw);
        IT_EXPECT(!param || (p && !strcmp(p, param)), "%s: error parameter %s, expected %s: %s",
                  what, p ? p : "(none)", param ? param : "", rec->raw);
    }
    return rwt_failed == before;
}

struct membuf {
    char *p;
    size_t n;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct membuf *b = ud;
    size_t add = size * nmemb;
    char *np = realloc(b->p, b->n + add + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, ptr, add);
    b->p = np;
    b->n += add;
    b->p[b->n] = '\0';
    return add;
}

long it_http(const char *method, const char *url, const char *body, size_t bodylen, char **resp,
             int timeout_ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    struct membuf b = {NULL, 0};
    long code = 0;
    if (resp)
        *resp = NULL;
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)bodylen);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (resp)
        *resp = b.p ? b.p : strdup("");
    else
        free(b.p);
    return code;
}

long long it_metric_in(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atoll(p + n + 1);
    return -1;
}

long long it_metric(struct it_env *e, const char *series)
{
    char *url = it_fmt("%s/metrics", e->admin_url), *text = NULL;
    long long v =
        it_http("GET", url, NULL, 0, &text, 5000) == 200 ? it_metric_in(text, series) : -1;

    free(text);
    free(url);
    return v;
}

json_object *it_sim_stats(struct it_env *e)
{
    char *url = it_fmt("%s/_sim/stats", e->sim_url), *body = NULL;
    long code = it_http("GET", url, NULL, 0, &body, 5000);
    json_object *o = code == 200 && body ? json_tokener_parse(body) : NULL;
    free(url);
    free(body);
    return o;
}

json_object *it_sim_task(struct it_env *e, const char *uuid)
{
    char *url = it_fmt("%s/_sim/task/%s", e->sim_url, uuid), *body = NULL;
    long code = it_http("GET", url, NULL, 0, &body, 5000);
    json_object *o = code == 200 && body ? json_tokener_parse(body) : NULL;
    free(url);
    free(body);
    return o;
}

long long it_stat(json_object *stats, const char *name)
{
    return it_jint(stats, name);
}

void it_batch_make(struct it_env *e, struct it_batch *b, int njobs, int first, const char *tag,
                   const char *other, int size)
{
    static const char *const outputs[] = {"URL", "base64Data", "dataURI"};

    memset(b, 0, sizeof(*b));
    if (!(b->jobs = calloc((size_t)njobs, sizeof(*b->jobs))))
        it_die(e, "out of memory");
    b->njobs = njobs;
    b->first = first;
    it_key(e, b->results, sizeof(b->results), "results");
    b->lists[0] = b->results;
    b->lists[1] = other;
    for (int k = 0; k < njobs; k++) {
        struct it_job *j = &b->jobs[k];
        int i = first + k;

        it_uuid(j->uuid);
        j->n = 1 + i % 4;
        j->output = outputs[i % 3];
        j->list = i % 5 ? b->results : other;
        b->images += j->n;
        j->payload =
            it_fmt("{\"task\":{\"positivePrompt\":\"%s job %d\",\"numberResults\":%d,"
                   "\"outputType\":\"%s\",\"width\":%d,\"height\":%d,"
                   "\"taskUUID\":\"%s\"},\"meta\":{\"i\":%d}%s%s%s}",
                   tag, i, j->n, j->output, size, size, j->uuid, i,
                   i % 5 ? "" : ",\"resultList\":\"", i % 5 ? "" : other, i % 5 ? "" : "\"");
    }
}

void it_batch_push(struct it_env *e, struct it_batch *b, int chunk)
{
    char **payloads = calloc((size_t)b->njobs, sizeof(*payloads));

    if (!payloads)
        it_die(e, "out of memory");
    if (chunk <= 0)
        chunk = b->njobs;
    for (int i = 0; i < b->njobs; i++)
        payloads[i] = b->jobs[i].payload;
    for (int at = 0; at < b->njobs; at += chunk)
        it_push_many(e, payloads + at, (size_t)(b->njobs - at < chunk ? b->njobs - at : chunk));
    free(payloads);
}

/* The sim saw the task submitted once and every image it delivered is in the record. */
static void batch_check_sim(struct it_env *e, const struct it_job *j, const struct it_record *rec,
                            const char *what)
{
    json_object *t = it_sim_task(e, j->uuid), *data = it_jget(rec->obj, "data");
    json_object *dl = it_jget(t, "deliveries");

    IT_EXPECT(it_jint(t, "submissions") == 1, "%s: submitted %lld times, expected once", what,
              it_jint(t, "submissions"));
    for (size_t d = 0; dl && d < json_object_array_length(dl); d++) {
        json_object *del = json_object_array_get_idx(dl, d);
        const char *kind = it_jstr(del, "kind"), *iu = it_jstr(del, "imageUUID");
        bool found = false;

        if (!kind || strcmp(kind, "image") || !iu)
            continue;
        for (size_t x = 0; x < json_object_array_length(data) && !found; x++)
            found = !strcmp(it_jstr(json_object_array_get_idx(data, x), "imageUUID") ?: "", iu);
        IT_EXPECT(found, "%s: the sim delivered image %s, missing from the record %s", what, iu,
                  rec->raw);
    }
    json_object_put(t);
}

void it_batch_check(struct it_env *e, const struct it_batch *b, struct it_records *recs,
                    bool sim_once)
{
    for (int k = 0; k < b->njobs; k++) {
        const struct it_job *j = &b->jobs[k];
        int i = b->first + k, count = 0;
        char *what = it_fmt("job %d (task %s, numberResults %d, %s)", i, j->uuid, j->n, j->output);
        struct it_record *rec = NULL;
        char meta[32];
        json_object *m;

        for (size_t r = 0; r < recs->n; r++) {
            const char *u = it_jstr(recs->v[r].obj, "taskUUID");

            if (u && !strcmp(u, j->uuid) && count++ == 0)
                rec = &recs->v[r];
        }
        IT_EXPECT(count == 1, "%s: %d records, expected exactly one", what, count);
        snprintf(meta, sizeof(meta), "{\"i\":%d}", i);
        m = json_tokener_parse(meta);
        if (rec && it_check_success(rec, what, j->uuid, j->list, j->n, j->output, m) && sim_once)
            batch_check_sim(e, j, rec, what);
        json_object_put(m);
        free(what);
    }
}

void it_batch_expect_known(const struct it_batch *const *bs, size_t nb, struct it_records *recs)
{
    for (size_t r = 0; r < recs->n; r++) {
        const char *u = it_jstr(recs->v[r].obj, "taskUUID");
        bool known = false;

        for (size_t k = 0; u && k < nb && !known; k++)
            for (int i = 0; i < bs[k]->njobs && !known; i++)
                known = !strcmp(u, bs[k]->jobs[i].uuid);
        IT_EXPECT(known, "record for no job: %s", recs->v[r].raw);
    }
}

void it_batch_free(struct it_batch *b)
{
    for (int i = 0; i < b->njobs; i++)
        free(b->jobs[i].payload);
    free(b->jobs);
    b->jobs = NULL;
}

size_t it_batch_collect_all(struct it_env *e, struct it_batch *b, int stall_ms,
                            struct it_records *recs)
{
    long long requests = -1;
    int64_t last = it_now_ms();

    while (recs->n < (size_t)b->njobs) {
        size_t n = it_collect(e, b->lists, 2, (size_t)b->njobs - recs->n, 1000, recs);
        json_object *st = it_sim_stats(e);
        long long r = it_stat(st, "requests");

        json_object_put(st);
        if (n > 0 || r != requests)
            last = it_now_ms();
        requests = r;
        if (it_now_ms() - last > stall_ms) {
            IT_EXPECT(false, "no record and no request to the sim for %d ms; %zu of %d records",
                      stall_ms, recs->n, b->njobs);
            break;
        }
    }
    return recs->n;
}

void it_batch_check_all(struct it_env *e, const struct it_batch *b, struct it_records *recs)
{
    it_batch_check(e, b, recs, false);
    it_batch_expect_known(&b, 1, recs);
    it_expect_no_more(e, b->lists, 2, 1500);
    it_expect_quiescent(e);
}

int it_tcp_connect(struct it_env *e)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(e->rw_port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        it_die(e, "connect 127.0.0.1:%d: %s", e->rw_port, strerror(errno));
    return fd;
}

/* Reads until `want` has arrived (or EOF, or timeout_ms); NUL-terminated, at most cap. */
size_t it_read_until(int fd, char *buf, size_t cap, const char *want, int timeout_ms)
{
    size_t n = 0;
    int64_t deadline = it_now_ms() + timeout_ms;

    buf[0] = '\0';
    while (n + 1 < cap && !strstr(buf, want)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - it_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
    }
    return n;
}

/* Reads the status line and headers the server sends (or what it sends before closing). */
size_t it_read_answer(int fd, char *buf, size_t cap, int timeout_ms)
{
    return it_read_until(fd, buf, cap, "\r\n\r\n", timeout_ms);
}
