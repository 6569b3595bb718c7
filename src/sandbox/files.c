/* SPDX-License-Identifier: MIT */
/*
 * The files up writes before any daemon starts: ssh host keys, the
 * sandbox-wide root key pair, sshd and ssh configuration, known hosts and
 * /etc/hosts naming every node (and the QNetd and Ceph hosts, which trust
 * the nodes' root key as `ssh-copy-id` would have made it, but hold no key
 * to log in anywhere themselves). corosync's files are not among them: the
 * nodes come up bare and `drover cluster create/add` write those, as they
 * would on real hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "sandbox.h"

static int keygen(const char *path, const char *comment, struct drover_err *err)
{
	char *argv[] = { "ssh-keygen",	  "-q", "-t",	      "ed25519", "-N", "", "-C",
			 (char *)comment, "-f", (char *)path, NULL };
	char out[512];
	int r;

	unlink(path);
	r = process_run(argv, out, sizeof(out), NULL, NULL);
	return r == 0 ? 0 : drover_fail_run(err, r, out, "ssh-keygen %s", path);
}

static int read_text(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char data[8192];
	FILE *f = fopen(from, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	return write_file_atomic(to, data, n, mode);
}

static int sshd_config(const struct sandbox *sb, unsigned node, char *out, size_t len)
{
	size_t n = 0;
	char addr[32];

	for (unsigned l = 0; l < sb->networks; l++) {
		sb_address(node, l, addr, sizeof(addr));
		n += (size_t)snprintf(out + n, len - n, "ListenAddress %s\n", addr);
	}
	/* UsePAM no: the sandbox has no login sessions to set up, only keys. */
	n += (size_t)snprintf(out + n, len - n,
			      "HostKey /etc/ssh/ssh_host_ed25519_key\n"
			      "PidFile none\n"
			      "PermitRootLogin prohibit-password\n"
			      "PubkeyAuthentication yes\n"
			      "AuthorizedKeysFile .ssh/authorized_keys\n"
			      "PasswordAuthentication no\n"
			      "KbdInteractiveAuthentication no\n"
			      "UsePAM no\n"
			      "UseDNS no\n"
			      "PrintMotd no\n"
			      "AcceptEnv LANG LC_*\n"
			      "Subsystem sftp internal-sftp\n");
	return n < len ? 0 : -ENAMETOOLONG;
}

static const char ssh_config[] = "Host *\n"
				 "    IdentityFile /root/.ssh/id_ed25519\n"
				 "    UserKnownHostsFile /root/.ssh/known_hosts\n"
				 "    GlobalKnownHostsFile /etc/ssh/ssh_known_hosts\n"
				 "    StrictHostKeyChecking accept-new\n"
				 "    ConnectTimeout 10\n"
				 "    LogLevel ERROR\n";

/* "node1,10.99.0.1,10.99.1.1 ssh-ed25519 AAAA..." for every host. */
static int known_hosts(const struct sandbox *sb, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		char path[PATH_MAX], key[1024], name[16], addr[32], *type_end;
		int r;

		sb_node_path(sb, k, path, sizeof(path), "etc-ssh/ssh_host_ed25519_key.pub");
		r = read_text(path, key, sizeof(key));
		if (r < 0)
			return r;
		/* drop the comment: keep "type base64" */
		type_end = strchr(key, ' ');
		if (type_end && (type_end = strchr(type_end + 1, ' ')))
			*type_end = '\0';
		sb_node_name(k, name, sizeof(name));
		n += (size_t)snprintf(out + n, len - n, "%s", name);
		for (unsigned l = 0; l < sb->networks && n < len; l++) {
			sb_address(k, l, addr, sizeof(addr));
			n += (size_t)snprintf(out + n, len - n, ",%s", addr);
		}
		if (n < len)
			n += (size_t)snprintf(out + n, len - n, " %s\n", key);
		if (n >= len)
			return -ENAMETOOLONG;
	}
	return 0;
}

static int node_files(const struct sandbox *sb, unsigned node, const char *known)
{
	char path[PATH_MAX], from[PATH_MAX], text[2048], name[16];
	int r;

	sb_node_path(sb, node, path, sizeof(path), "log/corosync");
	r = mkdir_p(path, 0755);
	if (r == 0)
		r = sshd_config(sb, node, text, sizeof(text));
	sb_node_path(sb, node, path, sizeof(path), "etc-ssh/sshd_config");
	if (r == 0)
		r = write_file_atomic(path, text, strlen(text), 0644);
	sb_node_path(sb, node, path, sizeof(path), "etc-ssh/ssh_config");
	if (r == 0)
		r = write_file_atomic(path, ssh_config, strlen(ssh_config), 0644);
	sb_node_path(sb, node, path, sizeof(path), "etc-ssh/ssh_known_hosts");
	if (r == 0)
		r = write_file_atomic(path, known, strlen(known), 0644);
	sb_node_path(sb, node, path, sizeof(path), "root-home/.ssh/known_hosts");
	if (r == 0)
		r = write_file_atomic(path, known, strlen(known), 0600);
	sb_path(sb, from, sizeof(from), "ssh/id_ed25519");
	sb_node_path(sb, node, path, sizeof(path), "root-home/.ssh/id_ed25519");
	if (r == 0 && node <= SANDBOX_NODES_MAX)
		r = copy_file(from, path, 0600);
	sb_path(sb, from, sizeof(from), "ssh/id_ed25519.pub");
	sb_node_path(sb, node, path, sizeof(path), "root-home/.ssh/id_ed25519.pub");
	if (r == 0 && node <= SANDBOX_NODES_MAX)
		r = copy_file(from, path, 0644);
	sb_node_path(sb, node, path, sizeof(path), "root-home/.ssh/authorized_keys");
	if (r == 0)
		r = copy_file(from, path, 0600);
	sb_node_name(node, name, sizeof(name));
	sb_node_path(sb, node, path, sizeof(path), "hostname");
	if (r == 0)
		r = write_file_atomic(path, name, strlen(name), 0644);
	return r;
}

static int hosts_file(const struct sandbox *sb)
{
	char text[4096], path[PATH_MAX], addr[32], name[16];
	size_t n = 0;

	n += (size_t)snprintf(text, sizeof(text), "127.0.0.1\tlocalhost\n");
	for (unsigned k = 1; k; k = sb_next_host(sb, k)) {
		sb_node_name(k, name, sizeof(name));
		sb_address(k, 0, addr, sizeof(addr));
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\t%s\n", addr, name);
	}
	sb_path(sb, path, sizeof(path), "hosts");
	return write_file_atomic(path, text, n, 0644);
}

int sb_files_create(const struct sandbox *sb, struct drover_err *err)
{
	char path[PATH_MAX], comment[64], known[16384];
	int r;

	r = hosts_file(sb);
	sb_path(sb, path, sizeof(path), "ssh");
	if (r == 0)
		r = mkdir_p(path, 0700);
	sb_path(sb, path, sizeof(path), "ssh/id_ed25519");
	snprintf(comment, sizeof(comment), "root@sandbox-%s", sb->name);
	if (r == 0)
		r = keygen(path, comment, err);
	for (unsigned k = 1; r == 0 && k; k = sb_next_host(sb, k)) {
		sb_node_path(sb, k, path, sizeof(path), "etc-ssh/ssh_host_ed25519_key");
		sb_node_name(k, comment, sizeof(comment));
		r = keygen(path, comment, err);
	}
	if (r == 0)
		r = known_hosts(sb, known, sizeof(known));
	for (unsigned k = 1; r == 0 && k; k = sb_next_host(sb, k))
		r = node_files(sb, k, known);
	return r;
}
