/*
 * payguard - packing an audit line for the index (see apack.h).
 *
 * Tokens (bytes a json-c line never holds raw):
 *   0x01 + 16 bytes	a lowercase UUID (8-4-4-4-12)
 *   0x02 + n + n bytes	2n lowercase hex digits (n >= 8)
 *   0x03		the context's timestamp, as arecord writes it
 *   0x04		the context's seq, in decimal
 *   0x05		,"hash":" and the hex SHA-256 of the line so far
 *   0x06 0x07 0x08	the context's address, type, node
 *   0x09 + i		extended dictionary entry i
 *   0x0a..0x1f		dictionary entries 0..21
 * The dictionaries are part of the format: entries may be appended,
 * never changed or reordered (the index is rebuilt after a reboot, but
 * an upgrade without one reads what the old binary packed).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apack.h"
#include "arecord.h"
#include "codec.h"

#define T_UUID		0x01
#define T_HEX		0x02
#define T_TS		0x03
#define T_SEQ		0x04
#define T_HASH		0x05
#define T_IP		0x06
#define T_TYPE		0x07
#define T_NODE		0x08
#define T_DICT2		0x09
#define T_DICT1		0x0a	/* first one-byte entry */
#define N_DICT1		(0x20 - T_DICT1)
#define HEX_MIN		16	/* digits worth a token */
#define HASH_TAIL	(9 + 2 * ARECORD_HASH_LEN + 2)	/* ,"hash":"<64>"} */

/* The layout of arecord_build, most frequent first. */
static const char *const dict1[N_DICT1] = {
	"{\"event_id\":\"",
	"\",\"event_type\":\"",
	"\",\"timestamp\":\"",
	"\",\"source_ip\":\"",
	"\",\"user_agent\":\"",
	"\",\"request_id\":\"req_",
	"\",\"request_id\":\"",
	"\",\"severity\":\"LOW\",\"identity\":\"",
	"\",\"severity\":\"MEDIUM\",\"identity\":\"",
	"\",\"severity\":\"HIGH\",\"identity\":\"",
	"\",\"severity\":\"CRITICAL\",\"identity\":\"",
	"\",\"outcome\":\"success\",\"resource\":\"",
	"\",\"outcome\":\"failure\",\"resource\":\"",
	"\",\"details\":{",
	",\"mitigated\":false,\"mitigation_action\":null",
	",\"seq\":",
	",\"prev\":\"",
	"Stripe/1.0 (+https://stripe.com/docs/webhooks)",
	"webhook:evt_",
	"stripe",
	",\"node\":\"",
	"\"event_type\":\"",
};

/* Frequent details keys and values (webhook.c, api.c, ratelimit). */
static const char *const dict2[] = {
	"\",\"event_kind\":\"",
	"\",\"account\":\"acct_",
	"\",\"livemode\":false",
	"\",\"livemode\":true",
	",\"state\":\"",
	"\",\"attempts\":",
	",\"source\":\"webhook\"",
	",\"source\":\"backfill\"",
	"delivered",
	"pending",
	"failed",
	"snapshot",
	"payment_intent.",
	"succeeded",
	"charge.",
	"customer.",
	"invoice.",
	"subscription",
	"checkout.session.",
	"completed",
	"created",
	"updated",
	"\"reason\":\"",
	"\"operation\":\"",
	",\"mitigated\":true,\"mitigation_action\":\"",
	"anonymous",
	"\"error\":\"",
	"webhook",
	"\"limit\":",
	"\"window_s\":",
	"\"path\":\"",
	"\"method\":\"",
	"\"status\":",
	"/v1/",
	"127.0.0.1",
	"duplicate_not_delivered",
	"signature",
	"timestamp",
	"\"},\"mitigated\":false,\"mitigation_action\":null",
	"admin",
	"\"record\":\"",
	"\"note\":\"",
	"\"event_id\":\"evt_",
};
#define N_DICT2	(sizeof(dict2) / sizeof(dict2[0]))

/* "2026-11-22T15:01:02.123Z" of ts_us (as arecord.c writes it). */
static size_t
ts_text(uint64_t ts_us, char out[32])
{
	struct tm	 tm;
	time_t		 sec = (time_t)(ts_us / 1000000);
	int		 n;

	if (gmtime_r(&sec, &tm) == NULL)
		return 0;
	n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(ts_us / 1000 % 1000));
	return n > 0 && n < 32 ? (size_t)n : 0;
}

static int
is_lhex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Whether p[0..36) is a lowercase 8-4-4-4-12 UUID. */
static int
is_uuid(const char *p, size_t n)
{
	size_t	 i;

	if (n < 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return 0;
		} else if (!is_lhex((unsigned char)p[i]))
			return 0;
	}
	return 1;
}

static void
hexbin(const char *p, size_t ndig, unsigned char *out)
{
	size_t	 i;

	for (i = 0; i < ndig / 2; i++)
		out[i] = (unsigned char)(codec_hex_digit(p[2 * i]) << 4 |
		    codec_hex_digit(p[2 * i + 1]));
}

enum pg_err
apack_unline(const struct apack_ctx *c, const void *pv, size_t n,
    struct buf *b)
{
	const unsigned char *p = pv, *end;
	unsigned char	 h[ARECORD_HASH_LEN];
	char		 t[2 * 255 + 1], hx[33];
	size_t		 start = b->len, k;
	const char	*s;
	enum pg_err	 e = PG_OK;

	/* An empty line (pv may be NULL then: no arithmetic on it). */
	if (n == 0)
		return PG_OK;
	end = p + n;

	while (e == PG_OK && p < end) {
		if (*p >= 0x20) {
			/* A run of literal bytes at once. */
			for (k = 0; p + k < end && p[k] >= 0x20; k++)
				;
			e = buf_append(b, p, k);
			p += k;
			continue;
		}
		switch (*p++) {
		case T_UUID:
			if (end - p < 16)
				return PG_EINVAL;
			codec_hex_encode(p, 16, hx);
			snprintf(t, sizeof(t), "%.8s-%.4s-%.4s-%.4s-%.12s",
			    hx, hx + 8, hx + 12, hx + 16, hx + 20);
			e = buf_append(b, t, 36);
			p += 16;
			break;
		case T_HEX:
			if (p >= end || *p < HEX_MIN / 2 || end - p - 1 < *p)
				return PG_EINVAL;
			k = *p++;
			codec_hex_encode(p, k, t);
			e = buf_append(b, t, 2 * k);
			p += k;
			break;
		case T_TS:
			if ((k = ts_text(c->ts_us, t)) == 0)
				return PG_EINVAL;
			e = buf_append(b, t, k);
			break;
		case T_SEQ:
			e = buf_printf(b, "%llu", (unsigned long long)c->seq);
			break;
		case T_HASH:
			arecord_hash(b->data != NULL ? b->data + start : "",
			    b->len - start, h);
			codec_hex_encode(h, sizeof(h), t);
			if ((e = buf_append(b, ",\"hash\":\"", 9)) == PG_OK)
				e = buf_append(b, t, 2 * sizeof(h));
			break;
		case T_IP:
			e = buf_append(b, c->ip, c->iplen);
			break;
		case T_TYPE:
			e = buf_append(b, c->type, c->tlen);
			break;
		case T_NODE:
			e = buf_append(b, c->node, c->nlen);
			break;
		case T_DICT2:
			if (p >= end || *p >= N_DICT2)
				return PG_EINVAL;
			s = dict2[*p++];
			e = buf_append(b, s, strlen(s));
			break;
		default:
			if (p[-1] < T_DICT1)
				return PG_EINVAL;
			s = dict1[p[-1] - T_DICT1];
			e = buf_append(b, s, strlen(s));
			break;
		}
		if (e == PG_OK && b->len - start > ARECORD_LINE_MAX)
			e = PG_TOOLARGE;
	}
	return e;
}

/* What the packer looks for at each position of a line. */
struct pk {
	const struct apack_ctx	*c;
	char		 ts[32], seq[24];
	size_t		 tslen, seqlen;
	unsigned char	 first[256];	/* a dictionary entry starts so */
	size_t		 len1[N_DICT1], len2[N_DICT2];	/* entry lengths */
};

/* The longest dictionary entry at p (n bytes left): its token bytes in
 * tok, their count returned (0: none), its length in *mlen. */
static size_t
dict_match(const struct pk *k, const char *p, size_t n, unsigned char tok[2],
    size_t *mlen)
{
	size_t	 i, l, best = 0, nt = 0;

	if (!k->first[(unsigned char)*p])
		return 0;
	/* The first byte before anything else: most entries differ there. */
	for (i = 0; i < N_DICT1; i++)
		if (dict1[i][0] == *p && (l = k->len1[i]) > best && l <= n &&
		    memcmp(p, dict1[i], l) == 0) {
			best = l;
			tok[0] = (unsigned char)(T_DICT1 + i);
			nt = 1;
		}
	for (i = 0; i < N_DICT2; i++)
		if (dict2[i][0] == *p && (l = k->len2[i]) > best + 1 &&
		    l <= n && memcmp(p, dict2[i], l) == 0) {
			best = l;
			tok[0] = T_DICT2;
			tok[1] = (unsigned char)i;
			nt = 2;
		}
	*mlen = best;
	return nt;
}

/* A context string s (sn bytes) at p, worth a token? */
static int
ctx_at(const char *p, size_t n, const char *s, size_t sn)
{
	return sn >= 2 && sn <= n && memcmp(p, s, sn) == 0;
}

static enum pg_err
pack_body(const struct pk *k, const char *p, size_t n, struct buf *b)
{
	const struct apack_ctx *c = k->c;
	unsigned char	 tok[2 + 255];
	size_t		 i = 0, l, nt, run;
	enum pg_err	 e = PG_OK;

	while (e == PG_OK && i < n) {
		nt = 0;
		l = 0;
		if (is_uuid(p + i, n - i)) {
			tok[0] = T_UUID;
			hexbin(p + i, 8, tok + 1);
			hexbin(p + i + 9, 4, tok + 5);
			hexbin(p + i + 14, 4, tok + 7);
			hexbin(p + i + 19, 4, tok + 9);
			hexbin(p + i + 24, 12, tok + 11);
			nt = 17;
			l = 36;
		} else if (ctx_at(p + i, n - i, k->ts, k->tslen)) {
			tok[0] = T_TS;
			nt = 1;
			l = k->tslen;
		} else if (ctx_at(p + i, n - i, c->ip, c->iplen)) {
			tok[0] = T_IP;
			nt = 1;
			l = c->iplen;
		} else if (ctx_at(p + i, n - i, c->type, c->tlen)) {
			tok[0] = T_TYPE;
			nt = 1;
			l = c->tlen;
		} else if (ctx_at(p + i, n - i, c->node, c->nlen)) {
			tok[0] = T_NODE;
			nt = 1;
			l = c->nlen;
		} else if (i > 0 && p[i - 1] == ':' &&
		    ctx_at(p + i, n - i, k->seq, k->seqlen)) {
			tok[0] = T_SEQ;
			nt = 1;
			l = k->seqlen;
		} else if ((nt = dict_match(k, p + i, n - i, tok, &l)) != 0) {
			;
		} else if (is_lhex((unsigned char)p[i])) {
			for (run = 0; i + run < n && run < 2 * 255 &&
			    is_lhex((unsigned char)p[i + run]); run++)
				;
			if ((run &= ~(size_t)1) >= HEX_MIN) {
				tok[0] = T_HEX;
				tok[1] = (unsigned char)(run / 2);
				hexbin(p + i, run, tok + 2);
				nt = 2 + run / 2;
				l = run;
			}
		}
		if (nt == 0) {
			/* A literal byte. */
			e = buf_append(b, p + i, 1);
			i++;
			continue;
		}
		e = buf_append(b, tok, nt);
		i += l;
	}
	return e;
}

/*
 * Packs line with its first body bytes as they stand and, when body is
 * short of len, the chain hash as T_HASH; then the proof: it unpacks to
 * the very line (chk is scratch).  On failure b is as it was.
 */
static enum pg_err
pack_proved(struct pk *k, const char *line, size_t len, size_t body,
    struct buf *b, struct buf *chk)
{
	size_t		 start = b->len;
	enum pg_err	 e;

	if ((e = pack_body(k, line, body, b)) != PG_OK)
		goto out;
	if (body != len && ((e = buf_putc(b, T_HASH)) != PG_OK ||
	    (e = buf_append(b, "\"}", 2)) != PG_OK))
		goto out;
	chk->len = 0;
	if ((e = apack_unline(k->c, b->data != NULL ? b->data + start : NULL,
	    b->len - start, chk)) != PG_OK || chk->len != len ||
	    (len > 0 && memcmp(chk->data, line, len) != 0))
		e = PG_EINVAL;
out:
	if (e != PG_OK && b->len > start) {
		b->len = start;
		b->data[start] = '\0';
	}
	return e;
}

enum pg_err
apack_line(const struct apack_ctx *c, const char *line, size_t len,
    struct buf *b)
{
	struct pk	 k;
	struct buf	 chk;
	unsigned char	 prev[ARECORD_HASH_LEN], hash[ARECORD_HASH_LEN];
	uint64_t	 seq;
	size_t		 i;
	int		 n;
	enum pg_err	 e = PG_EINVAL;

	buf_init(&chk, ARECORD_LINE_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			goto out;
	memset(&k, 0, sizeof(k));
	k.c = c;
	k.tslen = ts_text(c->ts_us, k.ts);
	n = snprintf(k.seq, sizeof(k.seq), "%llu", (unsigned long long)c->seq);
	k.seqlen = n > 0 ? (size_t)n : 0;
	for (i = 0; i < N_DICT1; i++) {
		k.first[(unsigned char)dict1[i][0]] = 1;
		k.len1[i] = strlen(dict1[i]);
	}
	for (i = 0; i < N_DICT2; i++) {
		k.first[(unsigned char)dict2[i][0]] = 1;
		k.len2[i] = strlen(dict2[i]);
	}
	/*
	 * A chain suffix: its hash is left out and recomputed when the line
	 * is unpacked.  Only its layout is read here: the proof recomputes
	 * the hash anyway, so a hash that does not match the line fails it,
	 * and the line is packed again with its hash text as it stands.
	 */
	e = PG_EINVAL;
	if (arecord_chain_parse(line, len, &seq, prev, hash, NULL) == PG_OK)
		e = pack_proved(&k, line, len, len - HASH_TAIL, b, &chk);
	if (e == PG_EINVAL)
		e = pack_proved(&k, line, len, len, b, &chk);
out:
	buf_free(&chk);
	return e;
}
