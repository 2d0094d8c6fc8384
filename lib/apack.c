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
			memcpy(t, hx, 8);
			t[8] = '-';
			memcpy(t + 9, hx + 8, 4);
			t[13] = '-';
			memcpy(t + 14, hx + 12, 4);
			t[18] = '-';
			memcpy(t + 19, hx + 16, 4);
			t[23] = '-';
			memcpy(t + 24, hx + 20, 12);
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

/* The chains below index entries in an unsigned char, plus one. */
_Static_assert(N_DICT1 + N_DICT2 < 255, "too many dictionary entries");

/* Dictionary entry j of the chains below: dict1 first, then dict2. */
static const char *
dict_entry(size_t j)
{
	return j < N_DICT1 ? dict1[j] : dict2[j - N_DICT1];
}

/* What the packer looks for at each position of a line. */
struct pk {
	const struct apack_ctx	*c;
	char		 ts[32], seq[24];
	size_t		 tslen, seqlen;
	/*
	 * The dictionary entries by first byte: head[ch] - 1 is the first
	 * entry starting with ch (0: none), next[j] - 1 the one after j.
	 * Entry j is dict1[j] below N_DICT1 and dict2[j - N_DICT1] above,
	 * and each chain runs in that order, dict1's entries first.
	 */
	unsigned char	 head[256], next[N_DICT1 + N_DICT2];
	size_t		 len[N_DICT1 + N_DICT2];	/* entry lengths */
};

/* The longest dictionary entry at p (n bytes left): its token bytes in
 * tok, their count returned (0: none), its length in *mlen. */
static size_t
dict_match(const struct pk *k, const char *p, size_t n, unsigned char tok[2],
    size_t *mlen)
{
	const char	*s;
	size_t	 j, l, best = 0, nt = 0;
	int	 m;

	/* Only the entries with p's first byte, their second byte compared
	 * before memcmp; a dict2 entry (two token bytes) must be two bytes
	 * longer than the best so far to win. */
	for (m = k->head[(unsigned char)*p]; m != 0; m = k->next[j]) {
		j = (size_t)m - 1;
		l = k->len[j];
		s = dict_entry(j);
		if (l > n || l <= best + (j < N_DICT1 ? 0 : 1) ||
		    (l > 1 && p[1] != s[1]) || memcmp(p, s, l) != 0)
			continue;
		if (j < N_DICT1) {
			tok[0] = (unsigned char)(T_DICT1 + j);
			nt = 1;
		} else {
			tok[0] = T_DICT2;
			tok[1] = (unsigned char)(j - N_DICT1);
			nt = 2;
		}
		best = l;
	}
	*mlen = best;
	return nt;
}

/* A context string s (sn bytes) at p, worth a token? */
static int
ctx_at(const char *p, size_t n, const char *s, size_t sn)
{
	return sn >= 2 && sn <= n && p[0] == s[0] && memcmp(p, s, sn) == 0;
}

/*
 * Whether a token may start with byte ch: the first byte of a context
 * string or of a dictionary entry.  UUIDs and hex runs are found from
 * the length of the run of lowercase hex digits instead.
 */
static int
may_start(const struct pk *k, unsigned char ch)
{
	const struct apack_ctx *c = k->c;

	return k->head[ch] != 0 ||
	    (k->tslen > 0 && ch == (unsigned char)k->ts[0]) ||
	    (c->iplen > 0 && ch == (unsigned char)c->ip[0]) ||
	    (c->tlen > 0 && ch == (unsigned char)c->type[0]) ||
	    (c->nlen > 0 && ch == (unsigned char)c->node[0]) ||
	    (k->seqlen > 0 && ch == (unsigned char)k->seq[0]);
}

/*
 * The tokens are tried in a fixed order at each position, so the packed
 * form is the same whatever the speed-ups below: only tests that cannot
 * succeed are skipped.  run is the number of lowercase hex digits from
 * p + i on: a UUID needs exactly 8 (then '-'), a hex token HEX_MIN or
 * more.  Bytes no token can start with are copied as one run.
 */
static enum pg_err
pack_body(const struct pk *k, const char *p, size_t n, struct buf *b)
{
	const struct apack_ctx *c = k->c;
	unsigned char	 tok[2 + 255];
	size_t		 i = 0, l, nt, run = 0, lit = 0;
	enum pg_err	 e = PG_OK;

	while (e == PG_OK && i < n) {
		nt = 0;
		l = 0;
		if (run == 0)
			while (i + run < n && is_lhex((unsigned char)p[i + run]))
				run++;
		if (run == 0 && !may_start(k, (unsigned char)p[i])) {
			i++;		/* a literal byte, copied with its run */
			continue;
		}
		if (run == 8 && is_uuid(p + i, n - i)) {
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
		} else if (run >= HEX_MIN) {
			l = run < 2 * 255 ? run : 2 * 255;
			l &= ~(size_t)1;
			tok[0] = T_HEX;
			tok[1] = (unsigned char)(l / 2);
			hexbin(p + i, l, tok + 2);
			nt = 2 + l / 2;
		}
		if (nt == 0) {
			i++;
			if (run > 0)
				run--;
			continue;
		}
		if (i > lit)
			e = buf_append(b, p + lit, i - lit);
		if (e == PG_OK)
			e = buf_append(b, tok, nt);
		i += l;
		lit = i;
		run = run > l ? run - l : 0;
	}
	if (e == PG_OK && n > lit)
		e = buf_append(b, p + lit, n - lit);
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
	const char	*s;
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
	for (i = N_DICT1 + N_DICT2; i-- > 0; ) {
		s = dict_entry(i);
		k.len[i] = strlen(s);
		k.next[i] = k.head[(unsigned char)s[0]];
		k.head[(unsigned char)s[0]] = (unsigned char)(i + 1);
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
