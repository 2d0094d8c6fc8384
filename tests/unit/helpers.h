/*
 * payguard unit tests - the setup every suite would otherwise write
 * again: scratch directories, configuration and key ring, a test event,
 * and real redis-server processes.  Linked into every tests/unit program
 * (the Makefile's TESTHELP).  Failures return -1 (or NULL) rather than
 * assert, so that cmocka setup functions can use them too.
 */
#ifndef PG_TEST_HELPERS_H
#define PG_TEST_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "crypto.h"
#include "event.h"

/* Makes the scratch directory /tmp/pg-NAME.PID (mode 0700) and writes
 * its path to dir.  Returns 0, or -1 when it does not fit or fails. */
int		 th_scratch(char *dir, size_t dirsz, const char *name);
/* Removes dir and everything below it.  Returns 0 or -1. */
int		 th_remove(const char *dir);
/* config_load from the environment into cfg (config_free it) and a
 * fresh one-key ring into ring.  Returns 0 or -1. */
int		 th_config_ring(struct config *cfg, struct keyring *ring);
/* Returns a valid snapshot event id with type customer.created, created 1. */
struct event_info th_event(const char *id);

/*
 * A Redis address: a unix socket path (it begins with '/'), or a TCP
 * port on 127.0.0.1 in decimal.
 */
/* Returns a connection to addr with a 1 s timeout, NULL when it cannot
 * connect (redisFree it). */
redisContext	*th_redis_connect(const char *addr);
/* Runs one command on a connection of its own.  Returns the reply
 * (freeReplyObject it), NULL when not connected or no reply. */
redisReply	*th_redis_cmd(const char *addr, const char *fmt, ...);
/* Waits up to 10 s for addr to answer PING.  Returns 0 or -1. */
int		 th_redis_wait(const char *addr);
/*
 * Starts redis-server on addr with its files in dir (made, mode 0700):
 * AOF on with appendfsync fsync, no RDB, a replica of 127.0.0.1 port
 * replica_of when that is not 0.  Returns its pid once it answers PING,
 * -1 on failure (nothing left running).
 */
pid_t		 th_redis_start(const char *dir, const char *addr,
		    const char *fsync, int replica_of);
/* Runs argv (argv[0] searched in PATH) in a child.  Returns its pid or -1. */
pid_t		 th_spawn(const char *const argv[]);
/* SIGTERM to pid and waits for it; nothing when pid <= 0. */
void		 th_stop(pid_t pid);

#endif /* PG_TEST_HELPERS_H */
