/*
 * payguard - libcurl loaded when first needed (dlopen of libcurl.so.4).
 *
 * libcurl brings about thirty libraries with it (GnuTLS, Kerberos,
 * LDAP, ...) whose relocations and constructors cost more at start-up
 * than the rest of a webhook request (callgrind: ~14 M instructions for
 * an empty program linked with -lcurl, against ~2.6 M without).  The
 * modules that use libcurl (forward, iplist, codec, stripe) call it
 * through this table instead of linking it, so a program maps libcurl
 * only when it makes HTTP requests: webhook.fcgi with an executable
 * handler never does; with a forward URL it loads while the
 * configuration is checked, api.fcgi at start-up, both before the
 * first accept; the CLI only for the commands that fetch (events
 * backfill, ips update, doctor).
 *
 * The table is the one piece of process-wide state besides the
 * configuration: filled once, never changed after (programs are single
 * threaded).
 */
#ifndef PG_CURLRT_H
#define PG_CURLRT_H

#include <curl/curl.h>

struct curlrt {
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	char		*(*easy_escape)(CURL *, const char *, int);
	void		 (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
	CURLU		*(*url)(void);
	void		 (*url_cleanup)(CURLU *);
	CURLUcode	 (*url_get)(const CURLU *, CURLUPart, char **,
			    unsigned int);
	CURLUcode	 (*url_set)(CURLU *, CURLUPart, const char *,
			    unsigned int);
	void		 (*easy_reset)(CURL *);
	curl_version_info_data *(*version_info)(CURLversion);
	CURLcode	 (*global_init)(long);
};

/*
 * libcurl's functions, loading the library (and curl_global_init) on
 * the first call; NULL (the reason logged once) when libcurl.so.4, one
 * of its functions or its initialisation fails.  Call it before the
 * first accept in programs that will need it.  The table is static:
 * never freed.
 */
const struct curlrt	*curlrt(void);

#endif /* PG_CURLRT_H */
