/*
 * bare_fcgi - the FastCGI ceiling for bench/bench_webhook.sh: an
 * FCGX_Accept_r loop that reads the request body (CONTENT_LENGTH bytes)
 * and answers 200 {"received":true}.  No signature, no store, no audit:
 * whatever webhook.fcgi reaches is measured against this under the same
 * lighttpd configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request	 r;
	char		 buf[16384];
	const char	*cl;
	long		 want, got;
	int		 n;

	if (FCGX_Init() != 0)
		return 1;
	if (FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		cl = FCGX_GetParam("CONTENT_LENGTH", r.envp);
		want = cl != NULL ? strtol(cl, NULL, 10) : 0;
		for (got = 0; got < want; got += n) {
			n = FCGX_GetStr(buf, (int)(want - got < (long)sizeof(buf) ?
			    want - got : (long)sizeof(buf)), r.in);
			if (n <= 0)
				break;
		}
		FCGX_PutS("Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "\r\n"
		    "{\"received\":true}\n", r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
