/*
 * gen_events - pre-signed Stripe-like webhook requests for wrk
 * (bench/bench_webhook.sh, bench/wrk_events.lua): wrk's LuaJIT has no
 * HMAC, so every request is made here, before the run.
 *
 *   gen_events SECRET COUNT FILES OUT HOST PATH IDPREFIX [BYTES [T]]
 *
 * Writes COUNT complete HTTP/1.1 POST requests for HOST (host:port) and
 * PATH, request i into OUT.<i % FILES> (one file per wrk thread), each
 * request followed by a NUL byte.  Every body is a distinct event
 * (id evt_<IDPREFIX><i>) of about BYTES bytes (default 1500), signed
 * with SECRET at timestamp T (default now): Stripe-Signature
 * "t=T,v1=hex(HMAC-SHA256(SECRET, "T.body"))".
 * With GEN_XFF_IDS=K in the environment every request also carries
 * "X-Forwarded-For: 10.a.b.c", one of K addresses (a multiplicative hash
 * of i spreads them), so that a server trusting 127.0.0.1 as a proxy
 * sees K distinct clients (bench/scale.c seeds the same K identities).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_FILES	64
#define BODY_MAX	65536

static const char body_fmt[] =
    "{\"id\":\"evt_%s%09lu\",\"object\":\"event\",\"api_version\":\"2024-06-20\","
    "\"created\":%lld,\"livemode\":false,\"pending_webhooks\":1,"
    "\"request\":{\"id\":\"req_%s%09lu\",\"idempotency_key\":"
    "\"6f1c2a9e-3b7d-4c1e-9a55-%012lu\"},\"type\":\"payment_intent.succeeded\","
    "\"data\":{\"object\":{\"id\":\"pi_3Q%s%09lu\",\"object\":\"payment_intent\","
    "\"amount\":%lu,\"amount_capturable\":0,\"amount_received\":%lu,"
    "\"capture_method\":\"automatic\",\"confirmation_method\":\"automatic\","
    "\"created\":%lld,\"currency\":\"eur\",\"customer\":\"cus_Q%09lu\","
    "\"description\":\"Order %lu\",\"latest_charge\":\"ch_3Q%s%09lu\","
    "\"livemode\":false,\"payment_method\":\"pm_1Q%09lu\","
    "\"payment_method_types\":[\"card\"],\"status\":\"succeeded\","
    "\"shipping\":{\"name\":\"Jenny Rosen\",\"address\":{\"line1\":"
    "\"1 Example Street\",\"city\":\"Berlin\",\"postal_code\":\"10115\","
    "\"country\":\"DE\"}},\"metadata\":{\"order_id\":\"%lu\",\"note\":\"";
static const char body_end[] = "\"}}}}";

int
main(int argc, char **argv)
{
	FILE		*out[MAX_FILES];
	char		 path[4096], body[BODY_MAX], hdr[1024], sig[65], xff[64];
	unsigned char	 mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 maclen;
	const char	*secret, *prefix, *host, *upath, *idp;
	unsigned long	 count, i, nfiles, f, j, xids, a;
	size_t		 want, len, tl, hl;
	long long	 t;
	int		 n;

	if (argc < 8) {
		fprintf(stderr, "usage: gen_events SECRET COUNT FILES OUT HOST "
		    "PATH IDPREFIX [BYTES [T]]\n");
		return 2;
	}
	secret = argv[1];
	count = strtoul(argv[2], NULL, 10);
	nfiles = strtoul(argv[3], NULL, 10);
	prefix = argv[4];
	host = argv[5];
	upath = argv[6];
	idp = argv[7];
	want = argc > 8 ? strtoul(argv[8], NULL, 10) : 1500;
	t = argc > 9 ? strtoll(argv[9], NULL, 10) : (long long)time(NULL);
	xids = getenv("GEN_XFF_IDS") != NULL ?
	    strtoul(getenv("GEN_XFF_IDS"), NULL, 10) : 0;
	if (xids > (1ul << 24))
		return 2;
	xff[0] = '\0';
	if (nfiles == 0 || nfiles > MAX_FILES || want >= BODY_MAX - 64 ||
	    strlen(idp) > 12)
		return 2;
	for (f = 0; f < nfiles; f++) {
		snprintf(path, sizeof(path), "%s.%lu", prefix, f);
		if ((out[f] = fopen(path, "w")) == NULL) {
			perror(path);
			return 1;
		}
	}
	if ((msg = malloc(BODY_MAX + 32)) == NULL)
		return 1;
	for (i = 0; i < count; i++) {
		n = snprintf(body, sizeof(body), body_fmt, idp, i, t, idp, i,
		    i, idp, i, 1000 + i % 90000, 1000 + i % 90000, t, i % 100000,
		    i, idp, i, i, i);
		if (n < 0 || (size_t)n >= sizeof(body))
			return 1;
		len = (size_t)n;
		/* Pad the metadata note up to the wanted size. */
		for (j = 0; len + sizeof(body_end) - 1 < want; j++)
			body[len++] = (char)('a' + j % 26);
		memcpy(body + len, body_end, sizeof(body_end));
		len += sizeof(body_end) - 1;
		tl = (size_t)snprintf((char *)msg, 32, "%lld.", t);
		memcpy(msg + tl, body, len);
		if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + len,
		    mac, &maclen) == NULL)
			return 1;
		for (j = 0; j < maclen; j++)
			snprintf(sig + 2 * j, 3, "%02x", mac[j]);
		if (xids > 0) {
			a = (unsigned long)(((unsigned long long)i *
			    2654435761ull) % xids);
			snprintf(xff, sizeof(xff), "X-Forwarded-For: 10.%lu.%lu.%lu\r\n",
			    (a >> 16) & 255, (a >> 8) & 255, a & 255);
		}
		hl = (size_t)snprintf(hdr, sizeof(hdr),
		    "POST %s HTTP/1.1\r\nHost: %s\r\n%s"
		    "Content-Type: application/json; charset=utf-8\r\n"
		    "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
		    "Stripe-Signature: t=%lld,v1=%s\r\n"
		    "Content-Length: %zu\r\n\r\n", upath, host, xff, t, sig, len);
		f = i % nfiles;
		if (fwrite(hdr, 1, hl, out[f]) != hl ||
		    fwrite(body, 1, len, out[f]) != len ||
		    fputc('\0', out[f]) == EOF)
			return 1;
	}
	for (f = 0; f < nfiles; f++)
		if (fclose(out[f]) != 0)
			return 1;
	free(msg);
	return 0;
}
