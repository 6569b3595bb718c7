/* SPDX-License-Identifier: MIT */
#include "sshmux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/procstat.h"
#include "basic/process.h"
#include "basic/spawnio.h"
#include "basic/util.h"
#include "libdrover/cluster/ssh.h"
#include "transport.h"

#define PARENT_DIR "/run/drover"
#define LOCK_WAIT_MS 30000 /* another run starting the node's master: longer than ConnectTimeout */
#define CHECK_WAIT_MS 5000 /* ssh -O check against a live master answers at once */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A master as recorded beside its socket: PID reuse cannot pass for it. */
struct master_rec {
	pid_t pid;
	uint64_t start; /* its start time (clock ticks since boot) */
};

/* One node's files: NODE@ADDR.m (socket), .pid (record), .lock. */
struct names {
	char sock[sizeof(((struct sshmux *)0)->path)];
	char rec[PATH_MAX];
	char lock[PATH_MAX];
};

/*
 * The directory: root's alone (the sockets open root shells), in a parent
 * nobody else can write to (else SSHMUX_DIR could be swapped for theirs).
 */
static int mux_dir(struct drover_err *err)
{
	struct stat st;

	if (mkdir(PARENT_DIR, 0755) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "%s: %s", PARENT_DIR, strerror(errno));
	if (lstat(PARENT_DIR, &st) < 0)
		return drover_fail(err, -errno, "%s: %s", PARENT_DIR, strerror(errno));
	if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022))
		return drover_fail(err, -EPERM,
				   "%s is not a directory of root's that only root can write to "
				   "(owner %u, mode %04o): no kept ssh connections",
				   PARENT_DIR, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (mkdir(SSHMUX_DIR, 0700) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "%s: %s", SSHMUX_DIR, strerror(errno));
	if (lstat(SSHMUX_DIR, &st) < 0)
		return drover_fail(err, -errno, "%s: %s", SSHMUX_DIR, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return drover_fail(err, -EPERM, "%s is not a directory of this user's", SSHMUX_DIR);
	if ((st.st_mode & 077) && chmod(SSHMUX_DIR, 0700) < 0)
		return drover_fail(err, -errno, "%s: %s", SSHMUX_DIR, strerror(errno));
	return 0;
}

static int make_names(const char *base, struct names *n)
{
	if ((size_t)snprintf(n->sock, sizeof(n->sock), "%s/%s.m", SSHMUX_DIR, base) >=
		    sizeof(n->sock) ||
	    (size_t)snprintf(n->rec, sizeof(n->rec), "%s/%s.pid", SSHMUX_DIR, base) >=
		    sizeof(n->rec) ||
	    (size_t)snprintf(n->lock, sizeof(n->lock), "%s/%s.lock", SSHMUX_DIR, base) >=
		    sizeof(n->lock))
		return -ENAMETOOLONG;
	return 0;
}

/* ---- the record ------------------------------------------------------------ */

static int read_rec(const char *path, struct master_rec *rec)
{
	char text[64];
	struct stat st;
	int pid, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	text[n] = '\0';
	if (sscanf(text, "%d %" SCNu64, &pid, &rec->start) != 2 || pid <= 0)
		return -EINVAL;
	rec->pid = pid;
	return 0;
}

static int write_rec(const char *path, const struct master_rec *rec)
{
	char tmp[PATH_MAX + 8], text[64];
	int fd, len, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	len = snprintf(text, sizeof(text), "%d %" PRIu64 "\n", (int)rec->pid, rec->start);
	if (write(fd, text, (size_t)len) != len)
		r = -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static bool rec_alive(const struct master_rec *rec)
{
	struct procstat ps;

	return procstat_read(rec->pid, &ps) == 0 && ps.state != 'Z' && ps.starttime == rec->start;
}

/* SIGTERM to the recorded master, through a pidfd: never to another process of its PID. */
static void kill_master(const struct master_rec *rec)
{
	int fd = (int)syscall(SYS_pidfd_open, rec->pid, 0);

	if (fd < 0)
		return;
	/* the pidfd holds the process it was opened on: checked after, it is that one */
	if (rec_alive(rec))
		(void)syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
	close(fd);
}

/* ---- the socket -------------------------------------------------------------- */

enum sock_state { SOCK_NONE, SOCK_OURS, SOCK_FOREIGN };

static enum sock_state sock_state(const char *path, char *why, size_t len)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return SOCK_NONE;
	if (!S_ISSOCK(st.st_mode))
		snprintf(why, len, "not a socket");
	else if (st.st_uid != geteuid())
		snprintf(why, len, "a socket of uid %u", (unsigned)st.st_uid);
	else
		return SOCK_OURS;
	return SOCK_FOREIGN;
}

/* Wait for pid up to ms, then kill it. Returns its status or -ETIMEDOUT. */
static int wait_bounded(pid_t pid, int ms)
{
	int status;

	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= ms) {
			kill(pid, SIGKILL);
			process_wait(pid);
			return -ETIMEDOUT;
		}
		sleep_ms(10);
	}
}

/* Now, in clock ticks since boot (the unit of a process's start time), rounded up. */
static uint64_t boot_ticks(void)
{
	struct timespec ts;
	uint64_t hz = procstat_hz();

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return UINT64_MAX;
	return (uint64_t)ts.tv_sec * hz + ((uint64_t)ts.tv_nsec * hz + 999999999) / 1000000000 + 1;
}

/*
 * Ask the master behind path for its PID (`ssh -O check` says "Master
 * running (pid=N)"): started here, read by ask_finish. Connects to the
 * master: only for one that is about to be used. *asked: when, for
 * ask_finish (the master began before it).
 */
static pid_t ask_start(const char *path, int *errfd, uint64_t *asked)
{
	char *argv[] = { "ssh", "-o",	 "BatchMode=yes", "-S", (char *)path,
			 "-O",	"check", "mux",		  NULL };
	pid_t pid;

	*asked = boot_ticks();
	*errfd = spawn_errfd();
	if (*errfd < 0)
		return *errfd;
	pid = spawn_fds(argv, -1, -1, *errfd);
	if (pid < 0) {
		close(*errfd);
		*errfd = -1;
	}
	return pid;
}

/*
 * The master's PID and start time from what ask_start started (at asked),
 * or -errno. The start time is read now, maybe long after the answer (at
 * the run's end): a process that began after the question is not the
 * master that answered but one that got its PID after it ended, and a
 * record of it would have kill_master() end a stranger.
 */
static int ask_finish(pid_t pid, int errfd, uint64_t asked, struct master_rec *rec)
{
	char text[300];
	struct procstat ps;
	const char *p;
	int status = wait_bounded(pid, CHECK_WAIT_MS);

	spawn_errfd_text(errfd, text, sizeof(text));
	close(errfd);
	if (status != 0)
		return status < 0 ? status : -ECONNREFUSED;
	p = strstr(text, "pid=");
	if (!p || (rec->pid = (pid_t)atoi(p + 4)) <= 0)
		return -EPROTO;
	if (procstat_read(rec->pid, &ps) < 0 || ps.state == 'Z' || ps.starttime > asked)
		return -ESRCH;
	rec->start = ps.starttime;
	return 0;
}

static int ask_master(const char *path, struct master_rec *rec)
{
	uint64_t asked;
	int errfd;
	pid_t pid = ask_start(path, &errfd, &asked);

	return pid < 0 ? (int)pid : ask_finish(pid, errfd, asked, rec);
}

bool sshmux_too_old(uint64_t start_ticks, uint64_t now_ticks, uint64_t hz, uint64_t max_age_s)
{
	return now_ticks > start_ticks && (now_ticks - start_ticks) / hz >= max_age_s;
}

static uint64_t configured_max_age(void)
{
	const char *v = getenv("DROVER_SSH_MASTER_MAX_AGE");
	uint64_t s;

	return v && parse_u64(v, UINT32_MAX, &s) == 0 ? s : SSHMUX_MAX_AGE_S;
}

/*
 * Tell a master to take no new sessions: it removes its socket, the
 * sessions it has go on, and it ends after the last (OpenSSH's -O stop).
 * One that does not answer is told to end.
 */
static void retire_master(const char *path, const struct master_rec *rec)
{
	char *argv[] = {
		"ssh", "-o", "BatchMode=yes", "-S", (char *)path, "-O", "stop", "mux", NULL
	};
	int errfd = spawn_errfd();
	pid_t pid = errfd < 0 ? errfd : spawn_fds(argv, -1, -1, errfd);

	if (pid < 0 || wait_bounded(pid, CHECK_WAIT_MS) != 0)
		kill_master(rec);
	if (errfd >= 0)
		close(errfd);
}

/* ---- one node's master, under its lock -------------------------------------- */

static int lock_node(const char *path, int wait_ms)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 20) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= wait_ms) {
			int e = errno == EWOULDBLOCK ? -EBUSY : -errno;

			close(fd);
			return e;
		}
		sleep_ms(20);
	}
	return fd;
}

bool sshmux_temp_name(const char *sock, const char *name)
{
	size_t len = strlen(sock);

	if (strncmp(name, sock, len) != 0 || name[len] != '.')
		return false;
	name += len + 1;
	for (size_t i = 0; i < SSHMUX_TEMP_RANDOM; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return false;
	return name[SSHMUX_TEMP_RANDOM] == '\0';
}

/* ssh's half-made socket names of a start that was killed: stale under the lock. */
static void remove_temps(const char *sock)
{
	const char *base = strrchr(sock, '/') + 1;
	DIR *d = opendir(SSHMUX_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (sshmux_temp_name(base, e->d_name) &&
		    snprintf(path, sizeof(path), "%s/%s", SSHMUX_DIR, e->d_name) <
			    (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
}

/*
 * Under the node's lock: is there a live master of ours at n->sock? What is
 * there and is not one is removed (its process, if it still runs, told to
 * end). may_ask: a socket without a record (its starter was killed) may be
 * asked for its PID, which connects to it.
 */
static bool check_kept(const struct names *n, bool may_ask, char *note, size_t len)
{
	struct master_rec rec;
	char why[64];
	enum sock_state s = sock_state(n->sock, why, sizeof(why));
	bool have = read_rec(n->rec, &rec) == 0, alive = have && rec_alive(&rec);

	if (s == SOCK_OURS && alive) {
		/* (only a run retires one: the sweep never connects to a live master) */
		if (!may_ask ||
		    !sshmux_too_old(rec.start, boot_ticks(), procstat_hz(), configured_max_age()))
			return true;
		retire_master(n->sock, &rec);
		alive = false; /* it ends by itself once its sessions are done */
	}
	if (s == SOCK_OURS && !have) {
		if (!may_ask)
			return true; /* left alone: the next run asks it */
		if (ask_master(n->sock, &rec) == 0 && write_rec(n->rec, &rec) == 0)
			return true;
	}
	if (s == SOCK_FOREIGN && note)
		snprintf(note, len, "refused control socket %s: %s; removed it", n->sock, why);
	if (alive)
		kill_master(&rec);
	if (s != SOCK_NONE)
		unlink(n->sock);
	unlink(n->rec);
	remove_temps(n->sock);
	return false;
}

void sshmux_sweep(char *note, size_t note_len)
{
	DIR *d = opendir(SSHMUX_DIR);
	struct dirent *e;
	struct stat st;

	/* only in a directory of ours (mux_dir made it so) */
	if (!d)
		return;
	if (fstat(dirfd(d), &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char base[NAME_MAX + 1];
		struct names n;
		int fd;

		if (len <= 5 || !streq(e->d_name + len - 5, ".lock"))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(len - 5), e->d_name);
		if (make_names(base, &n) < 0)
			continue;
		fd = lock_node(n.lock, 0); /* busy: a run is at it */
		if (fd < 0)
			continue;
		/* the first thing refused is the one said */
		(void)check_kept(&n, false, note && !note[0] ? note : NULL, note_len);
		close(fd);
	}
	closedir(d);
}

static int start_master(const struct cfs_brief *b, struct sshmux *m, struct drover_err *err)
{
	struct cmdline c;
	int r;

	cmdline_init(&c);
	cmdline_add(&c, "ssh");
	cmdline_add(&c, "-M");
	cmdline_add(&c, "-N");
	cmdline_add(&c, "-S");
	cmdline_add(&c, "%s", m->path);
	/* ssh backgrounds the master once it is logged in; it ends this long after its last session */
	cmdline_add(&c, "-o");
	cmdline_add(&c, "ControlPersist=%d", SSHMUX_IDLE_S);
	r = transport_ssh_options(b, m->node, &c, err);
	if (r < 0)
		return r;
	cmdline_add(&c, "root@%s", m->addr);
	if (c.error)
		return drover_fail(err, c.error, "ssh: command line too long");
	m->errfd = spawn_errfd();
	if (m->errfd < 0)
		return drover_fail(err, m->errfd, "memfd: %s", strerror(-m->errfd));
	m->starting = spawn_fds(c.argv, -1, -1, m->errfd);
	if (m->starting < 0) {
		r = m->starting;
		m->starting = 0;
		close(m->errfd);
		m->errfd = -1;
		return drover_fail(err, r, "ssh: %s", strerror(-r));
	}
	return 0;
}

/*
 * A node's other file beside its socket: NAME.m -> NAME.SUFFIX. -EINVAL for
 * a path that is not a socket's name (an empty one after a failed start),
 * so nothing is ever made relative to the working directory.
 */
static int sibling_path(const char *sock, const char *suffix, char *out, size_t len)
{
	size_t n = strlen(sock);

	if (n <= 2 || strcmp(sock + n - 2, ".m") != 0)
		return -EINVAL;
	if ((size_t)snprintf(out, len, "%.*s.%s", (int)(n - 2), sock, suffix) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The lock of the node whose socket is path (NAME.m), or -1 when another
 * run holds it: that run is starting a master (until its first remote
 * command) or checking one, and asks a master without a record itself.
 * Not waited for: the end of this run would wait for another's local work.
 */
static int lock_node_of(const char *path)
{
	char lock[PATH_MAX];
	int fd;

	if (sibling_path(path, "lock", lock, sizeof(lock)) < 0)
		return -1;
	fd = lock_node(lock, 0);
	return fd < 0 ? -1 : fd;
}

/*
 * The node's lock, or -EALREADY once a master at n->sock answers: another
 * run that starts one holds the lock until its first remote command, after
 * its local work (snapshots, a guest's freeze), but its master is up once
 * the socket is there. The lock guards starting and removing a master, not
 * using one.
 */
static int lock_or_live(const struct names *n)
{
	for (int waited = 0;; waited += 200) {
		struct master_rec rec;
		char why[64];
		int fd = lock_node(n->lock, 200);

		if (fd != -EBUSY)
			return fd;
		if (sock_state(n->sock, why, sizeof(why)) == SOCK_OURS &&
		    ask_master(n->sock, &rec) == 0)
			return -EALREADY;
		if (waited >= LOCK_WAIT_MS)
			return -EBUSY;
	}
}

static void unlock(struct sshmux *m)
{
	if (m->lock >= 0)
		close(m->lock);
	m->lock = -1;
}

void sshmux_init(struct sshmux *m)
{
	memset(m, 0, sizeof(*m));
	m->errfd = m->lock = m->ask_errfd = -1;
}

int sshmux_open(const struct cfs_brief *b, const char *node, struct sshmux *m,
		struct drover_err *err)
{
	char base[NAME_MAX + 1];
	struct names n;
	int r;

	sshmux_init(m);
	snprintf(m->node, sizeof(m->node), "%s", node);
	r = ssh_node_address(b, node, m->addr, sizeof(m->addr), err);
	if (r == 0)
		r = mux_dir(err);
	if (r < 0)
		return r;
	sshmux_sweep(m->note, sizeof(m->note));
	if ((size_t)snprintf(base, sizeof(base), "%s@%s", node, m->addr) >= sizeof(base) ||
	    strchr(base, '/') || make_names(base, &n) < 0)
		return drover_fail(err, -ENAMETOOLONG,
				   "node name '%s' too long for a control socket's path", node);
	m->lock = lock_or_live(&n);
	if (m->lock < 0) {
		r = m->lock;
		m->lock = -1;
		if (r != -EALREADY)
			return drover_fail(err, r, "%s: %s", n.lock, strerror(-r));
	}
	snprintf(m->path, sizeof(m->path), "%s", n.sock);
	if (r == -EALREADY) {
		m->ready = m->reused = true;
		return 0;
	}
	if (check_kept(&n, true, m->note[0] ? NULL : m->note, sizeof(m->note))) {
		m->ready = m->reused = true;
		unlock(m);
		return 0;
	}
	/* ssh would not make its socket over anything there, and would not background */
	if (access(n.sock, F_OK) == 0)
		r = drover_fail(err, -EEXIST, "%s cannot be removed", n.sock);
	else
		r = start_master(b, m, err);
	if (r < 0) {
		m->path[0] = '\0';
		unlock(m);
	}
	return r; /* the lock is held until the master is up: sshmux_wait */
}

int sshmux_wait(struct sshmux *m, struct drover_err *err)
{
	char errtext[300], why[64];
	int status;

	if (!m->starting)
		return 0;
	status = process_wait(m->starting);
	m->starting = 0;
	spawn_errfd_text(m->errfd, errtext, sizeof(errtext));
	close(m->errfd);
	m->errfd = -1;
	if (status == 0 && sock_state(m->path, why, sizeof(why)) == SOCK_OURS) {
		/*
		 * The record lets the next runs, and the sweep, tell it alive
		 * without a connection; asked for in the background (the run's
		 * commands need not wait) and written at sshmux_close. A run
		 * that sees the socket without a record meanwhile asks itself.
		 */
		m->asking = ask_start(m->path, &m->ask_errfd, &m->asked);
		if (m->asking < 0)
			m->asking = 0;
		m->ready = true;
		unlock(m);
		return 0;
	}
	unlink(m->path);
	m->path[0] = '\0';
	unlock(m);
	return drover_fail(err, -EHOSTUNREACH, "ssh master connection to %s: %s", m->node,
			   errtext[0] ? errtext : "it did not start");
}

const char *sshmux_control(const struct sshmux *m)
{
	return m->ready && m->path[0] ? m->path : NULL;
}

void sshmux_close(struct sshmux *m)
{
	struct drover_err e;

	if (m->starting)
		(void)sshmux_wait(m, &e);
	if (m->asking) {
		struct master_rec rec;
		char rec_path[PATH_MAX];
		int r = sibling_path(m->path, "pid", rec_path, sizeof(rec_path));

		if (ask_finish(m->asking, m->ask_errfd, m->asked, &rec) == 0 && r == 0) {
			/* under the lock: the sweep never sees a record half-written */
			m->lock = lock_node_of(m->path);
			if (m->lock >= 0)
				(void)write_rec(rec_path, &rec);
		}
		m->asking = 0;
		m->ask_errfd = -1;
	}
	unlock(m);
	m->ready = false;
	m->path[0] = '\0';
}
