/*
 * payguard - CGI/FastCGI request core.
 *
 * Uses fcgiapp.h's FCGX_Accept_r rather than fcgi_stdio.h, so no stdio
 * macro games: in FastCGI mode parameters come from the request's envp,
 * in CGI mode from the process environment, and the output goes through
 * exactly one function, http_send.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "codec.h"
#include "http.h"
#include "log.h"
#include "rand.h"

struct http_server {
	int		 cgi;
	int		 cgi_done;
	FCGX_Request	 fr;
};

/*
 * Current OWASP values (OWASP Secure Headers Project; X-XSS-Protection is
 * 0 because the old auditors created XSS of their own).  One block,
 * appended as it stands: no formatting per response.
 */
static const char sec_headers[] =
	"X-Content-Type-Options: nosniff\r\n"
	"Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: no-referrer\r\n"
	"Cache-Control: no-store\r\n"
	"Cross-Origin-Resource-Policy: same-origin\r\n"
	"X-XSS-Protection: 0\r\n";

#define DEFAULT_CSP	"default-src 'none'; frame-ancestors 'none'"

enum pg_err
http_server_new(struct http_server **out)
{
	struct http_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PG_ENOMEM;
	s->cgi = FCGX_IsCGI();
	if (!s->cgi) {
		if (FCGX_Init() != 0 || FCGX_InitRequest(&s->fr, 0, 0) != 0) {
			free(s);
			log_warnx("FCGX_Init failed");
			return PG_SYSTEM;
		}
	}
	*out = s;
	return PG_OK;
}

int
http_is_cgi(const struct http_server *srv)
{
	return srv->cgi;
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	if (!srv->cgi)
		FCGX_Free(&srv->fr, 1);
	free(srv);
}

int
http_valid_rid(const char *s)
{
	size_t	 n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (n >= HTTP_RID_MAX || !(isalnum((unsigned char)s[n]) ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0;
}

void
http_new_rid(char out[HTTP_RID_MAX + 1])
{
	unsigned char	 r[12];

	if (rand_bytes(r, sizeof(r)) != PG_OK)
		memset(r, 0, sizeof(r));
	memcpy(out, "req_", 4);
	codec_hex_encode(r, sizeof(r), out + 4);
}

const char *
http_param(const struct http_req *req, const char *name)
{
	if (req->fcgx != NULL)
		return FCGX_GetParam(name, ((FCGX_Request *)req->fcgx)->envp);
	return getenv(name);
}

const char *
http_header(const struct http_req *req, const char *name)
{
	char	 env[128];
	size_t	 i;

	if (strlen(name) + 6 > sizeof(env))
		return NULL;
	memcpy(env, "HTTP_", 5);
	for (i = 0; name[i] != '\0'; i++)
		env[5 + i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	env[5 + i] = '\0';
	/* CGI passes Content-Type/Length without the HTTP_ prefix. */
	if (strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Content-Length") == 0)
		return http_param(req, env + 5);
	return http_param(req, env);
}

int
http_each_param(const struct http_req *req, const char *prefix,
    int (*fn)(const char *name, const char *value, void *arg), void *arg)
{
	char *const	*env;
	const char	*eq;
	char		 name[128];
	size_t		 n, plen = strlen(prefix);
	int		 r = 0;

	env = req->fcgx != NULL ? ((FCGX_Request *)req->fcgx)->envp : environ;
	for (; env != NULL && *env != NULL && r == 0; env++) {
		if (strncmp(*env, prefix, plen) != 0 ||
		    (eq = strchr(*env, '=')) == NULL)
			continue;
		n = (size_t)(eq - *env);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;	/* the name is for reports */
		memcpy(name, *env, n);
		name[n] = '\0';
		r = fn(name, eq + 1, arg);
	}
	return r;
}

int
http_accept(struct http_server *srv, struct http_req *req)
{
	const char	*v;

	memset(req, 0, sizeof(*req));
	req->srv = srv;
	if (srv->cgi) {
		if (srv->cgi_done)
			return 0;
		srv->cgi_done = 1;
	} else {
		if (FCGX_Accept_r(&srv->fr) < 0)
			return 0;
		req->fcgx = &srv->fr;
	}
	req->method = (v = http_param(req, "REQUEST_METHOD")) ? v : "";
	req->remote_addr = (v = http_param(req, "REMOTE_ADDR")) ? v : "";
	req->user_agent = (v = http_header(req, "User-Agent")) ? v : "";
	v = http_header(req, "X-Request-ID");
	if (http_valid_rid(v))
		snprintf(req->request_id, sizeof(req->request_id), "%s", v);
	else
		http_new_rid(req->request_id);
	buf_init(&req->body, 0);
	log_set_request_id(req->request_id);
	return 1;
}

/*
 * 1 when the server has sent everything it will for this request: the
 * body was read to its declared length and the stream's end record
 * follows.  Then the connection can be closed at once; libfcgi's default
 * close shuts down the sending side and waits (poll) until the server
 * closes its end, so that no unread input turns the close into a TCP
 * reset that could discard the response - a wait that costs a context
 * switch and keeps the process from its next request.
 */
static int
input_done(struct http_req *req)
{
	FCGX_Request	*fr = req->fcgx;
	const char	*cl = http_param(req, "CONTENT_LENGTH");
	unsigned long long want = 0;
	char		*ep;

	if (cl != NULL && *cl != '\0') {
		errno = 0;
		want = strtoull(cl, &ep, 10);
		if (!isdigit((unsigned char)*cl) || *ep != '\0' || errno != 0)
			return 0;
	}
	if (req->consumed != want || fr->in == NULL)
		return 0;
	return FCGX_GetChar(fr->in) == EOF && FCGX_GetError(fr->in) == 0;
}

void
http_finish(struct http_req *req)
{
	buf_free(&req->body);
	if (req->fcgx != NULL) {
		/* Detached: FCGX_Free closes without the drain. */
		if (input_done(req))
			FCGX_Detach(req->fcgx);
		FCGX_Finish_r(req->fcgx);
	}
	log_set_request_id(NULL);
	req->fcgx = NULL;
}

static ssize_t
body_read(struct http_req *req, char *p, size_t n)
{
	ssize_t	 r;

	if (req->fcgx != NULL)
		return FCGX_GetStr(p, (int)n, ((FCGX_Request *)req->fcgx)->in);
	do
		r = read(STDIN_FILENO, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

int
http_read_body(struct http_req *req, size_t max, const char **code)
{
	const char	*cl = http_param(req, "CONTENT_LENGTH");
	char		*ep, chunk[16384];
	unsigned long long want;
	size_t		 got = 0;
	ssize_t		 r;

	buf_init(&req->body, max);
	if (cl == NULL || *cl == '\0') {
		*code = "length_required";
		return 411;
	}
	errno = 0;
	want = strtoull(cl, &ep, 10);
	if (!isdigit((unsigned char)*cl) || *ep != '\0' || errno != 0) {
		*code = "invalid_content_length";
		return 400;
	}
	if (want > max) {
		*code = "payload_too_large";
		return 413;
	}
	while (got < want) {
		size_t n = want - got < sizeof(chunk) ? want - got : sizeof(chunk);
		if ((r = body_read(req, chunk, n)) <= 0)
			break;
		req->consumed += (unsigned long long)r;
		if (buf_append(&req->body, chunk, (size_t)r) != PG_OK) {
			*code = "payload_too_large";
			return 413;
		}
		got += (size_t)r;
	}
	if (got != want) {
		*code = "body_truncated";
		return 400;
	}
	if (req->body.data == NULL)
		buf_append(&req->body, "", 0);
	return 0;
}

void
http_resp_init(struct http_resp *r)
{
	r->status = 200;
	buf_init(&r->headers, HTTP_HDR_MAX);
	buf_init(&r->body, HTTP_RESP_MAX);
	r->content_type = "application/json";
	r->csp = DEFAULT_CSP;
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

enum pg_err
http_resp_header(struct http_resp *r, const char *name, const char *fmt, ...)
{
	char	 val[2048];
	va_list	 ap;
	size_t	 i, start = r->headers.len;
	int	 n;
	enum pg_err e;

	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-')
			return PG_EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (i == 0 || n < 0 || (size_t)n >= sizeof(val))
		return PG_EINVAL;
	/* A CR or LF here would split the response: refuse the header. */
	if (strpbrk(val, "\r\n") != NULL)
		return PG_EINVAL;
	if ((e = buf_puts(&r->headers, name)) != PG_OK ||
	    (e = buf_puts(&r->headers, ": ")) != PG_OK ||
	    (e = buf_puts(&r->headers, val)) != PG_OK ||
	    (e = buf_puts(&r->headers, "\r\n")) != PG_OK) {
		/* All of the line or none of it. */
		r->headers.len = start;
		if (r->headers.data != NULL)
			r->headers.data[start] = '\0';
	}
	return e;
}

void
http_resp_error(struct http_resp *r, int status, const char *type,
    const char *code, const char *param, const char *message)
{
	r->status = status;
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"error\":{\"type\":");
	codec_json_str(&r->body, type, strlen(type));
	if (code != NULL) {
		buf_puts(&r->body, ",\"code\":");
		codec_json_str(&r->body, code, strlen(code));
	}
	if (param != NULL) {
		buf_puts(&r->body, ",\"param\":");
		codec_json_str(&r->body, param, strlen(param));
	}
	buf_puts(&r->body, ",\"message\":");
	codec_json_str(&r->body, message, strlen(message));
	buf_puts(&r->body, "}}\n");
}

void
http_resp_json(struct http_resp *r, int status, const char *json)
{
	r->status = status;
	buf_reset(&r->body);
	buf_puts(&r->body, json);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 424: return "Failed Dependency";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static enum pg_err
out_write(struct http_req *req, const char *p, size_t n)
{
	ssize_t	 w;

	if (req->fcgx != NULL) {
		FCGX_Request *fr = req->fcgx;
		if (FCGX_PutStr(p, (int)n, fr->out) != (int)n)
			return PG_SYSTEM;
		return PG_OK;
	}
	while (n > 0) {
		if ((w = write(STDOUT_FILENO, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return PG_SYSTEM;
		}
		p += w;
		n -= (size_t)w;
	}
	return PG_OK;
}

/*
 * Under CGI our stdin and stdout can be one socket (mod_cgid): exiting
 * with request bytes unread resets it and the client never sees our
 * answer.  So read and discard what is left of the body (bounded in size
 * and time) before replying.  FastCGI needs nothing: the server owns the
 * connection and libfcgi skips unread input.
 */
static void
drain_cgi(struct http_req *req)
{
	const char	*cl = http_param(req, "CONTENT_LENGTH");
	char		 chunk[16384], *ep;
	unsigned long long want, left;
	ssize_t		 r;
	struct timespec	 t0, t1;

	if (req->fcgx != NULL || cl == NULL)
		return;
	want = strtoull(cl, &ep, 10);
	if (*cl == '\0' || *ep != '\0' || want <= req->consumed)
		return;
	left = want - req->consumed;
	if (left > HTTP_DRAIN_MAX)
		return;		/* hostile: let the connection drop */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0) {
		r = read(STDIN_FILENO, chunk, left < sizeof(chunk) ?
		    (size_t)left : sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		left -= (unsigned long long)r;
		req->consumed += (unsigned long long)r;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 10)
			break;
	}
}

enum pg_err
http_send(struct http_req *req, struct http_resp *r)
{
	struct buf	 out;
	enum pg_err	 e;

	buf_init(&out, HTTP_HDR_MAX * 2 + HTTP_RESP_MAX);
	/* Plain appends where nothing is formatted: a dozen printf calls
	 * per response were a visible share of a request's instructions. */
	buf_printf(&out, "Status: %d %s\r\n", r->status, http_reason(r->status));
	buf_append(&out, sec_headers, sizeof(sec_headers) - 1);
	buf_puts(&out, "Content-Security-Policy: ");
	buf_puts(&out, r->csp);
	buf_puts(&out, "\r\nContent-Type: ");
	buf_puts(&out, r->content_type);
	if (strncmp(r->content_type, "text/", 5) == 0 ||
	    strcmp(r->content_type, "application/json") == 0)
		buf_puts(&out, "; charset=utf-8");
	buf_puts(&out, "\r\nX-Request-ID: ");
	buf_puts(&out, req->request_id);
	buf_puts(&out, "\r\n");
	if (r->headers.len > 0)
		buf_append(&out, r->headers.data, r->headers.len);
	buf_printf(&out, "Content-Length: %zu\r\n\r\n", r->body.len);
	if (r->body.len > 0)
		buf_append(&out, r->body.data, r->body.len);
	drain_cgi(req);
	e = out.data != NULL ? out_write(req, out.data, out.len) : PG_ENOMEM;
	buf_free(&out);
	return e;
}
