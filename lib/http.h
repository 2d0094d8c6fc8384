/*
 * payguard - the request core shared by every program: CGI and FastCGI
 * parameters, the exact raw body with a cap, and the one response writer,
 * which always adds the security headers.
 *
 * The same binary serves as FastCGI (mod_fcgid, lighttpd bin-path,
 * spawn-fcgi) and, unchanged, as plain CGI: http_accept returns one
 * request in CGI mode and then reports the end.
 */
#ifndef PG_HTTP_H
#define PG_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HTTP_RID_MAX	64	/* request ids: 1-64 of [A-Za-z0-9._-] */
#define HTTP_HDR_MAX	8192	/* bytes of response headers */
#define HTTP_RESP_MAX	(8u << 20)	/* bytes of response body */
#define HTTP_DRAIN_MAX	(64u << 20)	/* unread body discarded before a CGI reply */

struct http_server;

struct http_req {
	struct http_server	*srv;
	void			*fcgx;		/* FCGX_Request, NULL in CGI */
	const char		*method;	/* never NULL ("" when absent) */
	const char		*remote_addr;	/* never NULL */
	const char		*user_agent;	/* never NULL */
	char			 request_id[HTTP_RID_MAX + 1];
	struct buf		 body;		/* filled by http_read_body */
	unsigned long long	 consumed;	/* body bytes read so far */
};

struct http_resp {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	const char	*content_type;	/* default application/json */
	const char	*csp;		/* default "default-src 'none'; ..." */
};

/* Prepares the server (FastCGI or CGI, detected); *srv freed by
 * http_server_free. */
enum pg_err	 http_server_new(struct http_server **srv);
/* Returns 1 if running as plain CGI. */
int		 http_is_cgi(const struct http_server *srv);
void		 http_server_free(struct http_server *srv);

/*
 * Waits for the next request and fills req.  Returns 1 with a request,
 * 0 when there are no more (CGI after one; FastCGI on shutdown).
 * Release each request with http_finish.
 */
int		 http_accept(struct http_server *srv, struct http_req *req);
/* Ends the request: flushes output, frees req's memory. */
void		 http_finish(struct http_req *req);

/* Returns the CGI/FastCGI parameter name, or NULL.  Valid until finish. */
const char	*http_param(const struct http_req *req, const char *name);
/* Returns the request header (e.g. "Stripe-Signature"), or NULL. */
const char	*http_header(const struct http_req *req, const char *name);

/*
 * Calls fn for every CGI/FastCGI parameter whose name starts with prefix
 * ("HTTP_": the request headers), until fn returns non-zero; returns that
 * value (0 when every call returned 0).  name is a bounded copy.
 */
int		 http_each_param(const struct http_req *req, const char *prefix,
		    int (*fn)(const char *name, const char *value, void *arg),
		    void *arg);

/*
 * Reads the whole body into req->body, at most max bytes.  Returns 0, or
 * the HTTP status to answer: 411 (no Content-Length on a method with a
 * body), 400 (malformed Content-Length), 413 (too large), 400 (truncated:
 * fewer bytes than announced).  *code gets the matching error code.
 */
int		 http_read_body(struct http_req *req, size_t max,
		    const char **code);

/* Prepares an empty 200 response. */
void		 http_resp_init(struct http_resp *r);
void		 http_resp_free(struct http_resp *r);
/* Adds a header; PG_EINVAL when name or value holds CR, LF or NUL or the
 * name is not a token. */
enum pg_err	 http_resp_header(struct http_resp *r, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets a Stripe-shaped error body {"error":{type,code,message[,param]}}. */
void		 http_resp_error(struct http_resp *r, int status,
		    const char *type, const char *code, const char *param,
		    const char *message);
/* Sets a JSON body from a literal. */
void		 http_resp_json(struct http_resp *r, int status,
		    const char *json);
/* Writes status line, security headers, X-Request-ID, r's headers and
 * body.  Returns PG_OK or PG_SYSTEM when the client is gone. */
enum pg_err	 http_send(struct http_req *req, struct http_resp *r);

/* Returns the reason phrase for status ("OK", "Not Found"...). */
const char	*http_reason(int status);
/* Returns 1 if s is a well-formed request id. */
int		 http_valid_rid(const char *s);
/* Writes a fresh random request id ("req_" + 24 hex) into out. */
void		 http_new_rid(char out[HTTP_RID_MAX + 1]);

#endif /* PG_HTTP_H */
