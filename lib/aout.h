/*
 * payguard - audit output formats: a queried row (aquery.h) as JSON or
 * CSV, the metrics (astats.h) as JSON.  Shared by audit.cgi and the CLI
 * so both export the same bytes.
 */
#ifndef PG_AOUT_H
#define PG_AOUT_H

#include <json-c/json.h>

#include "aquery.h"
#include "astats.h"
#include "buf.h"
#include "err.h"

/*
 * The row as a JSON object: the logged record with the index's
 * mitigation flag laid over it, plus "key":"TS-SEQ" (caller frees).
 * NULL when the line does not parse.
 */
struct json_object *aout_row_json(const struct aquery_row *row);
/* Appends the CSV header line / one row (every field quoted; a cell
 * starting with = + - @ TAB CR gets a leading ' against formula
 * injection). */
enum pg_err	 aout_csv_header(struct buf *b);
enum pg_err	 aout_csv_row(struct buf *b, const struct aquery_row *row);
/* The metrics as JSON (caller frees). */
struct json_object *aout_stats_json(const struct astats *s);

#endif /* PG_AOUT_H */
