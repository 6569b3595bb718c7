/* SPDX-License-Identifier: MIT */
#include "sshmux.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/spawnio.h"
#include "basic/util.h"
#include "libdrover/storage/fsutil.h"
#include "transport.h"

/* The directory, made if missing: root's, nobody else's (the sockets open root shells). */
static int mux_dir(struct drover_err *err)
{
	struct stat st;

	if (mkdir("/run/drover", 0755) < 0 && errno != EEXIST)
		return drover_fail(err, -errno, "/run/drover: %s", strerror(errno));
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

/* ssh -S path -O exit: the master ends, its sessions with it. */
static void stop_master(const char *path)
{
	char *argv[] = {
		"ssh", "-o", "BatchMode=yes", "-S", (char *)path, "-O", "exit", "mux", NULL
	};
	int errfd = spawn_errfd();
	pid_t pid = spawn_fds(argv, -1, -1, errfd);

	if (pid > 0)
		process_wait(pid);
	if (errfd >= 0)
		close(errfd);
	unlink(path);
}

/* The PID in "NODE.PID.SEQ", 0 if the name is not one of ours. */
static pid_t owner_of(const char *name)
{
	const char *seq = strrchr(name, '.'), *dot;
	char pid[16];
	uint64_t v;

	if (!seq || seq == name)
		return 0;
	for (dot = seq - 1; dot > name && *dot != '.'; dot--)
		;
	if (*dot != '.' || (size_t)(seq - dot - 1) >= sizeof(pid))
		return 0;
	memcpy(pid, dot + 1, (size_t)(seq - dot - 1));
	pid[seq - dot - 1] = '\0';
	return parse_u64(pid, INT32_MAX, &v) == 0 && v > 0 ? (pid_t)v : 0;
}

void sshmux_sweep(void)
{
	DIR *d = opendir(SSHMUX_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		pid_t owner = owner_of(e->d_name);

		if (e->d_name[0] == '.' || !owner || process_alive(owner))
			continue;
		if (pathf(path, sizeof(path), "%s/%s", SSHMUX_DIR, e->d_name) == 0)
			stop_master(path);
	}
	closedir(d);
}

static int start_master(const struct cfs_brief *b, const char *node, struct sshmux *m,
			struct drover_err *err)
{
	char errtext[300];
	struct cmdline c;
	int errfd, status, r;
	pid_t pid;

	cmdline_init(&c);
	cmdline_add(&c, "ssh");
	cmdline_add(&c, "-M");
	cmdline_add(&c, "-N");
	cmdline_add(&c, "-S");
	cmdline_add(&c, "%s", m->path);
	/* ssh backgrounds the master once it is logged in; it ends this long after its last session */
	cmdline_add(&c, "-o");
	cmdline_add(&c, "ControlPersist=%d", SSHMUX_PERSIST_S);
	r = transport_ssh_options(b, node, &c, err);
	if (r < 0)
		return r;
	cmdline_add(&c, "root@%s", m->addr);
	if (c.error)
		return drover_fail(err, c.error, "ssh: command line too long");
	errfd = spawn_errfd();
	if (errfd < 0)
		return drover_fail(err, errfd, "memfd: %s", strerror(-errfd));
	pid = spawn_fds(c.argv, -1, -1, errfd);
	status = pid < 0 ? (int)pid : process_wait(pid);
	spawn_errfd_text(errfd, errtext, sizeof(errtext));
	close(errfd);
	if (status == 0 && access(m->path, F_OK) == 0)
		return 0;
	unlink(m->path);
	return drover_fail(err, -EHOSTUNREACH, "ssh master connection to %s: %s", node,
			   errtext[0] ? errtext : "it did not start");
}

int sshmux_open(const struct cfs_brief *b, const char *node, struct sshmux *m,
		struct drover_err *err)
{
	static unsigned seq;
	int r;

	m->path[0] = '\0';
	r = transport_node_address(b, node, m->addr, sizeof(m->addr), err);
	if (r == 0)
		r = mux_dir(err);
	if (r < 0)
		return r;
	sshmux_sweep();
	if ((size_t)snprintf(m->path, sizeof(m->path), "%s/%s.%d.%u", SSHMUX_DIR, node,
			     (int)getpid(), seq++) >= sizeof(m->path)) {
		m->path[0] = '\0';
		return drover_fail(err, -ENAMETOOLONG, "node name '%s' too long for a socket path",
				   node);
	}
	unlink(m->path); /* a process of this pid that died before us */
	r = start_master(b, node, m, err);
	if (r < 0)
		m->path[0] = '\0';
	return r;
}

const char *sshmux_control(const struct sshmux *m)
{
	return m->path[0] ? m->path : NULL;
}

void sshmux_close(struct sshmux *m)
{
	if (!m->path[0])
		return;
	stop_master(m->path);
	m->path[0] = '\0';
}
