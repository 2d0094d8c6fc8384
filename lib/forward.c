/*
 * payguard - HTTP forwarding of events with Standard Webhooks signatures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "curlrt.h"
#include "forward.h"
#include "inbox.h"
#include "log.h"
#include "rand.h"

#define SECRET_PREFIX	"whsec_"

/* The key: the base64 after "whsec_".  Returns its length, 0 if bad. */
static size_t
secret_key(const char *secret, unsigned char key[FORWARD_KEY_MAX + 3])
{
	const char	*b64;
	size_t		 n, pad = 0;
	int		 k;

	if (secret == NULL || strncmp(secret, SECRET_PREFIX, 6) != 0)
		return 0;
	b64 = secret + 6;
	n = strlen(b64);
	/* Standard base64, padded: 4-character groups. */
	if (n == 0 || n % 4 != 0 || n > 4 * ((FORWARD_KEY_MAX + 2) / 3))
		return 0;
	if (strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/") < n - 2 || strspn(b64 + n - 2, "ABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != 2)
		return 0;
	if (b64[n - 1] == '=')
		pad = b64[n - 2] == '=' ? 2 : 1;
	else if (b64[n - 2] == '=')
		return 0;
	if ((k = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)n)) < 0)
		return 0;
	n = (size_t)k - pad;
	return n >= FORWARD_KEY_MIN && n <= FORWARD_KEY_MAX ? n : 0;
}

/* Loopback hosts, the only ones plain http may go to. */
static int
loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0 || strcasecmp(host, "localhost") == 0;
}

enum pg_err
forward_check(const struct config *cfg, char *why, size_t whysz)
{
	unsigned char	 key[FORWARD_KEY_MAX + 3];
	const struct curlrt *cu;
	CURLU		*u = NULL;
	char		*scheme = NULL, *host = NULL;
	enum pg_err	 e = PG_CONFIG;

	if (cfg->wh_forward_url == NULL)
		return PG_OK;
	/* Loads libcurl now, before the first accept, not mid-request. */
	if ((cu = curlrt()) == NULL) {
		snprintf(why, whysz, "PAYGUARD_WEBHOOK_FORWARD_URL: libcurl "
		    "(libcurl.so.4) cannot be loaded");
		return PG_CONFIG;
	}
	if (cfg->wh_handler != NULL) {
		snprintf(why, whysz, "PAYGUARD_WEBHOOK_FORWARD_URL and "
		    "PAYGUARD_WEBHOOK_HANDLER are both set: choose one");
		goto out;
	}
	if ((u = cu->url()) == NULL ||
	    cu->url_set(u, CURLUPART_URL, cfg->wh_forward_url, 0) != CURLUE_OK ||
	    cu->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    cu->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, whysz, "PAYGUARD_WEBHOOK_FORWARD_URL: not a URL");
		goto out;
	}
	if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && loopback(host))) {
		snprintf(why, whysz, "PAYGUARD_WEBHOOK_FORWARD_URL: must be "
		    "https (http only to 127.0.0.1, ::1 or localhost)");
		goto out;
	}
	if (secret_key(cfg->forward_secret, key) == 0) {
		snprintf(why, whysz, "PAYGUARD_FORWARD_SECRET: %s",
		    cfg->forward_secret == NULL ? "required with "
		    "PAYGUARD_WEBHOOK_FORWARD_URL (payguard forward-secret "
		    "makes one)" : "expected whsec_ and the base64 of 24-64 "
		    "bytes");
		goto out;
	}
	e = PG_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	cu->free(scheme);
	cu->free(host);
	cu->url_cleanup(u);
	return e;
}

enum pg_err
forward_sign(const char *secret, const char *id, int64_t ts, const void *body,
    size_t len, char *out, size_t outsz)
{
	unsigned char	 key[FORWARD_KEY_MAX + 3], md[32];
	unsigned char	 b64[4 * ((sizeof(md) + 2) / 3) + 1];
	char		 pre[EVENT_ID_MAX + 32];
	struct crypto_part parts[2];
	size_t		 klen;
	enum pg_err	 e = PG_EINVAL;
	int		 n;

	if ((klen = secret_key(secret, key)) == 0)
		goto out;
	n = snprintf(pre, sizeof(pre), "%s.%lld.", id, (long long)ts);
	if (n < 0 || (size_t)n >= sizeof(pre))
		goto out;
	parts[0].p = pre;
	parts[0].n = (size_t)n;
	parts[1].p = body;
	parts[1].n = len;
	if ((e = crypto_hmac_sha256v(key, klen, parts, 2, md)) != PG_OK)
		goto out;
	EVP_EncodeBlock(b64, md, (int)sizeof(md));
	e = (size_t)snprintf(out, outsz, "v1,%s", b64) < outsz ? PG_OK :
	    PG_EINVAL;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(md, sizeof(md));
	return e;
}

enum pg_err
forward_secret_new(char out[FORWARD_SECRET_STR_MAX])
{
	unsigned char	 r[FORWARD_SECRET_BYTES];

	if (rand_bytes(r, sizeof(r)) != PG_OK)
		return PG_CRYPTO;
	memcpy(out, SECRET_PREFIX, 6);
	EVP_EncodeBlock((unsigned char *)out + 6, r, sizeof(r));
	OPENSSL_cleanse(r, sizeof(r));
	return PG_OK;
}

/* The response body is not wanted: count it, keep nothing. */
static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

/* Appends "name: value" to *l; 0 on failure. */
static int
add(const struct curlrt *cu, struct curl_slist **l, const char *name,
    const char *value)
{
	struct curl_slist *t;
	char		 h[EVENT_ID_MAX + 160];

	if ((size_t)snprintf(h, sizeof(h), "%s: %s", name, value) >= sizeof(h) ||
	    (t = cu->slist_append(*l, h)) == NULL)
		return 0;
	*l = t;
	return 1;
}

enum pg_err
forward_post(const struct config *cfg, const struct event_info *ev,
    const void *body, size_t len, struct proc_result *res)
{
	const struct curlrt *cu = curlrt();
	CURL		*c = NULL;
	struct curl_slist *hl = NULL;
	char		 sig[128], ts[32], errbuf[CURL_ERROR_SIZE];
	int64_t		 now = (int64_t)time(NULL);
	long		 status = 0;
	CURLcode	 rc;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	errbuf[0] = '\0';
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	if (cu == NULL) {
		snprintf(res->error, sizeof(res->error),
		    "libcurl cannot be loaded");
		return PG_OK;
	}
	if (forward_sign(cfg->forward_secret, ev->id, now, body, len, sig,
	    sizeof(sig)) != PG_OK) {
		snprintf(res->error, sizeof(res->error),
		    "PAYGUARD_FORWARD_SECRET is unusable");
		goto out;
	}
	if (!add(cu, &hl, "Content-Type", "application/json") ||
	    !add(cu, &hl, "User-Agent", "payguard-forward/1") ||
	    !add(cu, &hl, "webhook-id", ev->id) || !add(cu, &hl, "webhook-timestamp", ts) ||
	    !add(cu, &hl, "webhook-signature", sig) ||
	    !add(cu, &hl, "X-Payguard-Event-Type", ev->type) ||
	    !add(cu, &hl, "X-Payguard-Event-Kind", event_kind_name(ev->kind)) ||
	    !add(cu, &hl, "X-Payguard-Event-Source",
	    ev_source_name((uint32_t)ev->source)) ||
	    (ev->account[0] != '\0' &&
	    !add(cu, &hl, "X-Payguard-Event-Account", ev->account)) ||
	    !add(cu, &hl, "Expect", "") || (c = cu->easy_init()) == NULL) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		goto out;
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	cu->easy_setopt(c, CURLOPT_URL, cfg->wh_forward_url);
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	cu->easy_setopt(c, CURLOPT_POST, 1L);
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	/* A 3xx is the answer, not a pointer: nothing is followed. */
	cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	cu->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	cu->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	/* No proxy from the environment: the events go where configured. */
	cu->easy_setopt(c, CURLOPT_PROXY, "");
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(cfg->connect_timeout <
	    cfg->wh_handler_timeout ? cfg->connect_timeout :
	    cfg->wh_handler_timeout));
	cu->easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->wh_handler_timeout);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = cu->easy_perform(c);
	if (rc == CURLE_OK)
		cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		res->timed_out = 1;
		snprintf(res->error, sizeof(res->error),
		    "forward timed out after %u s", cfg->wh_handler_timeout);
	} else if (rc != CURLE_OK)
		/* The reason is short by design (proc.h's error[96]): bound
		 * libcurl's text to what fits, as snprintf would anyway. */
		snprintf(res->error, sizeof(res->error), "forward failed: %.79s",
		    errbuf[0] != '\0' ? errbuf : cu->easy_strerror(rc));
	else {
		res->status = (int)status;
		res->ok = status >= 200 && status < 300;
		if (!res->ok)
			snprintf(res->error, sizeof(res->error),
			    "forward answered HTTP %ld%s", status,
			    status >= 300 && status < 400 ?
			    " (redirects are not followed)" : "");
	}
out:
	cu->easy_cleanup(c);
	cu->slist_free_all(hl);
	return PG_OK;
}
