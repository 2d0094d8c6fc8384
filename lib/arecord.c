/*
 * payguard - one audit record (see arecord.h): the line is built with
 * json-c (so every string is escaped); the chain fields are appended by
 * the writer (audit.c) under its append lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arecord.h"
#include "codec.h"
#include "crypto.h"
#include "mask.h"
#include "pci.h"
#include "rand.h"

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
	unsigned char	 r[16];
	char		 h[33];

	if (rand_bytes(r, sizeof(r)) != PG_OK)
		memset(r, 0, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	codec_hex_encode(r, sizeof(r), h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}
static void
rfc3339_ms(const struct timespec *ts, char out[96])
{
	struct tm	 tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

/*
 * Every string of a record (resource, user agent, request id, identity,
 * ...) is bounded, stripped of control characters and masked here, so no
 * caller can forget: a card number in a URL or a header never reaches the
 * log, the index or the pages and exports built from them.
 */
static void
add_str(struct json_object *o, const char *k, const char *v, char *copy)
{
	char	 s[ARECORD_STR_MAX], *m = NULL;
	size_t	 mlen = 0, i;

	sanitize(v, s, sizeof(s));
	/* Only where detection finds a card number (Luhn, length and an
	 * IIN over the digit groups): the eager masker would also star
	 * ordinary long numbers such as the index keys in resources. */
	if (!pci_text_has_pan(s, strlen(s)))
		;
	else if (mask_text_len(s, strlen(s), &m, &mlen) == PG_OK &&
	    mlen < sizeof(s))
		memcpy(s, m, mlen + 1);
	else	/* fail closed: no digit at all */
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] >= '0' && s[i] <= '9')
				s[i] = '*';
	free(m);
	json_object_object_add(o, k, json_object_new_string(s));
	if (copy != NULL)
		memcpy(copy, s, strlen(s) + 1);
}

/* The rate-limit operation a record names, before masking. */
static void
rate_op(const struct arecord *rec, struct arecord_fields *f)
{
	struct json_object	*v;

	f->has_op = 0;
	if (aevent_metric(rec->type) != AEM_RATE_LIMIT)
		return;
	if (rec->details != NULL &&
	    json_object_object_get_ex(rec->details, "operation", &v) &&
	    json_object_is_type(v, json_type_string))
		sanitize(json_object_get_string(v), f->op, sizeof(f->op));
	else
		sanitize(rec->resource ? rec->resource : "unknown", f->op,
		    sizeof(f->op));
	f->has_op = 1;
}

enum pg_err
arecord_build(const struct arecord_who *ctx, struct arecord *rec,
    const struct timespec *now, struct buf *b, struct arecord_fields *f)
{
	struct json_object	*o = NULL;
	struct arecord_fields	 dummy;
	const char		*s;
	char			 id[37], ts[96];
	enum pg_err		 e = PG_ENOMEM;

	if (f == NULL)
		f = &dummy;
	rate_op(rec, f);
	if ((o = json_object_new_object()) == NULL)
		goto out;
	uuid4(id);
	rfc3339_ms(now, ts);
	json_object_object_add(o, "event_id", json_object_new_string(id));
	json_object_object_add(o, "event_type",
	    json_object_new_string(aevent_name(rec->type)));
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	add_str(o, "source_ip", ctx->source_ip, f->ip);
	add_str(o, "user_agent", ctx->user_agent, NULL);
	add_str(o, "request_id", ctx->request_id, NULL);
	json_object_object_add(o, "severity",
	    json_object_new_string(aevent_sev_name(rec->severity)));
	add_str(o, "identity", ctx->identity ? ctx->identity : "anonymous",
	    f->identity);
	json_object_object_add(o, "outcome",
	    json_object_new_string(rec->success ? "success" : "failure"));
	add_str(o, "resource", rec->resource ? rec->resource : "", NULL);
	if (rec->details == NULL)
		rec->details = json_object_new_object();
	/* Masked here, so no caller can forget it. */
	mask_json(rec->details);
	json_object_object_add(o, "details", rec->details);
	rec->details = NULL;
	json_object_object_add(o, "mitigated",
	    json_object_new_boolean(rec->mitigated));
	if (rec->mitigation_action != NULL)
		add_str(o, "mitigation_action", rec->mitigation_action, NULL);
	else
		json_object_object_add(o, "mitigation_action", NULL);
	f->node[0] = '\0';
	if (ctx->node != NULL && ctx->node[0] != '\0')
		add_str(o, "node", ctx->node, f->node);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || strlen(s) < 2)
		goto out;
	e = buf_append(b, s, strlen(s) - 1);
out:
	json_object_put(rec->details);
	rec->details = NULL;
	json_object_put(o);
	return e;
}

_Static_assert(ARECORD_HASH_LEN == 32, "a record hash is a SHA-256");

void
arecord_hash(const void *p, size_t n, unsigned char out[ARECORD_HASH_LEN])
{
	(void)crypto_sha256(p, n, out);	/* zeroed on failure */
}

/* The chain's hex: 2n lowercase digits, as written (codec_hex_encode);
 * anything else is not a chain field of ours. */
static int
hex_dec(const char *s, unsigned char *out, size_t n)
{
	char	 back[2 * ARECORD_HASH_LEN + 1];

	if (n > ARECORD_HASH_LEN || codec_hex_decode(s, n, out) != 0)
		return -1;
	codec_hex_encode(out, n, back);
	return memcmp(back, s, 2 * n) == 0 ? 0 : -1;
}

/* Last occurrence of needle (nlen) in p[0..n). */
static const char *
memrmem(const char *p, size_t n, const char *needle, size_t nlen)
{
	size_t	 i;

	if (n < nlen)
		return NULL;
	for (i = n - nlen + 1; i > 0; i--)
		if (memcmp(p + i - 1, needle, nlen) == 0)
			return p + i - 1;
	return NULL;
}

/*
 * The chain suffix is fixed: ,"seq":N,"prev":"<64>","hash":"<64>"}.  A
 * raw ," cannot occur inside a json-c string (quotes are escaped), so
 * the last ,"seq": of a line is ours.
 */
enum pg_err
arecord_chain_parse(const char *line, size_t len, uint64_t *seq,
    unsigned char prev[ARECORD_HASH_LEN], unsigned char hash[ARECORD_HASH_LEN],
    int *self_ok)
{
	static const char ks[] = ",\"seq\":", kp[] = ",\"prev\":\"",
	    kh[] = "\",\"hash\":\"";
	unsigned char	 h[ARECORD_HASH_LEN];
	const char	*p, *q, *end = line + len;
	uint64_t	 v = 0;

	if (self_ok != NULL)
		*self_ok = 0;
	/* ...,"hash":"<64 hex>"} */
	if (len < 2 * ARECORD_HASH_LEN + 2 || end[-1] != '}' ||
	    end[-2] != '"')
		return PG_NOTFOUND;
	if ((p = memrmem(line, len, ks, sizeof(ks) - 1)) == NULL)
		return PG_NOTFOUND;
	q = p + sizeof(ks) - 1;
	if (q >= end || *q < '0' || *q > '9')
		return PG_NOTFOUND;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - 9) / 10)
			return PG_NOTFOUND;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	if ((size_t)(end - q) != sizeof(kp) - 1 + 2 * ARECORD_HASH_LEN +
	    sizeof(kh) - 1 + 2 * ARECORD_HASH_LEN + 2 ||
	    memcmp(q, kp, sizeof(kp) - 1) != 0)
		return PG_NOTFOUND;
	q += sizeof(kp) - 1;
	if (hex_dec(q, prev, ARECORD_HASH_LEN) != 0)
		return PG_NOTFOUND;
	q += 2 * ARECORD_HASH_LEN;
	if (memcmp(q, kh, sizeof(kh) - 1) != 0)
		return PG_NOTFOUND;
	/* The hash covers everything up to the closing quote of prev. */
	if (self_ok != NULL)
		arecord_hash(line, (size_t)(q + 1 - line), h);
	q += sizeof(kh) - 1;
	if (hex_dec(q, hash, ARECORD_HASH_LEN) != 0)
		return PG_NOTFOUND;
	*seq = v;
	if (self_ok != NULL)
		*self_ok = memcmp(h, hash, ARECORD_HASH_LEN) == 0;
	return PG_OK;
}

/* "2026-11-22T15:01:02.123Z" -> microseconds (ms precision). */
static int
parse_ts(const char *s, uint64_t *us)
{
	struct tm	 tm;
	int		 ms;
	char		 z;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &ms, &z) != 8 || z != 'Z' || strlen(s) != 24)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1 || t < 0)
		return -1;
	*us = ((uint64_t)t * 1000u + (uint64_t)ms) * 1000u;
	return 0;
}

const char *
arecord_get(struct json_object *o, const char *k, int any)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return any ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) :
	    NULL;
}
static void
cpy(char *dst, const char *src, size_t n)
{
	snprintf(dst, n, "%s", src != NULL ? src : "");
}

enum pg_err
arecord_parse_line(const char *line, size_t len, struct arecord_line *r)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL, *d = NULL;
	unsigned char	 prev[ARECORD_HASH_LEN];
	const char	*s;
	enum audit_sev	 sev;
	int		 self_ok;
	enum pg_err	 rc = PG_EINVAL;

	memset(r, 0, sizeof(*r));
	if (len > INT32_MAX || arecord_chain_parse(line, len, &r->en.seq, prev,
	    r->hash, &self_ok) != PG_OK || !self_ok ||
	    (tok = json_tokener_new()) == NULL)
		goto out;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    parse_ts(arecord_get(o, "timestamp", 0), &r->en.ts_us) != 0 ||
	    (s = arecord_get(o, "event_type", 0)) == NULL ||
	    aevent_sev_parse(arecord_get(o, "severity", 0), &sev) != PG_OK)
		goto out;
	cpy(r->type, s, sizeof(r->type));
	r->en.type = aevent_parse(r->type);
	cpy(r->ip, arecord_get(o, "source_ip", 0), sizeof(r->ip));
	cpy(r->identity, arecord_get(o, "identity", 0), sizeof(r->identity));
	cpy(r->node, arecord_get(o, "node", 0), sizeof(r->node));
	r->en.sev = sev;
	r->en.success = (s = arecord_get(o, "outcome", 0)) != NULL &&
	    strcmp(s, "success") == 0;
	if (!json_object_object_get_ex(o, "details", &d) ||
	    !json_object_is_type(d, json_type_object))
		d = NULL;
	/* As rate_op: the operation a rate-limit record names. */
	if (aevent_metric(r->en.type) == AEM_RATE_LIMIT) {
		if ((s = arecord_get(d, "operation", 0)) == NULL &&
		    (s = arecord_get(o, "resource", 0)) == NULL)
			s = "unknown";
		cpy(r->op, s, sizeof(r->op));
		r->has_op = 1;
	}
	/* An admin's mark is itself a record: replay it.  "record" is
	 * "seconds,ms:seq" (audit.cgi). */
	if (r->en.type == AEV_AUDIT_EVENT_MITIGATED && d != NULL &&
	    (s = arecord_get(d, "record", 0)) != NULL) {
		unsigned long long sec, ms, seq;
		char	 end;

		/* "seconds,ms:seq"; older records wrote "seconds.ms:seq". */
		if ((sscanf(s, "%llu,%3llu:%llu%c", &sec, &ms, &seq, &end) == 3 ||
		    sscanf(s, "%llu.%3llu:%llu%c", &sec, &ms, &seq, &end) == 3) &&
		    *s >= '0' && *s <= '9') {
			r->mit_ts = ((uint64_t)sec * 1000u + ms) * 1000u;
			r->mit_seq = seq;
			r->mit = 1;
		}
		if ((s = arecord_get(d, "note", 0)) == NULL)
			s = "reviewed";
		cpy(r->note, s, sizeof(r->note));
	}
	rc = PG_ENOMEM;
	if ((r->line = malloc(len + 1)) == NULL)
		goto out;
	memcpy(r->line, line, len);
	r->line[len] = '\0';
	r->en.type_name = r->type;
	r->en.ip = r->ip;
	r->en.identity = r->identity;
	r->en.node = r->node;
	r->en.op = r->has_op ? r->op : NULL;
	r->en.line = r->line;
	r->en.line_len = len;
	rc = PG_OK;
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

void
arecord_line_free(struct arecord_line *r)
{
	free(r->line);
	r->line = NULL;
}
