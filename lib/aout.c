/*
 * payguard - audit output formats (see aout.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "aout.h"

struct json_object *
aout_row_json(const struct aquery_row *row)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	char			 key[48];

	if (row->line_len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, row->line, (int)row->line_len);
	json_tokener_free(tok);
	if (o == NULL)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	if (row->mitigated) {
		json_object_object_add(o, "mitigated",
		    json_object_new_boolean(1));
		json_object_object_add(o, "mitigation_action",
		    json_object_new_string(row->mitigation));
	}
	snprintf(key, sizeof(key), "%" PRIu64 "-%" PRIu64, row->ts_us, row->seq);
	json_object_object_add(o, "key", json_object_new_string(key));
	return o;
}

static const char *const csv_cols[] = {
	"timestamp", "event_id", "event_type", "severity", "source_ip",
	"identity", "outcome", "resource", "request_id", "user_agent",
	"mitigated", "mitigation_action", "seq", "details", "node",
};

static enum pg_err
csv_cell(struct buf *b, const char *s, int last)
{
	enum pg_err	 e;

	if ((e = buf_putc(b, '"')) != PG_OK)
		return e;
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' ||
	    *s == '\r')
		e = buf_putc(b, '\'');
	for (; e == PG_OK && *s != '\0'; s++)
		e = *s == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *s);
	if (e == PG_OK)
		e = buf_puts(b, last ? "\"\r\n" : "\",");
	return e;
}

enum pg_err
aout_csv_header(struct buf *b)
{
	size_t	 i, n = sizeof(csv_cols) / sizeof(csv_cols[0]);
	enum pg_err e = PG_OK;

	for (i = 0; i < n && e == PG_OK; i++)
		e = csv_cell(b, csv_cols[i], i + 1 == n);
	return e;
}

enum pg_err
aout_csv_row(struct buf *b, const struct aquery_row *row)
{
	struct json_object	*o;
	size_t			 i, n = sizeof(csv_cols) / sizeof(csv_cols[0]);
	const char		*s;
	enum pg_err		 e = PG_OK;

	if ((o = aout_row_json(row)) == NULL)
		return PG_EINVAL;
	for (i = 0; i < n && e == PG_OK; i++) {
		s = arecord_get(o, csv_cols[i], 1);
		e = csv_cell(b, s != NULL ? s : "", i + 1 == n);
	}
	json_object_put(o);
	return e;
}

static struct json_object *
counts_json(const struct astats_count *c, size_t n)
{
	struct json_object	*a = json_object_new_array(), *x;
	size_t			 i;

	for (i = 0; a != NULL && i < n; i++) {
		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(c[i].name));
		json_object_object_add(x, "count",
		    json_object_new_int64((int64_t)c[i].n));
		json_object_array_add(a, x);
	}
	return a;
}

#define J_ADD_INT(o, k, v) \
	json_object_object_add((o), (k), json_object_new_int64((int64_t)(v)))

struct json_object *
aout_stats_json(const struct astats *s)
{
	struct json_object	*o, *sev, *h, *row;
	size_t			 i;
	int			 j;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	J_ADD_INT(o, "since_us", s->since_us);
	J_ADD_INT(o, "until_us", s->until_us);
	J_ADD_INT(o, "hours", s->nhours);
	J_ADD_INT(o, "total", s->total);
	sev = json_object_new_object();
	for (j = 0; j < SEV__MAX; j++)
		J_ADD_INT(sev, aevent_sev_name((enum audit_sev)j), s->by_sev[j]);
	json_object_object_add(o, "by_severity", sev);
	json_object_object_add(o, "signature_success_rate", s->sig_rate < 0 ?
	    NULL : json_object_new_double(s->sig_rate));
	J_ADD_INT(o, "signatures_valid", s->sig_ok);
	J_ADD_INT(o, "signatures_invalid", s->sig_bad);
	J_ADD_INT(o, "invalid_ip_attempts", s->invalid_ip);
	J_ADD_INT(o, "replay_attempts", s->replay);
	J_ADD_INT(o, "payload_validation_failures", s->payload_bad);
	J_ADD_INT(o, "rate_limit_violations", s->rate_limited);
	J_ADD_INT(o, "pci_violations", s->pci_violations);
	J_ADD_INT(o, "data_exposure", s->data_exposure);
	J_ADD_INT(o, "auth_failures", s->auth_failures);
	json_object_object_add(o, "rate_limit_by_operation",
	    counts_json(s->rl_ops, s->nrl_ops));
	json_object_object_add(o, "rate_limit_by_identity",
	    counts_json(s->rl_ids, s->nrl_ids));
	json_object_object_add(o, "suspicious_ips",
	    counts_json(s->top_ips, s->ntop_ips));
	json_object_object_add(o, "events_by_type",
	    counts_json(s->types, s->ntypes));
	J_ADD_INT(o, "requests", s->requests);
	json_object_object_add(o, "requests_per_minute_avg",
	    json_object_new_double(s->req_avg_min));
	J_ADD_INT(o, "requests_per_minute_peak", s->req_peak_min);
	J_ADD_INT(o, "inbox_backlog", s->backlog);
	J_ADD_INT(o, "inbox_oldest_pending_ms", s->oldest_pending_ms);
	h = json_object_new_array();
	for (i = 0; i < s->nhours; i++) {
		row = json_object_new_array();
		for (j = 0; j < SEV__MAX; j++)
			json_object_array_add(row,
			    json_object_new_int64((int64_t)s->hourly[i][j]));
		json_object_array_add(h, row);
	}
	json_object_object_add(o, "hourly_by_severity", h);
	return o;
}
