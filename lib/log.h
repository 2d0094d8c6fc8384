/*
 * payguard - logging in the warn(3) style, to stderr (the web server's
 * error log).  Every line carries the program name and, inside a request,
 * the request id.  One write(2) per line so processes never interleave.
 * Never pass a secret, a signature or a request body to these.
 */
#ifndef PG_LOG_H
#define PG_LOG_H

/* Sets the program name shown on every line (pointer is kept). */
void	log_init(const char *progname);
/* Sets (or with NULL clears) the request id shown on every line (copied). */
void	log_set_request_id(const char *rid);
/* Logs a warning with ": strerror(errno)" appended. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs a warning as is. */
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs an informational line (suppressed unless PAYGUARD_DEBUG is set). */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PG_LOG_H */
