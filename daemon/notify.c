/* systemd notifications (READY, STATUS, STOPPING, WATCHDOG) over $NOTIFY_SOCKET, no libsystemd.
 * The watchdog pings come from a timer of the event loop at half of WATCHDOG_USEC, so a loop
 * that stops turning stops them. */
#include "notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static struct event *watchdog_ev;

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    rwd_notify("WATCHDOG=1");
}

int rwd_notify_init(struct event_base *base)
{
    const char *path = getenv("NOTIFY_SOCKET"), *wd = getenv("WATCHDOG_USEC"), *pid;
    size_t len;

    if (!path || !*path)
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(notify_addr.sun_path)) {
        log_warnx("NOTIFY_SOCKET %s: not a socket path; notifications off", path);
        return 0;
    }
    memset(&notify_addr, 0, sizeof(notify_addr));
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, path, len);
    if (path[0] == '@')
        notify_addr.sun_path[0] = '\0'; /* abstract namespace */
    notify_len = offsetof(struct sockaddr_un, sun_path) + len;
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (notify_fd < 0) {
        log_warn("notify socket");
        return -1;
    }
    /* WATCHDOG_PID, when set, names the process systemd watches: not us after a fork/exec */
    pid = getenv("WATCHDOG_PID");
    if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
        wd = NULL;
    if (wd && strtoull(wd, NULL, 10) > 0) {
        unsigned long long half = strtoull(wd, NULL, 10) / 2;
        struct timeval tv = {half / 1000000, half % 1000000};

        watchdog_ev = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
        if (!watchdog_ev || event_add(watchdog_ev, &tv) != 0)
            return -1;
    }
    return 0;
}

void rwd_notify(const char *msg)
{
    if (notify_fd < 0)
        return;
    if (sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
               notify_len) < 0)
        log_warn("sd_notify");
}

void rwd_notify_free(void)
{
    if (watchdog_ev)
        event_free(watchdog_ev);
    watchdog_ev = NULL;
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}
