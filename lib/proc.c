/*
 * payguard - the process runner (see proc.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

uint64_t
proc_mono_ms(void)
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
		left = (int)(deadline > proc_mono_ms() ?
		    deadline - proc_mono_ms() : 0);
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

enum pg_err
proc_run(const char *handler, char *const envp[], const void *body,
    size_t len, uint32_t timeout_s, struct proc_result *res)
{
	int		 p[2] = { -1, -1 }, st = 0, killed = 0;
	pid_t		 pid, r;
	uint64_t	 deadline = proc_mono_ms() + (uint64_t)timeout_s * 1000;
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
		if (proc_mono_ms() >= deadline) {
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
