/* Log lines to stderr, with journald priority prefixes when running under systemd. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rw_config.h"

static int log_level = RW_LOG_INFO;
static int log_journal; /* stderr is connected to the journal */

void log_init(int level)
{
    log_level = level;
    log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_setlevel(int level)
{
    log_level = level;
}

/* syslog priorities, as sd-daemon(3) prefixes want them */
static const int prio[] = {
    [RW_LOG_ERR] = 3, [RW_LOG_WARN] = 4, [RW_LOG_INFO] = 6, [RW_LOG_DEBUG] = 7};
static const char *const label[] = {[RW_LOG_ERR] = "error",
                                    [RW_LOG_WARN] = "warning",
                                    [RW_LOG_INFO] = "info",
                                    [RW_LOG_DEBUG] = "debug"};

__attribute__((format(printf, 3, 0))) static void vlog(int level, const char *errstr,
                                                       const char *fmt, va_list ap)
{
    char msg[1024];

    if (level > log_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* one message, one line: text from jobs or callbacks cannot forge log lines */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (log_journal) {
        fprintf(stderr, "<%d>%s%s%s\n", prio[level], msg, errstr ? ": " : "", errstr ? errstr : "");
    } else {
        struct timespec ts;
        struct tm tm;
        char when[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ runwared %s: %s%s%s\n", when, ts.tv_nsec / 1000000, label[level],
                msg, errstr ? ": " : "", errstr ? errstr : "");
    }
}

void log_warn(const char *fmt, ...)
{
    const char *e = strerror(errno);
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_WARN, e, fmt, ap);
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_WARN, NULL, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_INFO, NULL, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_DEBUG, NULL, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    const char *e = strerror(errno);
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_ERR, e, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(RW_LOG_ERR, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
