/*
 * payguard doctor [--json] - one health check for administrators, after
 * installing and from cron.  Each finding is one line: its level, its
 * area, what was found and what to do.  Exit 0 healthy (only "ok" and
 * "note"), 1 warnings, 2 problems.
 *
 * Areas: the linked libraries' versions read at run time against the
 * minimums below (with the advisory each fixes: the C counterpart of the
 * seed's pip-audit step); the state directory and the secret files
 * (owner, mode, symlinks, readable by others or by the web server's user
 * when payguard has its own); configuration that loads but is risky; the
 * clock (the signature tolerance depends on it); the inbox backlog and
 * dead letters, the audit chain, the store's size and the disk.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "ascan.h"
#include "asset.h"
#include "audit.h"
#include "curlrt.h"
#include "cli.h"
#include "inbox.h"
#include "ipallow.h"
#include "iplist.h"
#include "store.h"

extern char **environ;

enum level { LV_OK = 0, LV_NOTE, LV_WARN, LV_PROBLEM };

static const char *const level_names[] = { "ok", "note", "warn", "problem" };

struct doctor {
	struct json_object	*arr;	/* findings, for --json */
	int			 json;
	enum level		 worst;
};

/* Known-good minimums of the libraries payguard links, each with the
 * advisory it fixes.  A version at or above the floor is necessary, not
 * sufficient: distributions backport fixes without changing it, so keep
 * the system updated (apt-get upgrade) as well. */
struct lib_floor {
	const char	*name;
	unsigned	 major, minor, patch;
	const char	*advisory;
	const char	*package;	/* Debian package to upgrade */
};

static const struct lib_floor floors[] = {
	{ "OpenSSL", 3, 0, 16, "CVE-2024-13176 (ECDSA P-521 timing side "
	    "channel) and CVE-2024-9143 (out-of-bounds access in GF(2^m) "
	    "curve APIs)", "libssl3" },
	{ "libcurl", 7, 88, 0, "CVE-2023-23914 (HSTS ignored across "
	    "requests) and CVE-2023-23916 (unbounded HTTP decompression "
	    "chain)", "libcurl4" },
	{ "json-c", 0, 15, 0, "CVE-2020-12762 (integer overflow and "
	    "out-of-bounds write on large input)", "libjson-c5" },
	{ "LMDB", 0, 9, 24, "no published advisory: the oldest release "
	    "payguard is tested with", "liblmdb0" },
};

/* Libraries without a version call: their Debian package is asked. */
struct pkg_floor {
	const char	*name;
	const char	*package;
	const char	*floor;		/* Debian version with the fix */
	const char	*advisory;
};

static const struct pkg_floor pkg_floors[] = {
	{ "libfcgi", "libfcgi0ldbl", "2.4.2-2+deb12u1", "CVE-2025-23016 "
	    "(integer overflow in FastCGI parameter lengths, heap overflow; "
	    "upstream 2.4.5)" },
	{ "hiredis", "libhiredis0.14", "0.14.1-2", "CVE-2021-32765 (integer "
	    "overflow parsing multi-bulk replies; upstream 1.0.1)" },
};

#define LIST_MAX_AGE	(90LL * 86400)	/* s: an IP list older is stale */
#define BACKLOG_AGE_MS	(3600ULL * 1000)/* oldest queued event: worker? */
#define DISK_MIN_FREE	(100ULL << 20)	/* bytes */

static void
finding(struct doctor *d, enum level lv, const char *area, const char *todo,
    const char *fmt, ...)
{
	struct json_object	*o;
	char			 msg[1024];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lv > d->worst)
		d->worst = lv;
	if (d->json) {
		if ((o = json_object_new_object()) == NULL)
			return;
		json_object_object_add(o, "level", json_object_new_string(level_names[lv]));
		json_object_object_add(o, "area", json_object_new_string(area));
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_object_add(o, "do", todo ? json_object_new_string(todo) : NULL);
		json_object_array_add(d->arr, o);
		return;
	}
	printf("%-7s %-7s %s%s%s\n", level_names[lv], area, msg,
	    todo ? " -- do: " : "", todo ? todo : "");
}

/* ------------------------------------------------------------ libraries */

static int
version_lt(unsigned a1, unsigned a2, unsigned a3, const struct lib_floor *f)
{
	if (a1 != f->major)
		return a1 < f->major;
	if (a2 != f->minor)
		return a2 < f->minor;
	return a3 < f->patch;
}

/* Runs argv (no shell), stdout into out (outsz); returns the exit status
 * or -1 when it could not run. */
static int
run(char *const argv[], char *out, size_t outsz)
{
	posix_spawn_file_actions_t fa;
	int		 p[2], st = -1;
	pid_t		 pid;
	ssize_t		 r;
	size_t		 n = 0;

	if (outsz > 0)
		out[0] = '\0';
	if (pipe(p) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", 1, 0);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (outsz > 0 && n < outsz - 1 &&
	    (r = read(p[0], out + n, outsz - 1 - n)) > 0)
		n += (size_t)r;
	if (outsz > 0)
		out[n] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
one_lib(struct doctor *d, const struct lib_floor *f, const char *have,
    unsigned a1, unsigned a2, unsigned a3)
{
	char	 todo[256];

	if (version_lt(a1, a2, a3, f)) {
		snprintf(todo, sizeof(todo), "upgrade %s (apt-get install "
		    "--only-upgrade %s), then restart payguard", f->name,
		    f->package);
		finding(d, LV_PROBLEM, "libs", todo, "%s %s is older than "
		    "%u.%u.%u, which fixes %s", f->name, have, f->major,
		    f->minor, f->patch, f->advisory);
	} else
		finding(d, LV_OK, "libs", NULL, "%s %s (>= %u.%u.%u: %s)",
		    f->name, have, f->major, f->minor, f->patch, f->advisory);
}

static void
one_pkg(struct doctor *d, const struct pkg_floor *f)
{
	char	 ver[128], todo[256], *argv[6];

	argv[0] = (char *)"dpkg-query";
	argv[1] = (char *)"-W";
	argv[2] = (char *)"-f=${Version}";
	argv[3] = (char *)f->package;
	argv[4] = NULL;
	if (run(argv, ver, sizeof(ver)) != 0 || ver[0] == '\0') {
		snprintf(todo, sizeof(todo), "make sure your %s includes the "
		    "fix for %s", f->name, f->advisory);
		finding(d, LV_NOTE, "libs", todo, "%s has no version call and "
		    "no Debian package %s was found", f->name, f->package);
		return;
	}
	argv[0] = (char *)"dpkg";
	argv[1] = (char *)"--compare-versions";
	argv[2] = ver;
	argv[3] = (char *)"ge";
	argv[4] = (char *)f->floor;
	argv[5] = NULL;
	if (run(argv, NULL, 0) == 0) {
		finding(d, LV_OK, "libs", NULL, "%s (package %s %s >= %s: %s)",
		    f->name, f->package, ver, f->floor, f->advisory);
		return;
	}
	snprintf(todo, sizeof(todo), "apt-get install --only-upgrade %s, "
	    "then restart payguard", f->package);
	finding(d, LV_PROBLEM, "libs", todo, "%s (package %s %s) is older "
	    "than %s, which fixes %s", f->name, f->package, ver, f->floor,
	    f->advisory);
}

static void
check_libs(struct doctor *d)
{
	const struct curlrt *cu = curlrt();
	const curl_version_info_data *cv = cu != NULL ?
	    cu->version_info(CURLVERSION_NOW) : NULL;
	unsigned long	 ov = OpenSSL_version_num();
	unsigned int	 jv = (unsigned int)json_c_version_num();
	int		 m1, m2, m3;
	size_t		 i;
	char		 ver[128];

	/* OpenSSL 3: 0xMNN00PP0 */
	one_lib(d, &floors[0], OpenSSL_version(OPENSSL_VERSION_STRING),
	    (unsigned)(ov >> 28) & 0xf, (unsigned)(ov >> 20) & 0xff,
	    (unsigned)(ov >> 4) & 0xff);
	if (cv != NULL)
		one_lib(d, &floors[1], cv->version,
		    (cv->version_num >> 16) & 0xff,
		    (cv->version_num >> 8) & 0xff, cv->version_num & 0xff);
	else
		finding(d, LV_PROBLEM, "libs", "install Debian's libcurl4",
		    "libcurl (libcurl.so.4) cannot be loaded");
	one_lib(d, &floors[2], json_c_version(), (jv >> 16) & 0xff,
	    (jv >> 8) & 0xff, jv & 0xff);
	mdb_version(&m1, &m2, &m3);
	snprintf(ver, sizeof(ver), "%d.%d.%d", m1, m2, m3);
	one_lib(d, &floors[3], ver, (unsigned)m1, (unsigned)m2, (unsigned)m3);

	for (i = 0; i < sizeof(pkg_floors) / sizeof(pkg_floors[0]); i++)
		one_pkg(d, &pkg_floors[i]);
}

/* ------------------------------------------------------ files and users */

static const char *
user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "uid %lu", (unsigned long)uid);
	return buf;
}

/* May the user (uid, groups) use sb with permission bit b (4 r, 1 x)? */
static int
allowed(const struct stat *sb, uid_t uid, const gid_t *g, int ng, int b)
{
	int	 i;

	if (uid == 0)
		return 1;
	if (sb->st_uid == uid)
		return (sb->st_mode >> 6) & b ? 1 : 0;
	for (i = 0; i < ng; i++)
		if (sb->st_gid == g[i])
			return (sb->st_mode >> 3) & b ? 1 : 0;
	return sb->st_mode & b ? 1 : 0;
}

/* Could pw read path (every directory above searchable, the file
 * readable)?  Symlinks are followed as the kernel would. */
static int
can_read(const struct passwd *pw, const char *path)
{
	struct stat	 sb;
	char		 real[PATH_MAX], *p;
	gid_t		 g[64];
	int		 ng = 64;

	if (realpath(path, real) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, g, &ng) < 0)
		ng = 0;
	for (p = real + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (stat(real, &sb) != 0 || !allowed(&sb, pw->pw_uid, g, ng, 1)) {
			*p = '/';
			return 0;
		}
		*p = '/';
	}
	if (stat(real, &sb) != 0)
		return 0;
	return allowed(&sb, pw->pw_uid, g, ng, 4);
}

/* One secret file: exists, no symlink, not readable or writable by
 * others, owned like the state dir; and, when payguard has its own user,
 * not readable by the web server's user web (may be NULL). */
static void
check_secret(struct doctor *d, const char *what, const char *path,
    uid_t owner, const struct passwd *web)
{
	struct stat	 sb;
	char		 todo[PATH_MAX + 64], u[64];

	if (lstat(path, &sb) != 0) {
		if (errno != ENOENT)
			finding(d, LV_PROBLEM, "files", "check the path and "
			    "its permissions", "%s %s: %s", what, path,
			    strerror(errno));
		return;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(todo, sizeof(todo), "replace the link by the file "
		    "itself (cp --remove-destination \"$(readlink -f %s)\" %s)",
		    path, path);
		finding(d, LV_WARN, "files", todo, "%s %s is a symbolic link "
		    "(whoever can change the link or its target chooses the "
		    "secret)", what, path);
		if (stat(path, &sb) != 0)
			return;
	}
	if (sb.st_mode & 0022) {
		snprintf(todo, sizeof(todo), "chmod go-w %s", path);
		finding(d, LV_PROBLEM, "files", todo, "%s %s is writable by "
		    "group or others (mode %04o)", what, path,
		    (unsigned)sb.st_mode & 07777);
	}
	if (sb.st_mode & 0004) {
		snprintf(todo, sizeof(todo), "chmod o-rwx %s", path);
		finding(d, LV_PROBLEM, "files", todo, "%s %s is readable by "
		    "every user (mode %04o)", what, path,
		    (unsigned)sb.st_mode & 07777);
	}
	if (web != NULL && web->pw_uid != owner && can_read(web, path)) {
		snprintf(todo, sizeof(todo), "chown %s %s; chmod 0600 %s (or "
		    "0640 with a group the web server is not in)",
		    user_name(owner, u, sizeof(u)), path, path);
		finding(d, LV_PROBLEM, "files", todo, "%s %s is readable by "
		    "the web server's user %s, but only payguard (%s) needs it",
		    what, path, web->pw_name, u);
	}
}

static void
check_files(struct doctor *d, const struct config *cfg)
{
	static const char *const env_files[] = { "PAYGUARD_CONFIG",
	    "STRIPE_WEBHOOK_SECRET_FILE", "STRIPE_SECRET_KEY_FILE",
	    "STRIPE_ENCRYPTION_KEY_FILE", "PAYGUARD_TOKEN_PEPPER_FILE" };
	static const char *const state_files[] = { "encryption.key",
	    "token.key", "data.mdb" };
	struct passwd	*pw, web;
	struct stat	 sb;
	const char	*wname, *v;
	char		 path[PATH_MAX], todo[PATH_MAX + 64], u[64], wbuf[64];
	size_t		 i;
	int		 haveweb = 0;

	if (cfg->state_dir == NULL) {
		finding(d, LV_PROBLEM, "state", "set PAYGUARD_STATE_DIR",
		    "PAYGUARD_STATE_DIR is not set");
		return;
	}
	if (lstat(cfg->state_dir, &sb) != 0) {
		snprintf(todo, sizeof(todo), "install -d -m 0700 -o payguard "
		    "%s (the user the programs run as)", cfg->state_dir);
		finding(d, LV_PROBLEM, "state", todo, "state directory %s: %s",
		    cfg->state_dir, strerror(errno));
		return;
	}
	if (S_ISLNK(sb.st_mode)) {
		finding(d, LV_PROBLEM, "state", "point PAYGUARD_STATE_DIR at "
		    "the real directory", "state directory %s is a symbolic "
		    "link", cfg->state_dir);
		if (stat(cfg->state_dir, &sb) != 0)
			return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		finding(d, LV_PROBLEM, "state", "point PAYGUARD_STATE_DIR at a "
		    "directory", "%s is not a directory", cfg->state_dir);
		return;
	}
	user_name(sb.st_uid, u, sizeof(u));
	if (sb.st_mode & 0077) {
		snprintf(todo, sizeof(todo), "chmod 0700 %s", cfg->state_dir);
		finding(d, LV_PROBLEM, "state", todo, "state directory %s is "
		    "open to group or others (mode %04o)", cfg->state_dir,
		    (unsigned)sb.st_mode & 07777);
	} else if (sb.st_uid == 0)
		finding(d, LV_WARN, "state", "chown it to the user the "
		    "programs run as", "state directory %s belongs to root: "
		    "the programs cannot write it unless they run as root",
		    cfg->state_dir);
	else
		finding(d, LV_OK, "state", NULL, "state directory %s: %s, "
		    "mode %04o", cfg->state_dir, u, (unsigned)sb.st_mode & 07777);

	/* The web server's user: PAYGUARD_WEB_USER, else www-data. */
	wname = getenv("PAYGUARD_WEB_USER");
	if (wname == NULL || *wname == '\0')
		wname = "www-data";
	if ((pw = getpwnam(wname)) != NULL) {
		web = *pw;
		snprintf(wbuf, sizeof(wbuf), "%s", pw->pw_name);
		web.pw_name = wbuf;
		haveweb = 1;
	}
	if (haveweb && web.pw_uid == sb.st_uid)
		finding(d, LV_NOTE, "files", "on a host you control, run "
		    "payguard as its own user (systemd/ units) and let the web "
		    "server reach only its sockets", "payguard runs as the web "
		    "server's user %s (the shared-hosting layout): every CGI or "
		    "PHP program of that user can read its secrets", wname);
	for (i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->state_dir,
		    state_files[i]);
		check_secret(d, "state file", path, sb.st_uid,
		    haveweb ? &web : NULL);
	}
	for (i = 0; i < sizeof(env_files) / sizeof(env_files[0]); i++)
		if ((v = getenv(env_files[i])) != NULL && *v != '\0')
			check_secret(d, env_files[i], v, sb.st_uid,
			    haveweb ? &web : NULL);
	if (haveweb && web.pw_uid != sb.st_uid)
		finding(d, LV_OK, "files", NULL, "payguard runs as %s, not as "
		    "the web server's user %s", u, wname);
}

/* ---------------------------------------------------------------- config */

static void
check_config(struct doctor *d, const struct config *cfg)
{
	struct ipset	*set;
	struct stat	 sb;
	char		 from[4096];
	long long	 t = -1;
	size_t		 i, bad;
	int		 warned = 0;

	if (cfg->wh_tolerance > 600) {
		finding(d, LV_WARN, "config", "set STRIPE_WEBHOOK_TOLERANCE=300 "
		    "(Stripe's default)", "STRIPE_WEBHOOK_TOLERANCE is %u s: a "
		    "captured request can be replayed for that long",
		    cfg->wh_tolerance);
		warned++;
	}
	if (!cfg->rl_enabled) {
		finding(d, LV_WARN, "config", "set STRIPE_RATE_LIMIT_ENABLED="
		    "true", "rate limiting is off");
		warned++;
	}
	if (!cfg->sync) {
		finding(d, LV_WARN, "config", "set PAYGUARD_SYNC=1 unless a "
		    "benchmark says you cannot", "PAYGUARD_SYNC=0: an "
		    "acknowledged event can be lost in a power failure");
		warned++;
	}
	if (cfg->admin_users == NULL || *cfg->admin_users == '\0') {
		finding(d, LV_WARN, "config", "set PAYGUARD_ADMIN_USERS to the "
		    "web-server users allowed on audit.cgi", "no admin users: "
		    "audit.cgi refuses everyone");
		warned++;
	}
	if (cfg->trust_remote_user) {
		finding(d, LV_WARN, "config", "keep it only where the web "
		    "server authenticates every request to the gateway",
		    "PAYGUARD_TRUST_REMOTE_USER=1: api.fcgi takes REMOTE_USER "
		    "as a full-scope identity");
		warned++;
	}
	if ((set = malloc(sizeof(*set))) == NULL)
		return;
	if (cfg->wh_allowed_ips != NULL) {
		finding(d, LV_NOTE, "config", NULL, "STRIPE_WEBHOOK_ALLOWED_IPS "
		    "replaces Stripe's list (payguard ips update does not "
		    "change it)");
		if (ipset_parse(cfg->wh_allowed_ips, set, &bad) != PG_OK) {
			finding(d, LV_PROBLEM, "config", "fix that entry",
			    "STRIPE_WEBHOOK_ALLOWED_IPS does not parse "
			    "(entry %zu)", bad);
			warned++;
		} else
			for (i = 0; i < set->n; i++)
				if (set->e[i].prefix == 0) {
					finding(d, LV_PROBLEM, "config", "remove "
					    "it; list Stripe's addresses (or "
					    "unset the variable)",
					    "STRIPE_WEBHOOK_ALLOWED_IPS allows "
					    "every address (entry %zu is /0)",
					    i + 1);
					warned++;
					break;
				}
	} else if (iplist_load(cfg, set, from, sizeof(from)) != PG_OK) {
		finding(d, LV_PROBLEM, "config", "fix or remove it, or run "
		    "payguard ips update", "the webhook IP list %s does not "
		    "load: webhook.fcgi refuses to serve", from);
		warned++;
	} else {
		if (strcmp(from, "built-in") == 0)
			t = asset_mtime(IPLIST_NAME);
		else if (stat(from, &sb) == 0)
			t = (long long)sb.st_mtime;
		if (t >= 0 && (long long)time(NULL) - t > LIST_MAX_AGE) {
			finding(d, LV_WARN, "config", "run payguard ips update "
			    "(or enable payguard-ips-update.timer)", "the "
			    "webhook IP list (%s, %zu entries) is %lld days "
			    "old", from, set->n,
			    ((long long)time(NULL) - t) / 86400);
			warned++;
		} else
			finding(d, LV_OK, "config", NULL, "webhook IP list: "
			    "%s, %zu entries, %lld days old", from, set->n,
			    t >= 0 ? ((long long)time(NULL) - t) / 86400 : 0LL);
	}
	free(set);
	if (!warned)
		finding(d, LV_OK, "config", NULL, "no risky setting");
}

/* ----------------------------------------------------------------- clock */

static void
check_clock(struct doctor *d, const struct config *cfg)
{
	struct timex	 tx;
	int		 st;

	/* What timedatectl's NTPSynchronized reports, read from the
	 * kernel: present wherever payguard runs, with or without systemd. */
	memset(&tx, 0, sizeof(tx));
	if ((st = adjtimex(&tx)) < 0) {
		finding(d, LV_NOTE, "clock", "check it with timedatectl or "
		    "chronyc tracking", "cannot read the kernel's clock "
		    "state: %s", strerror(errno));
		return;
	}
	if (st == TIME_ERROR || (tx.status & STA_UNSYNC))
		finding(d, LV_WARN, "clock", "enable time synchronisation "
		    "(apt-get install chrony, or systemctl enable --now "
		    "systemd-timesyncd)", "the clock is not synchronised: "
		    "Stripe-Signature timestamps are checked against it "
		    "(STRIPE_WEBHOOK_TOLERANCE %u s)", cfg->wh_tolerance);
	else
		finding(d, LV_OK, "clock", NULL, "synchronised (estimated "
		    "error %ld ms)", tx.esterror / 1000);
}

/* ----------------------------------------------------------------- store */

static int
count_dead(const char *id, const struct ev_hdr *h, void *arg)
{
	(void)id;
	if (h->state == EV_DEAD)
		(*(size_t *)arg)++;
	return 0;
}

static void
check_store(struct doctor *d, const struct config *cfg)
{
	struct store		*st = NULL;
	struct store_space	 sp;
	struct ascan_verify	 v;
	struct statvfs		 vfs;
	uint64_t		 n = 0, oldest = 0, now = store_now_ms(), fr;
	size_t			 dead = 0;
	char			 path[PATH_MAX], err[256];
	int			 shared_ok = 1;
	enum pg_err		 e;

	if (cfg->state_dir == NULL)
		return;
	if ((e = store_open(cfg->state_dir, STORE_RDONLY, &st)) != PG_OK) {
		finding(d, LV_PROBLEM, "store", "run payguard doctor as the "
		    "user payguard runs as, and check the state directory",
		    "cannot open the store in %s: %s", cfg->state_dir,
		    pg_strerror(e));
		return;
	}
	/* Under PAYGUARD_STORE=redis the inbox is the shared one. */
	if (cli_attach_shared(cfg, st, err, sizeof(err)) != 0) {
		finding(d, LV_PROBLEM, "redis", "check REDIS_URL (or the "
		    "sentinels) and the Redis server's settings (README: "
		    "Several web servers)", "the shared store cannot be used: "
		    "%s", err);
		shared_ok = 0;
	} else if (cfg->store_redis)
		finding(d, LV_OK, "redis", NULL, "shared store reachable; the "
		    "inbox below is the one every node shares");
	if (shared_ok && inbox_backlog(st, &n, &oldest) == PG_OK) {
		if (oldest != 0 && now > oldest && now - oldest > BACKLOG_AGE_MS)
			finding(d, LV_WARN, "inbox", "is the worker running? "
			    "(systemctl status payguard-worker, or payguard "
			    "inbox drain from cron)", "%llu events queued, the "
			    "oldest for %llu min", (unsigned long long)n,
			    (unsigned long long)((now - oldest) / 60000));
		else
			finding(d, LV_OK, "inbox", NULL, "%llu events queued",
			    (unsigned long long)n);
	}
	if (shared_ok && inbox_list(st, count_dead, &dead) == PG_OK) {
		if (dead > 0)
			finding(d, LV_WARN, "inbox", "payguard inbox list; fix "
			    "the handler, then payguard inbox retry ID",
			    "%zu dead letters (events the handler failed "
			    "PAYGUARD_MAX_ATTEMPTS times)", dead);
		else
			finding(d, LV_OK, "inbox", NULL, "no dead letters");
	}
	if (audit_log_path(cfg->state_dir, path, sizeof(path)) == 0) {
		if (access(path, F_OK) != 0)
			finding(d, LV_OK, "audit", NULL, "no audit log yet");
		else if (ascan_verify_file(cfg->state_dir, path, st, &v) != PG_OK)
			finding(d, LV_PROBLEM, "audit", "check the file's "
			    "owner and mode", "cannot read %s", path);
		else if (v.status != AV_OK)
			finding(d, LV_PROBLEM, "audit", "payguard audit verify; "
			    "compare with the off-box copy, investigate",
			    "the audit chain is broken (%s): %s",
			    ascan_vstatus_name(v.status), v.msg);
		else
			finding(d, LV_OK, "audit", NULL, "audit chain intact: "
			    "%llu records, head seq %llu",
			    (unsigned long long)v.records,
			    (unsigned long long)v.last_seq);
	}
	if (store_space(st, &sp) == PG_OK) {
		if (sp.used > sp.map_max / 10 * 8)
			finding(d, LV_WARN, "store", "payguard inbox purge "
			    "--dead; lower PAYGUARD_DEDUP_TTL", "the store "
			    "uses %llu MiB of its %llu MiB ceiling",
			    (unsigned long long)(sp.used >> 20),
			    (unsigned long long)(sp.map_max >> 20));
		else
			finding(d, LV_OK, "store", NULL, "store: %llu KiB used, "
			    "map %llu MiB (grows to %llu MiB)",
			    (unsigned long long)(sp.used >> 10),
			    (unsigned long long)(sp.map >> 20),
			    (unsigned long long)(sp.map_max >> 20));
	}
	if (statvfs(cfg->state_dir, &vfs) == 0) {
		fr = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		if (fr < DISK_MIN_FREE)
			finding(d, LV_PROBLEM, "disk", "free space on that file "
			    "system (old audit archives, logs)", "only %llu "
			    "MiB free under %s: events and audit records "
			    "cannot be written when it is full",
			    (unsigned long long)(fr >> 20), cfg->state_dir);
		else
			finding(d, LV_OK, "disk", NULL, "%llu MiB free under %s",
			    (unsigned long long)(fr >> 20), cfg->state_dir);
	}
	store_close(st);
}

int
cmd_doctor(int argc, char **argv, const struct config *cfg)
{
	struct doctor	 d;
	struct json_object *o;
	int		 i, rc;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			d.json = 1;
		else {
			fprintf(stderr, "usage: payguard doctor [--json]\n");
			return 2;
		}
	}
	if (d.json && (d.arr = json_object_new_array()) == NULL)
		return 2;
	check_libs(&d);
	check_files(&d, cfg);
	check_config(&d, cfg);
	check_clock(&d, cfg);
	check_store(&d, cfg);
	rc = d.worst == LV_PROBLEM ? 2 : d.worst == LV_WARN ? 1 : 0;
	if (d.json) {
		o = json_object_new_object();
		json_object_object_add(o, "status", json_object_new_string(
		    rc == 2 ? "problems" : rc == 1 ? "warnings" : "healthy"));
		json_object_object_add(o, "exit", json_object_new_int(rc));
		json_object_object_add(o, "findings", d.arr);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else
		printf("doctor: %s\n", rc == 2 ? "problems" : rc == 1 ?
		    "warnings" : "healthy");
	return rc;
}
