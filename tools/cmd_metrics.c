/*
 * payguard CLI - metrics: the Prometheus text exposition on stdout, e.g.
 * for node_exporter's textfile collector from cron:
 *
 *   payguard metrics > /var/lib/node_exporter/payguard.prom.$$ &&
 *       mv /var/lib/node_exporter/payguard.prom.$$ .../payguard.prom
 *
 * The same text as audit.cgi's /metrics (lib/metrics.h).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "cli.h"
#include "metrics.h"
#include "store.h"

int
cmd_metrics(int argc, char **argv, const struct config *cfg)
{
	struct store	*st = NULL;
	struct buf	 out;
	struct metrics_gauges g;
	char		 err[256];
	enum pg_err	 e;
	int		 rc = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: payguard metrics\n");
		return 2;
	}
	/* Read-only: the volatile counters and the inbox, no key needed. */
	if ((e = store_open(cfg->state_dir, STORE_RDONLY, &st)) != PG_OK) {
		fprintf(stderr, "payguard: cannot open the store in %s: %s\n",
		    cfg->state_dir, pg_strerror(e));
		return 1;
	}
	/* The inbox gauges (backlog, dead letters) of the shared store. */
	if (cli_attach_shared(cfg, st, err, sizeof(err)) != 0) {
		fprintf(stderr, "payguard: metrics: %s\n", err);
		store_close(st);
		return 1;
	}
	buf_init(&out, METRICS_MAX);
	if ((e = app_metrics_gauges(st, &g)) != PG_OK ||
	    (e = metrics_render(st, cfg, &g, &out)) != PG_OK)
		fprintf(stderr, "metrics: %s\n", pg_strerror(e));
	else if (fwrite(out.data, 1, out.len, stdout) == out.len &&
	    fflush(stdout) == 0)
		rc = 0;
	buf_free(&out);
	store_close(st);
	return rc;
}
