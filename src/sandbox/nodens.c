/* SPDX-License-Identifier: MIT */
/*
 * A node's mount and UTS namespaces. They are made once by up and kept
 * without any process in them, the way `ip netns` keeps network namespaces:
 * their /proc/PID/ns files are bind-mounted onto STATE/ns/nodeK.{mnt,uts}.
 * STATE/ns is a private mount of its own, because a mount namespace file
 * may only be bound where the bind cannot propagate into that namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "sandbox.h"

extern char **environ;

/*
 * The node's private directories: STATE/nodeK/<dir> is bind-mounted on
 * <target>. /etc/drover is not among them: droverfs mounts itself there and
 * refuses a mount point that already has a file system on it; the node's
 * private mount namespace keeps that FUSE mount its own.
 */
static const struct {
	const char *dir;
	const char *target;
	mode_t mode;
	bool ceph_host_only;
} private_dirs[] = {
	{ "etc-corosync", "/etc/corosync", 0755, false },
	{ "etc-ssh", "/etc/ssh", 0755, false },
	{ "var-lib-drover", "/var/lib/drover", 0755, false },
	{ "var-lib-corosync", "/var/lib/corosync", 0755, false },
	{ "log", "/var/log", 0755, false },
	/*
	 * root's own home: the machine's /root has the developer's shell files
	 * (a .bashrc running pyenv init, say), which bash reads for every
	 * command sshd runs — a second or more per ssh into a node.
	 */
	{ "root-home", "/root", 0700, false },
	{ "run", "/run", 0755, false },
	/* a node reaches Ceph through its storage.cfg, never through the machine's config */
	{ "etc-ceph", "/etc/ceph", 0755, false },
	{ "var-lib-ceph", "/var/lib/ceph", 0755, true },
};

static bool has_dir(unsigned node, size_t i)
{
	return !private_dirs[i].ceph_host_only || node == SB_CEPH_HOST;
}

/* Everything the node's mounts need, made on the host side first. */
int sb_node_dirs_create(const struct sandbox *sb, unsigned node)
{
	char path[PATH_MAX];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(private_dirs); i++) {
		if (!has_dir(node, i))
			continue;
		sb_node_path(sb, node, path, sizeof(path), private_dirs[i].dir);
		r = mkdir_p(path, private_dirs[i].mode);
		if (r == 0)
			r = mkdir_p(private_dirs[i].target, private_dirs[i].mode);
	}
	if (r == 0 && sb_node_path(sb, node, path, sizeof(path), "root-home/.ssh") == 0)
		r = mkdir_p(path, 0700);
	/* sshd wants its privilege separation directory in /run */
	if (r == 0)
		r = mkdir_p("/etc/drover", 0755);
	if (r == 0 && sb_node_path(sb, node, path, sizeof(path), "run/sshd") == 0)
		r = mkdir_p(path, 0755);
	if (r == 0 && sb_node_path(sb, node, path, sizeof(path), "run/drover") == 0)
		r = mkdir_p(path, 0755);
	if (r == 0 && sb_node_path(sb, node, path, sizeof(path), "pids") == 0)
		r = mkdir_p(path, 0755);
	/* tells drover's service control inside the node who runs its daemons: "NAME K HOST" */
	if (r == 0 && sb_node_path(sb, node, path, sizeof(path), "run/drover-sandbox") == 0) {
		char marker[64], host[16];
		int n;

		sb_node_name(node, host, sizeof(host));
		n = snprintf(marker, sizeof(marker), "%s %u %s\n", sb->name, node, host);
		r = write_file_atomic(path, marker, (size_t)n, 0644);
	}
	return r;
}

int sb_nodens_prepare(const struct sandbox *sb)
{
	char dir[PATH_MAX];
	int r;

	sb_path(sb, dir, sizeof(dir), "ns");
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0)
		return -errno;
	return 0;
}

static int open_netns(const struct sandbox *sb, unsigned node)
{
	char ns[64], path[PATH_MAX];

	sb_netns_name(sb, node, ns, sizeof(ns));
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* What the child that builds a node's namespaces tells its parent. */
struct populated {
	int32_t res; /* 0 or -errno */
	char why[256]; /* with res: what failed */
};

/*
 * A sysfs of the node's own network namespace, so that tools looking at
 * /sys/class/net see the node's interfaces (a container's bridge, say).
 * The host's cgroup hierarchies under it are kept (set aside, then moved
 * onto the new sysfs): LXC runs containers in them. Not fatal: without
 * it the node sees the host's sysfs.
 */
static void node_sysfs(void)
{
	char keep[] = "/tmp/drover-sb-cgroup.XXXXXX";
	bool kept =
		mkdtemp(keep) && mount("/sys/fs/cgroup", keep, NULL, MS_BIND | MS_REC, NULL) == 0;

	if (umount2("/sys", MNT_DETACH) == 0)
		mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (kept && mount(keep, "/sys/fs/cgroup", NULL, MS_MOVE, NULL) < 0)
		umount2(keep, MNT_DETACH);
	rmdir(keep);
}

/* In the child: build the node's view of the file system. Returns 0 or -errno. */
static int populate(const struct sandbox *sb, unsigned node, char *why, size_t len)
{
	char src[PATH_MAX], host[24];
	int fd = open_netns(sb, node);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	close(fd);
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
		return -errno;
	/* Nothing the node mounts may leak out to the host or to other nodes. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	sb_node_name(node, host, sizeof(host));
	if (sethostname(host, strlen(host)) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(private_dirs); i++) {
		if (!has_dir(node, i))
			continue;
		sb_node_path(sb, node, src, sizeof(src), private_dirs[i].dir);
		if (mount(src, private_dirs[i].target, NULL, MS_BIND, NULL) < 0) {
			snprintf(why, len, "mount %.200s on %s", src, private_dirs[i].target);
			return -errno;
		}
	}
	/* The host's own droverfs (on a real drover host) is not the node's. */
	while (umount2("/etc/drover", MNT_DETACH) == 0)
		;
	sb_path(sb, src, sizeof(src), "hosts");
	if (mount(src, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
		return -errno;
	node_sysfs();
	return 0;
}

static int bind_ns_file(pid_t pid, const char *type, const char *target)
{
	char src[64];
	int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);

	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(src, sizeof(src), "/proc/%d/ns/%s", (int)pid, type);
	return mount(src, target, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

int sb_nodens_create(const struct sandbox *sb, unsigned node, struct drover_err *err)
{
	struct populated p = { -EIO, "" };
	char mnt[PATH_MAX], uts[PATH_MAX];
	int ready[2], go[2], r;
	pid_t pid;

	sb_path(sb, mnt, sizeof(mnt), "ns/node%u.mnt", node);
	sb_path(sb, uts, sizeof(uts), "ns/node%u.uts", node);
	if (pipe2(ready, O_CLOEXEC) < 0)
		return drover_fail(err, -errno, "pipe: %s", strerror(errno));
	if (pipe2(go, O_CLOEXEC) < 0) {
		r = drover_fail(err, -errno, "pipe: %s", strerror(errno));
		goto out_ready;
	}
	pid = fork();
	if (pid < 0) {
		r = drover_fail(err, -errno, "fork: %s", strerror(errno));
		goto out_go;
	}
	if (pid == 0) {
		char c;

		p.res = populate(sb, node, p.why, sizeof(p.why));
		/* Tell the parent, then stay until it has kept our namespaces. */
		if (write(ready[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &p, sizeof(p)) != sizeof(p))
		p = (struct populated){ -EIO, "" };
	r = p.res;
	if (r < 0)
		drover_fail(err, r, "node%u: %s%s%s", node, p.why, p.why[0] ? ": " : "",
			    strerror(-r));
	if (r == 0)
		r = bind_ns_file(pid, "mnt", mnt);
	if (r == 0)
		r = bind_ns_file(pid, "uts", uts);
	if (r < 0 && p.res == 0)
		drover_fail(err, r, "node%u: keeping its namespaces: %s", node, strerror(-r));
	close(go[1]);
	close(ready[0]);
	process_wait(pid);
	return r;
out_go:
	close(go[0]);
	close(go[1]);
out_ready:
	close(ready[0]);
	close(ready[1]);
	return r;
}

/* Unmount everything under the state directory, deepest first. */
int sb_nodens_destroy(const struct sandbox *sb, struct drover_err *err)
{
	char prefix[PATH_MAX + 1];

	snprintf(prefix, sizeof(prefix), "%s/", sb->dir);
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], mnt[PATH_MAX], best[PATH_MAX] = "";

		if (!f)
			return drover_fail(err, -errno, "/proc/self/mountinfo: %s",
					   strerror(errno));
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
			    str_has_prefix(mnt, prefix) && strlen(mnt) > strlen(best))
				snprintf(best, sizeof(best), "%s", mnt);
		fclose(f);
		if (!best[0])
			return 0;
		if (umount2(best, MNT_DETACH) < 0)
			return drover_fail(err, -errno, "umount %s: %s", best, strerror(errno));
	}
	return drover_fail(err, -EBUSY, "%s: mounts keep coming back", sb->dir);
}

int sb_node_enter(const struct sandbox *sb, unsigned node)
{
	char mnt[PATH_MAX], uts[PATH_MAX];
	int fds[3], r = 0;

	sb_path(sb, mnt, sizeof(mnt), "ns/node%u.mnt", node);
	sb_path(sb, uts, sizeof(uts), "ns/node%u.uts", node);
	/* Open all three first: the paths are the host's, and entering the mount namespace hides them. */
	fds[0] = open_netns(sb, node);
	fds[1] = open(uts, O_RDONLY | O_CLOEXEC);
	fds[2] = open(mnt, O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
		r = -ENOENT;
	if (r == 0 && (setns(fds[0], CLONE_NEWNET) < 0 || setns(fds[1], CLONE_NEWUTS) < 0 ||
		       setns(fds[2], CLONE_NEWNS) < 0))
		r = -errno;
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

static int env_add(char **env, size_t *n, size_t max, const char *name, const char *value)
{
	char *s;

	if (*n + 1 >= max || asprintf(&s, "%s=%s", name, value) < 0)
		return -ENOMEM;
	env[(*n)++] = s;
	env[*n] = NULL;
	return 0;
}

/* Variables that describe the host and must not leak into a node. */
static bool env_replaced(const char *e)
{
	static const char *const names[] = { "PATH=",
					     "HOME=",
					     "DROVER_CFS_SOCKET=",
					     "DROVER_SANDBOX=",
					     "DROVER_SANDBOX_NODE=",
					     "debian_chroot=",
					     "PS1=",
					     "PWD=",
					     "OLDPWD=" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (str_has_prefix(e, names[i]))
			return true;
	return false;
}

/* The environment inside a node: the caller's (if inherit) with the node's PATH and names. */
char **sb_node_environ(const struct sandbox *sb, unsigned node, bool inherit)
{
	size_t n = 0, max = 16;
	char path[8192], host[24], chroot[64];
	char **env;

	if (inherit)
		for (char **e = environ; *e; e++)
			max++;
	env = calloc(max, sizeof(*env));
	if (!env)
		return NULL;
	if (inherit)
		for (char **e = environ; *e; e++)
			if (!env_replaced(*e) && !(env[n++] = strdup(*e)))
				goto fail;
	sb_node_env_path(path, sizeof(path));
	sb_node_name(node, host, sizeof(host));
	/* Debian's bash prompt shows debian_chroot: "(sandbox default)root@node1:~#" */
	snprintf(chroot, sizeof(chroot), "sandbox %s", sb->name);
	if (env_add(env, &n, max, "PATH", path) < 0 || env_add(env, &n, max, "HOME", "/root") < 0 ||
	    env_add(env, &n, max, "DROVER_SANDBOX", sb->name) < 0 ||
	    env_add(env, &n, max, "DROVER_SANDBOX_NODE", host) < 0 ||
	    env_add(env, &n, max, "debian_chroot", chroot) < 0)
		goto fail;
	if (!inherit && env_add(env, &n, max, "LANG", "C.UTF-8") < 0)
		goto fail;
	return env;
fail:
	sb_environ_free(env);
	return NULL;
}

void sb_environ_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

struct enter_arg {
	const struct sandbox *sb;
	unsigned node;
};

static int enter_for_run(void *arg)
{
	struct enter_arg *a = arg;
	char **env;
	int r = sb_node_enter(a->sb, a->node);

	if (r < 0)
		return r;
	env = sb_node_environ(a->sb, a->node, false);
	if (!env)
		return -ENOMEM;
	environ = env; /* only in the child, right before exec */
	return chdir("/root") < 0 ? -errno : 0;
}

int sb_run_in_node(const struct sandbox *sb, unsigned node, char *const argv[], char *out,
		   size_t len)
{
	struct enter_arg a = { sb, node };

	return process_run(argv, out, len, enter_for_run, &a);
}

/* The last lines of a command's output that fit in max bytes (its reason is at the end). */
static const char *output_tail(char *out, size_t max)
{
	size_t n = strlen(out);
	const char *tail;

	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	if (n <= max)
		return out;
	tail = strchr(out + n - max, '\n');
	return tail ? tail + 1 : out + n - max;
}

/* Run a drover command in a node; its output goes to err only when it fails. */
int sb_run_drover(const struct sandbox *sb, unsigned node, char *const args[],
		  struct drover_err *err)
{
	char self[PATH_MAX], out[16384], cmd[256] = "";
	char *argv[24];
	size_t n = 0, len = 0;
	int r;

	if (self_exe_path(self, sizeof(self)) < 0)
		return drover_fail(err, -ENOEXEC, "sandbox up: cannot find drover itself");
	argv[n++] = self;
	for (; *args && n < ARRAY_SIZE(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	r = sb_run_in_node(sb, node, argv, out, sizeof(out));
	if (r == 0)
		return 0;
	for (size_t i = 1; i < n && len < sizeof(cmd); i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i > 1 ? " " : "",
					argv[i]);
	if (r < 0)
		return drover_fail(err, r, "sandbox up: on node%u, '%s' failed: %s", node, cmd,
				   strerror(-r));
	return drover_fail(err, -EIO, "sandbox up: on node%u, '%s' failed:\n%s", node, cmd,
			   output_tail(out, DROVER_ERR_MAX / 2));
}
