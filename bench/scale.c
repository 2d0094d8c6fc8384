/*
 * scale - seeds a webhook state directory to a given size (issue 14), so
 * that bench_webhook.sh can measure whether a request costs more when the
 * state is large.
 *
 *   scale IDS EVENTS
 *
 * Configuration from the environment, as webhook.fcgi reads it
 * (PAYGUARD_STATE_DIR, PAYGUARD_RATE_LIMITS, STRIPE_ENCRYPTION_KEY ...):
 *  - IDS rate-limit identities "ip:10.a.b.c" (the addresses gen_events
 *    puts in X-Forwarded-For with GEN_XFF_IDS), each through a real
 *    rl_check of operation "webhook", so each is a real window;
 *  - EVENTS delivered events in the inbox, written directly (store_put of
 *    records sealed under the key ring, in large transactions; 600-byte
 *    bodies, so that 1 M of them stay near 1.3 GB).
 * Prints "rate_seed_s" and "inbox_seed_s".  The files are flushed
 * (fdatasync) before it exits: the writeback of the seeding must not land
 * in the measurement that follows.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "event.h"
#include "inbox_rec.h"
#include "ratelimit.h"
#include "seal.h"
#include "store.h"

#define SEED_BATCH	20000
#define SEED_BODY	600

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Seeding leaves the file's pages dirty; the kernel's writeback of them
 * would land in the samples that follow (a write to a page under
 * writeback waits).  Flush them first, as a server running for a while
 * would have them flushed.
 */
static void
settle(const char *file)
{
	struct timespec	 ts = { 1, 0 };
	int		 fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) >= 0) {
		(void)fdatasync(fd);
		close(fd);
	}
	nanosleep(&ts, NULL);
}



static void
ident(uint64_t i, char *out, size_t n)
{
	snprintf(out, n, "ip:10.%u.%u.%u", (unsigned)(i >> 16) & 255,
	    (unsigned)(i >> 8) & 255, (unsigned)i & 255);
}



static void
body(char *b, size_t n, const char *id, size_t want)
{
	int	 k = snprintf(b, n, "{\"id\":\"%s\",\"object\":\"event\","
	    "\"type\":\"payment_intent.succeeded\",\"created\":1700000000,"
	    "\"livemode\":false,\"data\":{\"object\":{\"note\":\"", id);
	size_t	 len = (size_t)k;

	while (len + 4 < want && len + 4 < n)
		b[len++] = 'x';
	memcpy(b + len, "\"}}}", 5);
}


struct seed {
	const struct keyring *ring;
	uint64_t	 done, n;
};

/* One large transaction of delivered events, sealed like the inbox's. */
static enum pg_err
seed_txn(struct store_txn *t, void *arg)
{
	struct seed	*sd = arg;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1], b[SEED_BODY + 256];
	void		*rec;
	size_t		 reclen;
	uint64_t	 i, end = sd->done + SEED_BATCH;
	enum pg_err	 e;

	if (end > sd->n)
		end = sd->n;
	for (i = sd->done; i < end; i++) {
		snprintf(id, sizeof(id), "evt_seed%012" PRIu64, i);
		memset(&h, 0, sizeof(h));
		h.version = INBOX_HDR_VERSION;
		h.state = EV_DELIVERED;
		h.attempts = 1;
		h.last_status = 0;
		h.received_ms = store_now_ms();
		h.delivered_ms = h.received_ms;
		h.created = 1700000000;
		snprintf(h.type, sizeof(h.type), "invoice.paid");
		body(b, sizeof(b), id, SEED_BODY);
		if ((e = seal_pack(sd->ring, &h, sizeof(h), b, strlen(b), &rec,
		    &reclen)) != PG_OK)
			return e;
		e = store_put(t, NS_EVENT, id, strlen(id), rec, reclen, 0, 0);
		free(rec);
		if (e != PG_OK)
			return e;
	}
	return PG_OK;
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct keyring	 ring;
	struct store	*st = NULL;
	struct seed	 sd;
	struct rl_result r;
	char		 err[256], path[4096], id[64];
	uint64_t	 ids, t, i;
	int		 rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&ring, 0, sizeof(ring));
	if (argc != 3) {
		fprintf(stderr, "usage: scale IDS EVENTS\n");
		return 2;
	}
	ids = strtoull(argv[1], NULL, 10);
	memset(&sd, 0, sizeof(sd));
	sd.n = strtoull(argv[2], NULL, 10);
	sd.ring = &ring;
	if (ids > (1u << 24)) {
		fprintf(stderr, "scale: at most 2^24 identities\n");
		return 2;
	}
	if (config_load(&cfg, 0, err, sizeof(err)) != PG_OK ||
	    keyring_load(cfg.enc_keys, cfg.state_dir, &ring) != PG_OK ||
	    store_open(cfg.state_dir, cfg.sync ? 0 : STORE_NOSYNC, &st) !=
	    PG_OK) {
		fprintf(stderr, "scale: setup failed %s\n", err);
		goto out;
	}
	t = now_ns();
	for (i = 0; i < ids; i++) {
		ident(i, id, sizeof(id));
		if (rl_check(st, &cfg, "webhook", id, &r) != PG_OK)
			goto out;
	}
	printf("rate_seed_s %.1f\n", (double)(now_ns() - t) / 1e9);
	t = now_ns();
	for (sd.done = 0; sd.done < sd.n; sd.done += SEED_BATCH)
		if (store_run(st, 1, seed_txn, &sd) != PG_OK)
			goto out;
	printf("inbox_seed_s %.1f\n", (double)(now_ns() - t) / 1e9);
	snprintf(path, sizeof(path), "%s/volatile/data.mdb", cfg.state_dir);
	settle(path);
	snprintf(path, sizeof(path), "%s/data.mdb", cfg.state_dir);
	settle(path);
	rc = 0;
out:
	store_close(st);
	config_free(&cfg);
	return rc;
}
