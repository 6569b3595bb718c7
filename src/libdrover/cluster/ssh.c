/* SPDX-License-Identifier: MIT */
#include "ssh.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/shellwords.h"
#include "basic/util.h"

#define KEYS_MAX (256u * 1024)

static int fail(struct drover_err *err, int r, const char *what, const char *detail)
{
	snprintf(err->text, sizeof(err->text), "%s: %s", what, detail);
	return r;
}

/* First line of a file, without its newline. */
static int read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return -errno;
	ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -ENODATA;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* Keep "type base64" of a key line: the comment names a host, not the key. */
static void strip_comment(char *key)
{
	char *sp = strchr(key, ' ');

	if (sp && (sp = strchr(sp + 1, ' ')))
		*sp = '\0';
}

/* The public key file of root's key pair (first of ed25519, ecdsa, rsa), or -ENOENT. */
static int root_key_path(char *path, size_t len)
{
	static const char *const names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	char key[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(key, sizeof(key), SSH_ROOT_DIR "/%s", names[i]);
		snprintf(path, len, SSH_ROOT_DIR "/%s.pub", names[i]);
		if (access(key, F_OK) == 0 && access(path, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int ssh_root_key(char *pub, size_t len, struct drover_err *err)
{
	char path[PATH_MAX];
	int r;

	if (root_key_path(path, sizeof(path)) == 0 && read_line(path, pub, len) == 0)
		return 0;
	if (mkdir(SSH_ROOT_DIR, 0700) < 0 && errno != EEXIST)
		return fail(err, -errno, SSH_ROOT_DIR, strerror(errno));
	{
		char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519",
				 "-N",	       "",   "-f", SSH_ROOT_DIR "/id_ed25519",
				 NULL };
		struct buf out = BUF_INIT;

		r = process_run_io(argv, NULL, 0, &out, &out);
		if (r != 0) {
			bool text = buf_terminate(&out) == 0 && out.len;

			fail(err, -EIO, "ssh-keygen", text ? (char *)out.data : "failed");
			buf_free(&out);
			return -EIO;
		}
		buf_free(&out);
	}
	r = read_line(SSH_ROOT_DIR "/id_ed25519.pub", pub, len);
	return r < 0 ? fail(err, r, SSH_ROOT_DIR "/id_ed25519.pub", strerror(-r)) : 0;
}

int ssh_host_key(char *key, size_t len, struct drover_err *err)
{
	static const char *const paths[] = { "/etc/ssh/ssh_host_ed25519_key.pub",
					     "/etc/ssh/ssh_host_ecdsa_key.pub",
					     "/etc/ssh/ssh_host_rsa_key.pub" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (read_line(paths[i], key, len) == 0) {
			strip_comment(key);
			return 0;
		}
	}
	return fail(err, -ENOENT, "/etc/ssh/ssh_host_*_key.pub",
		    "no ssh host key (is openssh-server installed?)");
}

int ssh_fingerprint(const char *key, char *fp, size_t len, struct drover_err *err)
{
	char *argv[] = { "ssh-keygen", "-l", "-E", "sha256", "-f", "-", NULL };
	struct buf out = BUF_INIT;
	char line[1100], bits[16], sum[1100];
	int r;

	snprintf(line, sizeof(line), "%s\n", key);
	r = process_run_io(argv, line, strlen(line), &out, &out);
	if (r >= 0 && buf_terminate(&out) == 0 && r == 0 &&
	    sscanf((char *)out.data, "%15s %127s", bits, sum) == 2 &&
	    str_has_prefix(sum, "SHA256:")) {
		snprintf(fp, len, "%s", sum);
		buf_free(&out);
		return 0;
	}
	fail(err, -EINVAL, "ssh-keygen -l", out.data ? (char *)out.data : "cannot read the key");
	buf_free(&out);
	return -EINVAL;
}

int ssh_pin_host_key(const char *host, const char *fp, const char *path, struct drover_err *err)
{
	char *argv[] = { "ssh-keyscan", "-T", "10", (char *)host, NULL };
	struct buf out = BUF_INIT, pinned = BUF_INIT;
	char seen[512] = "";
	char *save = NULL;
	int r = process_run_io(argv, NULL, 0, &out, NULL);

	if (r < 0 || buf_terminate(&out) < 0 || out.len == 0) {
		buf_free(&out);
		return fail(err, -EHOSTUNREACH, host,
			    "ssh-keyscan got no host key (is sshd running there?)");
	}
	for (char *l = strtok_r((char *)out.data, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char got[1100];
		struct drover_err e;
		const char *key = strchr(l, ' ');

		if (l[0] == '#' || !key || ssh_fingerprint(key + 1, got, sizeof(got), &e) < 0)
			continue;
		if (streq(got, fp)) {
			r = buf_printf(&pinned, "%s\n", l);
			if (r < 0)
				break;
		} else if (strlen(seen) + strlen(got) + 3 < sizeof(seen)) {
			strcat(seen, seen[0] ? ", " : "");
			strcat(seen, got);
		}
	}
	buf_free(&out);
	if (r >= 0 && pinned.len == 0) {
		snprintf(
			err->text, sizeof(err->text),
			"%s: no host key has fingerprint %s (it offered %s): wrong host, or someone in between",
			host, fp, seen[0] ? seen : "none");
		r = -EKEYREJECTED;
	} else if (r >= 0) {
		r = write_file_atomic(path, pinned.data, pinned.len, 0600);
		if (r < 0)
			fail(err, r, path, strerror(-r));
	}
	buf_free(&pinned);
	return r < 0 ? r : 0;
}

/*
 * A program other than drover (droverd's replication workers) names the
 * drover beside it: the same directory, or the build tree's src/cli.
 */
static void drover_beside(char *out, size_t len)
{
	static const char *const rel[] = { "drover", "../cli/drover" };
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", out);
	slash = strrchr(dir, '/');
	if (!slash || streq(slash + 1, "drover"))
		return;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX + 32];

		snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
		if (access(cand, X_OK) == 0 && realpath(cand, dir)) {
			snprintf(out, len, "%s", dir);
			return;
		}
	}
	snprintf(out, len, "drover");
}

void ssh_remote_drover(char *out, size_t len)
{
	if (self_exe_path(out, len) < 0 || str_has_prefix(out, "/usr/"))
		snprintf(out, len, "drover");
	else
		drover_beside(out, len);
}

/* ssh root@host -- drover ARGS... with the options opts (NULL-terminated) before the host. */
static int run_drover(const char *host, char *const opts[], char *const args[], const void *in,
		      size_t in_len, struct buf *out)
{
	char target[300], drover[PATH_MAX];
	struct buf cmd = BUF_INIT;
	char *argv[SSH_NODE_OPTS_MAX + 8];
	size_t n = 0;
	int r;

	snprintf(target, sizeof(target), "root@%s", host);
	ssh_remote_drover(drover, sizeof(drover));
	argv[n++] = "ssh";
	for (; *opts; opts++) {
		if (n + 5 > sizeof(argv) / sizeof(argv[0]))
			return -E2BIG;
		argv[n++] = *opts;
	}
	argv[n++] = target;
	argv[n++] = "--";
	/*
	 * ssh joins its arguments with blanks for the remote shell: each one
	 * quoted, so an argument (a UPID's free-form fields, say) stays one
	 * word there and is never run as shell.
	 */
	if (shellwords_quote(drover, &cmd) < 0)
		goto oom;
	for (; *args; args++)
		if (buf_append(&cmd, " ", 1) < 0 || shellwords_quote(*args, &cmd) < 0)
			goto oom;
	if (buf_append(&cmd, "", 1) < 0)
		goto oom;
	argv[n++] = (char *)cmd.data;
	argv[n] = NULL;
	r = process_run_io(argv, in, in_len, out, NULL);
	buf_free(&cmd);
	return r;
oom:
	buf_free(&cmd);
	return -ENOMEM;
}

int ssh_run_drover(const char *host, const char *known_hosts, char *const args[], const void *in,
		   size_t in_len, struct buf *out)
{
	char khf[PATH_MAX + 32];
	char *opts[12];
	size_t n = 0;

	opts[n++] = "-o";
	opts[n++] = "StrictHostKeyChecking=yes";
	opts[n++] = "-o";
	opts[n++] = "ConnectTimeout=10";
	/* Without a terminal nobody can type a password: fail at once instead. */
	if (!isatty(STDIN_FILENO)) {
		opts[n++] = "-o";
		opts[n++] = "BatchMode=yes";
	}
	if (known_hosts) {
		snprintf(khf, sizeof(khf), "UserKnownHostsFile=%s", known_hosts);
		opts[n++] = "-o";
		opts[n++] = khf;
		opts[n++] = "-o";
		opts[n++] = "GlobalKnownHostsFile=/dev/null";
	}
	opts[n] = NULL;
	return run_drover(host, opts, args, in, in_len, out);
}

int ssh_node_address(const struct cfs_brief *b, const char *node, char *addr, size_t len,
		     struct drover_err *err)
{
	struct cc_node *conf = cfs_read_corosync_conf(b, err), *n;
	const char *a;
	int r = 0;

	if (!conf)
		return drover_fail_prefix(err, -ENOENT, "finding node %s", node);
	n = cluster_conf_node(conf, node);
	a = n ? cluster_conf_node_addr(n, 0) : NULL;
	if (!n)
		r = drover_fail(err, -ENOENT,
				"node '%s' is not in this cluster (see 'drover cluster nodes')",
				node);
	else if (!a || (size_t)snprintf(addr, len, "%s", a) >= len)
		r = drover_fail(err, -EINVAL, "node '%s' has no link0 address in corosync.conf",
				node);
	cc_free(conf);
	return r;
}

int ssh_node_options(const struct cfs_brief *b, const char *node, struct ssh_node_opts *o,
		     struct drover_err *err)
{
	char known[PATH_MAX];
	size_t n = 0;

	if (cfs_path(b, "priv/known_hosts", known, sizeof(known)) < 0)
		return drover_fail(err, -ENAMETOOLONG, "path too long");
	if ((size_t)snprintf(o->alias, sizeof(o->alias), "HostKeyAlias=%s", node) >=
	    sizeof(o->alias))
		return drover_fail(err, -ENAMETOOLONG, "node name '%s' too long", node);
	snprintf(o->known, sizeof(o->known), "UserKnownHostsFile=%s", known);
#define OPT(v)                       \
	do {                         \
		o->argv[n++] = "-o"; \
		o->argv[n++] = (v);  \
	} while (0)
	OPT("BatchMode=yes");
	OPT("StrictHostKeyChecking=yes");
	/* the node's key as droverfs pinned it, whatever address it is reached at */
	OPT(o->alias);
	OPT(o->known);
	OPT("GlobalKnownHostsFile=/dev/null");
	OPT("ConnectTimeout=10");
	/* a peer that vanishes (power, network) ends the session within 40 s */
	OPT("ServerAliveInterval=10");
	OPT("ServerAliveCountMax=3");
#undef OPT
	o->argv[n] = NULL;
	return 0;
}

int ssh_node_run_drover(const struct cfs_brief *b, const char *node, char *const args[],
			const void *in, size_t in_len, struct buf *out, char *addr, size_t addr_len,
			struct drover_err *err)
{
	struct ssh_node_opts o;
	int r = ssh_node_address(b, node, addr, addr_len, err);

	if (r == 0)
		r = ssh_node_options(b, node, &o, err);
	if (r < 0)
		return r;
	r = run_drover(addr, o.argv, args, in, in_len, out);
	if (r < 0)
		return drover_fail(err, r, "ssh to %s (%s): %s", node, addr, strerror(-r));
	return r;
}

int ssh_run_command(const char *host, const char *command, const void *in, size_t in_len,
		    struct buf *out, struct buf *err)
{
	char target[300];
	char *argv[] = { "ssh",	 "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
			 target, "--", (char *)command, NULL };

	snprintf(target, sizeof(target), "root@%s", host);
	return process_run_io(argv, in, in_len, out, err);
}

int ssh_copy_id(const char *host, struct drover_err *err)
{
	char pub[PATH_MAX], target[300];
	char *argv[] = { "ssh-copy-id", "-i", pub, "-o", "ConnectTimeout=10", target, NULL };
	char key[1100];
	int r = ssh_root_key(key, sizeof(key), err);

	if (r < 0)
		return r;
	r = root_key_path(pub, sizeof(pub));
	if (r < 0)
		return fail(err, r, SSH_ROOT_DIR, "root has no key pair");
	snprintf(target, sizeof(target), "root@%s", host);
	/* stdin, stdout and stderr stay ours: ssh asks on the terminal */
	r = process_run_io(argv, NULL, 0, NULL, NULL);
	if (r != 0)
		return fail(err, r < 0 ? r : -EACCES, "ssh-copy-id",
			    r < 0 ? strerror(-r) : "could not install root's key (see above)");
	return 0;
}

/* Append the lines of text not yet in set (a newline-separated list). */
static int merge_lines(struct buf *set, const char *text)
{
	const char *p = text;
	int r = 0;

	while (r == 0 && *p) {
		size_t n = strcspn(p, "\n");
		char line[4096];

		if (n > 0 && n < sizeof(line) && p[0] != '#') {
			memcpy(line, p, n);
			line[n] = '\0';
			if (buf_terminate(set) < 0)
				return -ENOMEM;
			if (!set->data || !strstr((char *)set->data, line))
				r = buf_printf(set, "%s\n", line);
		}
		p += n + (p[n] == '\n');
	}
	return r;
}

/* Replace `local` by a link to `target` (an old real file is kept aside). */
static int link_to(const char *local, const char *target)
{
	char old[PATH_MAX], cur[PATH_MAX];
	ssize_t n = readlink(local, cur, sizeof(cur) - 1);
	struct stat st;

	if (n > 0) {
		cur[n] = '\0';
		if (streq(cur, target))
			return 0;
		unlink(local);
	} else if (lstat(local, &st) == 0) {
		snprintf(old, sizeof(old), "%s.drover-old", local);
		if (rename(local, old) < 0)
			return -errno;
	}
	return symlink(target, local) < 0 ? -errno : 0;
}

int ssh_share_authorized_keys(const struct cfs_brief *b, const char *extra, struct drover_err *err)
{
	struct buf keys = BUF_INIT;
	char target[PATH_MAX], pub[1100];
	char *local = NULL;
	size_t len;
	int r;

	r = cfs_read(b, "priv/authorized_keys", &keys);
	if (r < 0 && r != -ENOENT)
		return fail(err, r, "priv/authorized_keys", strerror(-r));
	/* a link into the tree is already merged; a real file has keys to keep */
	if (read_file_max(SSH_ROOT_DIR "/authorized_keys", KEYS_MAX, &local, &len) == 0) {
		r = merge_lines(&keys, local);
		free(local);
	}
	if (r >= 0 && ssh_root_key(pub, sizeof(pub), err) == 0)
		r = merge_lines(&keys, pub);
	if (r >= 0 && extra)
		r = merge_lines(&keys, extra);
	if (r >= 0)
		r = cfs_write(b, "priv/authorized_keys", keys.data, keys.len, 0600);
	buf_free(&keys);
	if (r < 0)
		return fail(err, r, "writing priv/authorized_keys", strerror(-r));
	cfs_path(b, "priv/authorized_keys", target, sizeof(target));
	r = link_to(SSH_ROOT_DIR "/authorized_keys", target);
	return r < 0 ? fail(err, r, SSH_ROOT_DIR "/authorized_keys", strerror(-r)) : 0;
}

/* Does a known_hosts line belong to host `name` (first name of its list)? */
static bool line_is_host(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncmp(line, name, k) == 0 && (line[k] == ',' || line[k] == ' ');
}

int ssh_share_known_host(const struct cfs_brief *b, const char *name, const char *const addrs[],
			 size_t naddrs, const char *host_key, struct drover_err *err)
{
	struct buf old = BUF_INIT, out = BUF_INIT;
	char target[PATH_MAX];
	int r = cfs_read(b, "priv/known_hosts", &old);

	if (r < 0 && r != -ENOENT)
		return fail(err, r, "priv/known_hosts", strerror(-r));
	r = buf_terminate(&old);
	for (const char *p = old.len ? (char *)old.data : ""; r == 0 && *p;) {
		size_t n = strcspn(p, "\n");

		if (n && !line_is_host(p, n, name))
			r = buf_printf(&out, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (r == 0)
		r = buf_printf(&out, "%s", name);
	for (size_t i = 0; r == 0 && i < naddrs; i++)
		r = buf_printf(&out, ",%s", addrs[i]);
	if (r == 0)
		r = buf_printf(&out, " %s\n", host_key);
	if (r == 0)
		r = cfs_write(b, "priv/known_hosts", out.data, out.len, 0600);
	buf_free(&old);
	buf_free(&out);
	if (r < 0)
		return fail(err, r, "writing priv/known_hosts", strerror(-r));
	cfs_path(b, "priv/known_hosts", target, sizeof(target));
	r = link_to(SSH_KNOWN_HOSTS_LINK, target);
	return r < 0 ? fail(err, r, SSH_KNOWN_HOSTS_LINK, strerror(-r)) : 0;
}
