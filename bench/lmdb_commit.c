/*
 * lmdb_commit - the raw cost of a synced LMDB commit, the floor under
 * webhook.fcgi with PAYGUARD_SYNC=1 (bench/bench_webhook.sh, figure d).
 *
 *   lmdb_commit DIR [COMMITS [VALUE_BYTES [MAX_SECONDS]]]
 *
 * Opens (creates) an LMDB environment in DIR with the default flags -- so
 * every commit syncs, as the webhook's inbox commit does -- and runs
 * COMMITS write transactions of one mdb_put each (distinct keys, values of
 * VALUE_BYTES, about a sealed ~1.5 KB event), stopping early after
 * MAX_SECONDS.  Prints "key value" lines: commits, seconds, commits_per_s,
 * mean_us, p50_us, p99_us, max_us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "lmdb_commit: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

int
main(int argc, char **argv)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	char		 key[64], *val;
	const char	*dir;
	double		*lat, t0, t1, start, sum = 0, limit;
	long		 n, i, done = 0;
	size_t		 vlen;
	int		 rc;

	if (argc < 2) {
		fprintf(stderr, "usage: lmdb_commit DIR [COMMITS [VALUE_BYTES "
		    "[MAX_SECONDS]]]\n");
		return 2;
	}
	dir = argv[1];
	n = argc > 2 ? strtol(argv[2], NULL, 10) : 3000;
	vlen = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 2048;
	limit = argc > 4 ? strtod(argv[4], NULL) : 1e9;
	if (n <= 0 || vlen == 0)
		return 2;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL ||
	    (val = malloc(vlen)) == NULL)
		return 1;
	for (i = 0; i < (long)vlen; i++)
		val[i] = (char)('a' + i % 26);
	if ((rc = mdb_env_create(&env)) != 0)
		return fail("mdb_env_create", rc);
	mdb_env_set_mapsize(env, 1UL << 30);
	mdb_env_set_maxdbs(env, 1);
	/* Default flags: data fdatasync + synchronous meta write per commit. */
	if ((rc = mdb_env_open(env, dir, 0, 0600)) != 0)
		return fail("mdb_env_open", rc);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "bench", MDB_CREATE, &dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0)
		return fail("setup", rc);
	start = now_s();
	for (i = 0; i < n; i++) {
		k.mv_size = (size_t)snprintf(key, sizeof(key), "evt_bench%010ld",
		    i);
		k.mv_data = key;
		v.mv_size = vlen;
		v.mv_data = val;
		t0 = now_s();
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
			return fail("mdb_txn_begin", rc);
		if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
			return fail("mdb_put", rc);
		if ((rc = mdb_txn_commit(txn)) != 0)
			return fail("mdb_txn_commit", rc);
		t1 = now_s();
		lat[i] = (t1 - t0) * 1e6;
		sum += lat[i];
		done++;
		if (t1 - start >= limit)
			break;
	}
	t1 = now_s() - start;
	qsort(lat, (size_t)done, sizeof(*lat), cmp_dbl);
	printf("commits %ld\n", done);
	printf("seconds %.3f\n", t1);
	printf("commits_per_s %.0f\n", (double)done / t1);
	printf("mean_us %.1f\n", sum / (double)done);
	printf("p50_us %.1f\n", lat[done / 2]);
	printf("p99_us %.1f\n", lat[(long)((double)done * 0.99)]);
	printf("max_us %.1f\n", lat[done - 1]);
	mdb_env_close(env);
	free(lat);
	free(val);
	return 0;
}
