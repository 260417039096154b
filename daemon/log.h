/* Logging in the OpenBSD manner: log_warn adds strerror(errno), fatal never returns. */
#ifndef RWD_LOG_H
#define RWD_LOG_H

#define RWD_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* level: enum rw_log_level. Lines go to stderr; under systemd (JOURNAL_STREAM set) they carry a
 * "<N>" priority prefix instead of a timestamp. */
void log_init(int level);
void log_setlevel(int level);

void log_warn(const char *fmt, ...) RWD_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) RWD_PRINTF(1, 2);
void log_info(const char *fmt, ...) RWD_PRINTF(1, 2);
void log_debug(const char *fmt, ...) RWD_PRINTF(1, 2);
_Noreturn void fatal(const char *fmt, ...) RWD_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) RWD_PRINTF(1, 2);

#endif
