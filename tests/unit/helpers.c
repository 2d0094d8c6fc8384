/*
 * payguard unit tests - shared setup (helpers.h).
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

int
th_scratch(char *dir, size_t dirsz, const char *name)
{
	int	 n = snprintf(dir, dirsz, "/tmp/pg-%s.%d", name, (int)getpid());

	if (n < 0 || (size_t)n >= dirsz)
		return -1;
	return mkdir(dir, 0700) == 0 ? 0 : -1;
}

int
th_remove(const char *dir)
{
	pid_t	 pid;
	int	 status;

	/* rm itself, not system(): the path goes to no shell. */
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
th_config_ring(struct config *cfg, struct keyring *ring)
{
	char	 err[256], key[FERNET_KEY_B64LEN + 1];

	if (config_load(cfg, 0, err, sizeof(err)) != PG_OK) {
		fprintf(stderr, "config_load: %s\n", err);
		return -1;
	}
	if (fernet_key_generate(key) != PG_OK ||
	    keyring_parse(key, ring) != PG_OK)
		return -1;
	return 0;
}

struct event_info
th_event(const char *id)
{
	struct event_info ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.id, sizeof(ev.id), "%s", id);
	snprintf(ev.type, sizeof(ev.type), "customer.created");
	ev.created = 1;
	return ev;
}

redisContext *
th_redis_connect(const char *addr)
{
	struct timeval	 tv = { 1, 0 };
	redisContext	*c;

	c = addr[0] == '/' ? redisConnectUnixWithTimeout(addr, tv) :
	    redisConnectWithTimeout("127.0.0.1", atoi(addr), tv);
	if (c != NULL && c->err != 0) {
		redisFree(c);
		c = NULL;
	}
	if (c != NULL)
		redisSetTimeout(c, tv);
	return c;
}

redisReply *
th_redis_cmd(const char *addr, const char *fmt, ...)
{
	redisContext	*c = th_redis_connect(addr);
	redisReply	*r;
	va_list		 ap;

	if (c == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

int
th_redis_wait(const char *addr)
{
	redisReply	*r;
	int		 i;

	for (i = 0; i < 200; i++) {
		if ((r = th_redis_cmd(addr, "PING")) != NULL) {
			freeReplyObject(r);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

pid_t
th_spawn(const char *const argv[])
{
	pid_t	 pid;

	if ((pid = fork()) == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void
th_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

pid_t
th_redis_start(const char *dir, const char *addr, const char *fsync,
    int replica_of)
{
	char		 log[4400], of[32];
	const char	*argv[32];
	int		 n = 0;
	pid_t		 pid;

	if (snprintf(log, sizeof(log), "%s/redis.log", dir) >=
	    (int)sizeof(log))
		return -1;
	(void)mkdir(dir, 0700);
	argv[n++] = "redis-server";
	if (addr[0] == '/') {
		argv[n++] = "--port"; argv[n++] = "0";
		argv[n++] = "--unixsocket"; argv[n++] = addr;
		argv[n++] = "--unixsocketperm"; argv[n++] = "700";
	} else {
		argv[n++] = "--bind"; argv[n++] = "127.0.0.1";
		argv[n++] = "--port"; argv[n++] = addr;
	}
	argv[n++] = "--dir"; argv[n++] = dir;
	argv[n++] = "--appendonly"; argv[n++] = "yes";
	argv[n++] = "--appendfsync"; argv[n++] = fsync;
	argv[n++] = "--save"; argv[n++] = "";
	argv[n++] = "--logfile"; argv[n++] = log;
	argv[n++] = "--repl-diskless-sync-delay"; argv[n++] = "0";
	if (replica_of > 0) {
		snprintf(of, sizeof(of), "127.0.0.1 %d", replica_of);
		argv[n++] = "--replicaof";
		argv[n++] = of;
	}
	argv[n] = NULL;
	if ((pid = th_spawn(argv)) < 0)
		return -1;
	if (th_redis_wait(addr) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}
