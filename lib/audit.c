/*
 * payguard - audit records as JSON lines.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "audit.h"
#include "buf.h"
#include "log.h"
#include "mask.h"

#define AUDIT_STR_MAX	256	/* bytes kept of a request string */
#define AUDIT_LINE_MAX	(64u << 10)

static const char *const sev_names[SEV__MAX] = {
	"LOW",		/* SEV_LOW */
	"MEDIUM",	/* SEV_MEDIUM */
	"HIGH",		/* SEV_HIGH */
	"CRITICAL",	/* SEV_CRITICAL */
};

const char *
audit_sev_name(enum audit_sev s)
{
	return (unsigned)s < SEV__MAX ? sev_names[s] : "LOW";
}

/* Bounded copy without control characters (CR/LF cannot split lines). */
static void
sanitize(const char *in, char *out, size_t outsz)
{
	size_t	 i, n = 0;

	for (i = 0; in != NULL && in[i] != '\0' && n + 1 < outsz; i++)
		out[n++] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ?
		    ' ' : in[i];
	out[n] = '\0';
}

static void
uuid4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 r[16];
	size_t		 i, j = 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[r[i] >> 4];
		out[j++] = hex[r[i] & 15];
	}
	out[j] = '\0';
}

static void
rfc3339_ms(char out[96])
{
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	char	 s[AUDIT_STR_MAX];

	sanitize(v, s, sizeof(s));
	json_object_object_add(o, k, json_object_new_string(s));
}

enum pg_err
audit_format(const struct audit_ctx *ctx, struct audit_rec *rec,
    char **line, size_t *len)
{
	struct json_object	*o = NULL;
	const char		*s;
	char			 id[37], ts[96];
	struct buf		 b;
	enum pg_err		 e = PG_ENOMEM;

	*line = NULL;
	buf_init(&b, AUDIT_LINE_MAX);
	if ((o = json_object_new_object()) == NULL)
		goto out;
	uuid4(id);
	rfc3339_ms(ts);
	json_object_object_add(o, "event_id", json_object_new_string(id));
	add_str(o, "event_type", rec->event_type);
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	add_str(o, "source_ip", ctx->source_ip);
	add_str(o, "user_agent", ctx->user_agent);
	add_str(o, "request_id", ctx->request_id);
	json_object_object_add(o, "severity",
	    json_object_new_string(audit_sev_name(rec->severity)));
	add_str(o, "identity", ctx->identity ? ctx->identity : "anonymous");
	json_object_object_add(o, "outcome",
	    json_object_new_string(rec->success ? "success" : "failure"));
	add_str(o, "resource", rec->resource ? rec->resource : "");
	if (rec->details == NULL)
		rec->details = json_object_new_object();
	/* Masked here, so no caller can forget it. */
	mask_json(rec->details);
	json_object_object_add(o, "details", rec->details);
	rec->details = NULL;
	json_object_object_add(o, "mitigated",
	    json_object_new_boolean(rec->mitigated));
	if (rec->mitigation_action != NULL)
		add_str(o, "mitigation_action", rec->mitigation_action);
	else
		json_object_object_add(o, "mitigation_action", NULL);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		goto out;
	if ((e = buf_puts(&b, s)) != PG_OK || (e = buf_putc(&b, '\n')) != PG_OK)
		goto out;
	*line = buf_take(&b, len);
	e = PG_OK;
out:
	json_object_put(rec->details);
	rec->details = NULL;
	json_object_put(o);
	buf_free(&b);
	return e;
}

enum pg_err
audit_emit(const struct audit_ctx *ctx, struct audit_rec *rec)
{
	char		 path[4096];
	char		*line = NULL;
	size_t		 len = 0;
	ssize_t		 w;
	int		 fd = -1;
	enum pg_err	 e;

	if ((e = audit_format(ctx, rec, &line, &len)) != PG_OK)
		goto out;
	e = PG_SYSTEM;
	snprintf(path, sizeof(path), "%s/logs", ctx->state_dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/logs/security_audit.log",
	    ctx->state_dir);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0) {
		log_warn("open %s", path);
		goto out;
	}
	/* One write with O_APPEND: records of concurrent processes never
	 * interleave. */
	if ((w = write(fd, line, len)) < 0 || (size_t)w != len) {
		log_warn("audit write");
		goto out;
	}
	e = PG_OK;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	return e;
}
