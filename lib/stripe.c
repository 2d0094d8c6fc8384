/*
 * payguard - the Stripe upstream over libcurl.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "curlrt.h"
#include "log.h"
#include "stripe.h"
#include "rand.h"

struct stripe_client {
	const struct curlrt *cu;	/* libcurl (curlrt.h) */
	CURL		*curl;
	int		 sends;		/* requests sent in this attempt */
	const struct config *cfg;
	char		*auth;		/* "Authorization: Bearer sk_..." */
	char		 version[128];	/* "Stripe-Version: ..." */
};

enum pg_err
stripe_client_new(const struct config *cfg, struct stripe_client **out)
{
	struct stripe_client *c;
	size_t		 n;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PG_ENOMEM;
	c->cfg = cfg;
	if ((c->cu = curlrt()) == NULL) {
		free(c);
		return PG_SYSTEM;
	}
	n = strlen(cfg->stripe_key) + 32;
	if ((c->auth = malloc(n)) == NULL || (c->curl = c->cu->easy_init()) == NULL) {
		free(c->auth);
		free(c);
		return PG_ENOMEM;
	}
	snprintf(c->auth, n, "Authorization: Bearer %s", cfg->stripe_key);
	snprintf(c->version, sizeof(c->version), "Stripe-Version: %s",
	    cfg->api_version);
	*out = c;
	return PG_OK;
}

void
stripe_client_free(struct stripe_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		c->cu->easy_cleanup(c->curl);
	if (c->auth != NULL) {
		OPENSSL_cleanse(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c);
}

void
stripe_resp_free(struct stripe_resp *r)
{
	buf_free(&r->body);
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct stripe_resp *r = arg;

	/* Past the ceiling curl aborts the transfer (CURLE_WRITE_ERROR). */
	return buf_append(&r->body, p, sz * nm) == PG_OK ? sz * nm : 0;
}

/* Copies a header value, trimmed, if name matches. */
static int
hdr_value(const char *line, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t	 nl = strlen(name), i, j;

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 ||
	    line[nl] != ':')
		return 0;
	for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = len; j > i && isspace((unsigned char)line[j - 1]); j--)
		;
	if (j - i >= outsz)
		j = i + outsz - 1;
	memcpy(out, line + i, j - i);
	out[j - i] = '\0';
	return 1;
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct stripe_resp *r = arg;
	size_t		 len = sz * nm, i;
	char		 v[64], *ep;
	long		 n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 100-continue): forget the last. */
		r->request_id[0] = '\0';
		r->should_retry = -1;
		r->retry_after = -1;
	} else if (hdr_value(p, len, "Request-Id", r->request_id,
	    sizeof(r->request_id))) {
		/* Only a token-like id is passed back to our client. */
		for (i = 0; r->request_id[i] != '\0'; i++)
			if (!isalnum((unsigned char)r->request_id[i]) &&
			    r->request_id[i] != '_' && r->request_id[i] != '-')
				r->request_id[0] = '\0';
	} else if (hdr_value(p, len, "Stripe-Should-Retry", v, sizeof(v))) {
		r->should_retry = strcmp(v, "true") == 0 ? 1 :
		    strcmp(v, "false") == 0 ? 0 : -1;
	} else if (hdr_value(p, len, "Retry-After", v, sizeof(v))) {
		errno = 0;
		n = strtol(v, &ep, 10);
		r->retry_after = (*v != '\0' && *ep == '\0' && errno == 0 &&
		    n >= 0) ? n : -1;
	}
	return len;
}

int
stripe_should_retry(const struct stripe_resp *r, unsigned int num_retries,
    unsigned int max)
{
	if (num_retries >= max)
		return 0;
	if (r->status == 0)
		return r->conn_retryable;
	if (r->should_retry == 0)
		return 0;
	if (r->should_retry == 1)
		return 1;
	return r->status == 409 || r->status >= 500;
}

double
stripe_sleep_time(unsigned int n, long retry_after, double u)
{
	double	 s = STRIPE_INITIAL_DELAY;
	unsigned int i;

	for (i = 1; i < n && s < STRIPE_MAX_DELAY; i++)
		s *= 2;
	if (s > STRIPE_MAX_DELAY)
		s = STRIPE_MAX_DELAY;
	s *= 0.5 * (1 + u);
	if (s < STRIPE_INITIAL_DELAY)
		s = STRIPE_INITIAL_DELAY;
	if (retry_after >= 0 && retry_after <= STRIPE_MAX_RETRY_AFTER &&
	    (double)retry_after > s)
		s = (double)retry_after;
	return s;
}

static double
jitter(void)
{
	uint32_t	 v = 0;

	if (rand_bytes((unsigned char *)&v, sizeof(v)) != PG_OK)
		return 0.5;
	return (double)v / 4294967295.0;
}

static void
sleep_seconds(double s)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * libcurl calls this right before it sends a request.  A second call in
 * one attempt is its built-in resend on a kept-alive connection that died
 * before answering (hard-wired in 7.88, no option turns it off).  Vetoing
 * it turns that into an ordinary failed attempt, so the upstream sees
 * exactly stripe-python's schedule while connections are still reused.
 */
static int
on_prereq(void *arg, char *ip, char *lip, int port, int lport)
{
	struct stripe_client *c = arg;

	(void)ip; (void)lip; (void)port; (void)lport;
	return c->sends++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

static void
attempt(struct stripe_client *c, const char *method, const char *url,
    const char *body, struct curl_slist *hdrs, struct stripe_resp *r)
{
	CURLcode	 rc;
	char		 errbuf[CURL_ERROR_SIZE];

	buf_free(&r->body);
	buf_init(&r->body, STRIPE_RESP_MAX);
	r->status = 0;
	r->conn_error = r->conn_retryable = 0;
	r->should_retry = -1;
	r->retry_after = -1;
	r->request_id[0] = '\0';
	errbuf[0] = '\0';
	c->cu->easy_reset(c->curl);
	c->cu->easy_setopt(c->curl, CURLOPT_URL, url);
	c->cu->easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	c->cu->easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	c->cu->easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	c->cu->easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* Kept-alive connections, but never a resend behind our back. */
	c->sends = 0;
	c->cu->easy_setopt(c->curl, CURLOPT_PREREQFUNCTION, on_prereq);
	c->cu->easy_setopt(c->curl, CURLOPT_PREREQDATA, c);
	/* Not a connection idle for longer than load balancers commonly
	 * keep one (60 s): the race with the far end closing it is what
	 * the veto turns into a failed attempt. */
	c->cu->easy_setopt(c->curl, CURLOPT_MAXAGE_CONN, STRIPE_CONN_MAX_IDLE);
	c->cu->easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
	    (long)c->cfg->connect_timeout);
	c->cu->easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)c->cfg->total_timeout);
	c->cu->easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	c->cu->easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	c->cu->easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	c->cu->easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
	c->cu->easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	c->cu->easy_setopt(c->curl, CURLOPT_USERAGENT, "payguard/1.0");
	if (strcmp(method, "POST") == 0) {
		c->cu->easy_setopt(c->curl, CURLOPT_POST, 1L);
		c->cu->easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		c->cu->easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
		    (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "DELETE") == 0)
		c->cu->easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	rc = c->cu->easy_perform(c->curl);
	r->attempts++;
	if (rc == CURLE_OK) {
		c->cu->easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
		return;
	}
	r->status = 0;
	r->conn_error = 1;
	/* As stripe-python: connection and timeout failures are worth a
	 * retry; TLS/certificate and local errors are not. */
	r->conn_retryable = c->sends > 1 || rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE;
	snprintf(r->error, sizeof(r->error), "%s", c->sends > 1 ?
	    "connection closed before any response" :
	    errbuf[0] ? errbuf : c->cu->easy_strerror(rc));
}

enum pg_err
stripe_request(struct stripe_client *c, const char *method, const char *path,
    const char *query, const char *body, const char *idem_key,
    struct stripe_resp *r)
{
	struct stripe_opts o;

	memset(&o, 0, sizeof(o));
	o.idem_key = idem_key;
	return stripe_request_ex(c, method, path, query, body, &o, r);
}

/* Appends "name: value" to *hdrs.  0 on failure (out of memory). */
static int
add_header(const struct stripe_client *c, struct curl_slist **hdrs,
    const char *name, const char *value)
{
	struct curl_slist *t;
	char		 h[320];

	if ((size_t)snprintf(h, sizeof(h), "%s: %s", name, value) >= sizeof(h))
		return 0;
	if ((t = c->cu->slist_append(*hdrs, h)) == NULL)
		return 0;
	*hdrs = t;
	return 1;
}

enum pg_err
stripe_request_ex(struct stripe_client *c, const char *method,
    const char *path, const char *query, const char *body,
    const struct stripe_opts *o, struct stripe_resp *r)
{
	struct curl_slist *hdrs = NULL, *t;
	struct buf	 url;
	unsigned int	 n = 0;
	enum pg_err	 e = PG_ENOMEM;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, STRIPE_RESP_MAX);
	buf_init(&url, 8192);
	if (buf_printf(&url, "%s%s%s%s", c->cfg->api_base, path,
	    query && *query ? "?" : "", query ? query : "") != PG_OK)
		goto out;
	/* Built once, before the loop: every retry sends the same key. */
	if ((t = c->cu->slist_append(hdrs, c->auth)) == NULL)
		goto out;
	hdrs = t;
	if ((t = c->cu->slist_append(hdrs, c->version)) == NULL)
		goto out;
	hdrs = t;
	if ((t = c->cu->slist_append(hdrs, "Expect:")) == NULL)
		goto out;
	hdrs = t;
	if (body != NULL && !add_header(c, &hdrs, "Content-Type", o->json ?
	    "application/json" : "application/x-www-form-urlencoded"))
		goto out;
	if ((o->idem_key != NULL &&
	    !add_header(c, &hdrs, "Idempotency-Key", o->idem_key)) ||
	    (o->account != NULL &&
	    !add_header(c, &hdrs, "Stripe-Account", o->account)) ||
	    (o->context != NULL &&
	    !add_header(c, &hdrs, "Stripe-Context", o->context)))
		goto out;
	for (;;) {
		attempt(c, method, url.data, body, hdrs, r);
		if (!stripe_should_retry(r, n, c->cfg->max_retries))
			break;
		n++;
		sleep_seconds(stripe_sleep_time(n, r->status ? r->retry_after :
		    -1, jitter()));
	}
	if (r->status == 0) {
		log_warnx("upstream %s %s: no response after %d attempt(s): %s",
		    method, path, r->attempts, r->error);
		e = PG_UPSTREAM;
	} else
		e = PG_OK;
out:
	c->cu->slist_free_all(hdrs);
	buf_free(&url);
	return e;
}
