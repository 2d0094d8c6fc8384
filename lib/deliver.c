/*
 * payguard - running the site's webhook handler.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "forward.h"
#include "log.h"
#include "metrics.h"

/* One "NAME=value" environment entry: the longest is the event id. */
#define EVENT_VAR_MAX	(EVENT_ID_MAX + 32)

static uint64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* In the child: wire up fds, exec with exactly envp. */
static void
child(const char *handler, int rfd, char *const envp[])
{
	char	*argv[2];
	int	 fd, devnull;

	setpgid(0, 0);
	devnull = open("/dev/null", O_WRONLY);
	if (dup2(rfd, STDIN_FILENO) < 0 ||
	    (devnull >= 0 && dup2(devnull, STDOUT_FILENO) < 0))
		_exit(126);
	/* Close everything else: under FastCGI fd 0 was the listening
	 * socket and the store's descriptors must not leak. */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	argv[0] = (char *)handler;
	argv[1] = NULL;
	signal(SIGPIPE, SIG_DFL);
	execve(handler, argv, envp);
	_exit(127);
}

/* Feeds body to fd without blocking past the deadline. */
static int
feed(int fd, const char *p, size_t len, uint64_t deadline)
{
	struct pollfd	 pfd;
	ssize_t		 w;
	int		 left;

	while (len > 0) {
		left = (int)(deadline > mono_ms() ? deadline - mono_ms() : 0);
		if (left == 0)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return 0;	/* EPIPE: the handler stopped reading */
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Runs handler with envp (its whole environment) and body on stdin. */
static enum pg_err
run(const char *handler, uint32_t timeout_s, char *const envp[],
    const void *body, size_t len, struct deliver_result *res)
{
	int		 p[2] = { -1, -1 }, st = 0, killed = 0;
	pid_t		 pid, r;
	uint64_t	 deadline = mono_ms() + (uint64_t)timeout_s * 1000;
	void		(*oldpipe)(int);

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("pipe");
		snprintf(res->error, sizeof(res->error), "pipe failed");
		return PG_SYSTEM;
	}
	oldpipe = signal(SIGPIPE, SIG_IGN);
	if ((pid = fork()) < 0) {
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		signal(SIGPIPE, oldpipe);
		snprintf(res->error, sizeof(res->error), "fork failed");
		return PG_SYSTEM;
	}
	if (pid == 0)
		child(handler, p[0], envp);
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (feed(p[1], body, len, deadline) < 0)
		killed = 1;
	close(p[1]);
	while (!killed) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		if (mono_ms() >= deadline) {
			killed = 1;
			break;
		}
		usleep(2000);
	}
	if (killed) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		res->timed_out = 1;
		res->status = -1;
		snprintf(res->error, sizeof(res->error),
		    "handler timed out after %u s", timeout_s);
	} else if (WIFEXITED(st)) {
		res->status = WEXITSTATUS(st);
		res->ok = res->status == 0;
		if (!res->ok)
			snprintf(res->error, sizeof(res->error),
			    res->status == 127 ? "handler could not be run" :
			    "handler exited %d", res->status);
	} else if (WIFSIGNALED(st)) {
		res->status = 128 + WTERMSIG(st);
		snprintf(res->error, sizeof(res->error),
		    "handler killed by signal %d", WTERMSIG(st));
	}
	signal(SIGPIPE, oldpipe);
	return PG_OK;
}

/* PAYGUARD_EVENT_* in vars[] (each sz bytes), PATH and LANG into envp. */
static void
event_env(char vars[][EVENT_VAR_MAX], char *envp[9], const char *id,
    const char *type, int livemode, const char *kind, const char *account,
    const char *source)
{
	size_t	 n = 0;

	snprintf(vars[0], EVENT_VAR_MAX, "PAYGUARD_EVENT_ID=%s", id);
	snprintf(vars[1], EVENT_VAR_MAX, "PAYGUARD_EVENT_TYPE=%s", type);
	snprintf(vars[2], EVENT_VAR_MAX, "PAYGUARD_EVENT_LIVEMODE=%s",
	    livemode ? "true" : "false");
	envp[n++] = vars[0];
	envp[n++] = vars[1];
	envp[n++] = vars[2];
	if (kind != NULL) {
		snprintf(vars[3], EVENT_VAR_MAX, "PAYGUARD_EVENT_KIND=%s", kind);
		envp[n++] = vars[3];
	}
	if (account != NULL && *account != '\0') {
		snprintf(vars[4], EVENT_VAR_MAX, "PAYGUARD_EVENT_ACCOUNT=%s",
		    account);
		envp[n++] = vars[4];
	}
	/* A backfilled event was listed, not signed: the handler may want
	 * to know (e.g. to re-fetch the object before acting on it). */
	if (source != NULL) {
		snprintf(vars[5], EVENT_VAR_MAX, "PAYGUARD_EVENT_SOURCE=%s",
		    source);
		envp[n++] = vars[5];
	}
	envp[n++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	envp[n++] = (char *)"LANG=C.UTF-8";
	envp[n] = NULL;
}

enum pg_err
deliver_run(const char *handler, uint32_t timeout_s, const char *id,
    const char *type, int livemode, const void *body, size_t len,
    struct deliver_result *res)
{
	char	 vars[6][EVENT_VAR_MAX], *envp[9];

	event_env(vars, envp, id, type, livemode, NULL, NULL, NULL);
	return run(handler, timeout_s, envp, body, len, res);
}

enum pg_err
deliver_run_event(const char *handler, uint32_t timeout_s,
    const struct event_info *ev, const void *body, size_t len,
    struct deliver_result *res)
{
	char	 vars[6][EVENT_VAR_MAX], *envp[9];

	event_env(vars, envp, ev->id, ev->type, ev->livemode,
	    event_kind_name(ev->kind), ev->account, ev_source_name(ev->source));
	return run(handler, timeout_s, envp, body, len, res);
}

enum pg_err
deliver_claimed(struct store *st, const struct config *cfg, const char *id,
    const struct ev_hdr *h, const void *body, size_t len,
    struct deliver_result *res)
{
	struct event_info ev;
	const char	*why;
	uint64_t	 t0;
	enum pg_err	 e;

	memset(res, 0, sizeof(*res));
	/* The stored body was validated on the way in; its kind and account
	 * are read again here rather than kept in the inbox header. */
	if (event_validate(body, len, &ev, &why) != PG_OK) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.id, sizeof(ev.id), "%s", id);
		snprintf(ev.type, sizeof(ev.type), "%s", h->type);
		ev.livemode = h->livemode;
	}
	ev.source = (int)h->source;
	if (cfg->wh_forward_url != NULL)
		(void)forward_post(cfg, &ev, body, len, res);
	else if (cfg->wh_handler == NULL) {
		res->ok = 1;
		res->status = 0;
	} else {
		t0 = mono_ms();
		if ((e = deliver_run_event(cfg->wh_handler,
		    cfg->wh_handler_timeout, &ev, body, len, res)) != PG_OK)
			res->ok = 0;
		/* Best effort: a metric never fails a delivery. */
		(void)metrics_observe(st, MH_DELIVERY,
		    (double)(mono_ms() - t0) / 1000.0, MC_DELIVERY,
		    res->ok ? "ok" : "failed");
	}
	if (!res->ok)
		log_warnx("delivery of %s failed (attempt %u): %s", id,
		    h->attempts, res->error);
	return inbox_complete(st, cfg, id, h, res->ok, res->status, res->error);
}

enum pg_err
deliver_due(struct store *st, const struct keyring *ring,
    const struct config *cfg, size_t max, size_t *done, size_t *failed)
{
	struct deliver_result res;
	struct ev_hdr	 h;
	char		 id[EVENT_ID_MAX + 1];
	unsigned char	*body = NULL;
	size_t		 len;
	enum pg_err	 e = PG_OK;

	*done = *failed = 0;
	/* A forwarding misconfiguration must not burn the events' attempts. */
	{
		char why[192];
		if (forward_check(cfg, why, sizeof(why)) != PG_OK) {
			log_warnx("not delivering: %s", why);
			return PG_CONFIG;
		}
	}
	while (max == 0 || *done + *failed < max) {
		e = inbox_claim_next(st, ring, cfg, id, &h, &body, &len);
		if (e == PG_NOTFOUND) {
			e = PG_OK;
			break;
		}
		if (e != PG_OK)
			break;
		e = deliver_claimed(st, cfg, id, &h, body, len, &res);
		free(body);
		body = NULL;
		if (e != PG_OK)
			break;
		if (res.ok)
			(*done)++;
		else
			(*failed)++;
	}
	return e;
}
