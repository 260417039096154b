/* systemd notifications (READY, STATUS, STOPPING, WATCHDOG) over $NOTIFY_SOCKET, no libsystemd. */
#ifndef RWD_NOTIFY_H
#define RWD_NOTIFY_H

#include <event2/event.h>

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC; a no-op outside systemd. Returns -1 on failure. */
int rwd_notify_init(struct event_base *base);
void rwd_notify(const char *msg); /* e.g. "READY=1\nSTATUS=serving" */
void rwd_notify_free(void);

#endif
