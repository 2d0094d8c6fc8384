/*
 * payguard - libcurl loaded when first needed (see curlrt.h for why).
 */
#include <stddef.h>

#include "curlrt.h"
#include "log.h"
#include "rtload.h"

/* The soname the Debian packages (libcurl4, libcurl3-gnutls is another
 * soname) and the -dev headers this is built against agree on. */
#define CURLRT_SONAME	"libcurl.so.4"

static struct curlrt	 rt;
static int		 state;	/* 0 not tried, 1 loaded, -1 failed */

#define SYM(h, f, name)	rtload_sym((h), CURLRT_SONAME, (name), &rt.f, \
			    sizeof(rt.f))

const struct curlrt *
curlrt(void)
{
	void	*h;

	if (state != 0)
		return state > 0 ? &rt : NULL;
	state = -1;
	if ((h = rtload_open(CURLRT_SONAME)) == NULL)
		return NULL;
	if (SYM(h, easy_init, "curl_easy_init") &&
	    SYM(h, easy_setopt, "curl_easy_setopt") &&
	    SYM(h, easy_perform, "curl_easy_perform") &&
	    SYM(h, easy_getinfo, "curl_easy_getinfo") &&
	    SYM(h, easy_cleanup, "curl_easy_cleanup") &&
	    SYM(h, easy_strerror, "curl_easy_strerror") &&
	    SYM(h, easy_escape, "curl_easy_escape") &&
	    SYM(h, free, "curl_free") &&
	    SYM(h, slist_append, "curl_slist_append") &&
	    SYM(h, slist_free_all, "curl_slist_free_all") &&
	    SYM(h, url, "curl_url") &&
	    SYM(h, url_cleanup, "curl_url_cleanup") &&
	    SYM(h, url_get, "curl_url_get") &&
	    SYM(h, url_set, "curl_url_set") &&
	    SYM(h, easy_reset, "curl_easy_reset") &&
	    SYM(h, version_info, "curl_version_info") &&
	    SYM(h, global_init, "curl_global_init")) {
		/* Before any handle: libcurl's (and its TLS library's)
		 * global set-up, once per process. */
		if (rt.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
			state = 1;
		else
			log_warnx("libcurl: curl_global_init failed");
	}
	/* On failure the handle stays open: harmless, and dlclose of a
	 * library the program may also link is not worth the risk. */
	return state > 0 ? &rt : NULL;
}
