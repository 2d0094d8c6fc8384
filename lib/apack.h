/*
 * payguard - a compact, exact encoding of one audit log line for the
 * index (aindex.h).
 *
 * The index used to keep each record's whole line (~600 bytes); most of
 * it is the fixed JSON layout of arecord.h, hex and UUIDs, and what the
 * index key and the value header hold already (time, seq, address, type,
 * node).  A json-c line never holds a raw byte below 0x20 (it escapes
 * them), so those bytes serve as tokens: a dictionary of the layout's
 * fixed strings, a UUID or lowercase hex run as binary, the timestamp,
 * seq, address, type and node from the context, and the chain hash as
 * "SHA-256 of what came before" (recomputed, not stored).  Everything
 * else is copied.  Packing checks its result by unpacking it: a line it
 * cannot reproduce byte for byte is refused (the caller stores it raw),
 * so rows, exports and the chain fields read back exactly as logged.
 */
#ifndef PG_APACK_H
#define PG_APACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* What the index knows about a record besides its packed line;
 * strings borrowed, not NUL-terminated (lengths given). */
struct apack_ctx {
	uint64_t	 ts_us;		/* the record's ms, in us */
	uint64_t	 seq;
	const char	*ip, *type, *node;
	size_t		 iplen, tlen, nlen;
};

/*
 * Appends the packed form of line (len bytes) to b.  PG_EINVAL when the
 * line holds a byte below 0x20 or would not unpack to itself (b is then
 * as it was; store the line raw), PG_TOOLARGE / PG_ENOMEM from b.
 */
enum pg_err	 apack_line(const struct apack_ctx *c, const char *line,
		    size_t len, struct buf *b);
/*
 * Appends the line that p[0..n) packs to b (at most ARECORD_LINE_MAX
 * bytes).  PG_EINVAL when p is not a packed line (b then holds a prefix:
 * reset it), PG_TOOLARGE / PG_ENOMEM from b.
 */
enum pg_err	 apack_unline(const struct apack_ctx *c, const void *p,
		    size_t n, struct buf *b);

#endif /* PG_APACK_H */
