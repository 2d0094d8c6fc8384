/*
 * payguard - warn(3)-style logging to stderr, one write per line.  Every
 * line passes the card-number masker (mask_text) here, in one place.
 *
 * The only globals here are the program name and the current request id,
 * both set by the program's main loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forkpage.h"
#include "log.h"
#include "mask.h"
#include "pci.h"

static const char	*log_prog = "payguard";
static char		 log_rid[80];
static int		 log_debug = -1;

void
log_init(const char *progname)
{
	log_prog = progname;
}

void
log_set_request_id(const char *rid)
{
	if (rid == NULL)
		log_rid[0] = '\0';
	else
		snprintf(log_rid, sizeof(log_rid), "%s", rid);
}

static void
log_emit(const char *fmt, va_list ap, const char *errstr)
{
	char	 line[2048], *masked = NULL;
	size_t	 n, mlen = 0;
	int	 r;

	if (log_rid[0] != '\0')
		r = snprintf(line, sizeof(line), "%s[%d] [%s]: ",
		    log_prog, (int)forkpage_pid(), log_rid);
	else
		r = snprintf(line, sizeof(line), "%s[%d]: ",
		    log_prog, (int)forkpage_pid());
	n = r < 0 ? 0 : (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (errstr != NULL && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", errstr);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One line per record: a CR or LF inside cannot forge a new line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	/* Card numbers never reach a log, whoever formatted the line
	 * (only where detection finds one: ids and timestamps stay). */
	if (!pci_text_has_pan(line, n))
		;
	else if (mask_text_len(line, n, &masked, &mlen) == PG_OK &&
	    mlen < sizeof(line)) {
		memcpy(line, masked, mlen);
		n = mlen;
	} else	/* fail closed: no digit at all */
		for (size_t i = 0; i < n; i++)
			if (line[i] >= '0' && line[i] <= '9')
				line[i] = '*';
	free(masked);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_emit(fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_debug < 0)
		log_debug = getenv("PAYGUARD_DEBUG") != NULL;
	if (!log_debug)
		return;
	va_start(ap, fmt);
	log_emit(fmt, ap, NULL);
	va_end(ap);
}
