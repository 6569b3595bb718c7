/* SPDX-License-Identifier: MIT */
#include "node_setup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "certs.h"
#include "localnet.h"
#include "basic/util.h"
#include "ssh.h"

int node_make_authkey(unsigned char *key, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(key + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int node_install_corosync(const void *conf, size_t conf_len, const void *authkey, size_t key_len,
			  struct drover_err *err)
{
	int r = 0;

	if (mkdir(COROSYNC_DIR, 0755) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = write_file_atomic(COROSYNC_AUTHKEY, authkey, key_len, 0400);
	if (r < 0) {
		snprintf(err->text, sizeof(err->text), "writing %s: %s", COROSYNC_AUTHKEY,
			 strerror(-r));
		return r;
	}
	r = write_file_atomic(COROSYNC_CONF, conf, conf_len, 0644);
	if (r < 0)
		snprintf(err->text, sizeof(err->text), "writing %s: %s", COROSYNC_CONF,
			 strerror(-r));
	return r;
}

int node_setup_tree(const struct cfs_brief *b, const char *cluster_name, const char *const addrs[],
		    size_t naddrs, bool make_ca, bool force_cert, struct drover_err *err)
{
	char host_key[1100];
	int r = ssh_share_authorized_keys(b, NULL, err);

	if (r == 0)
		r = ssh_host_key(host_key, sizeof(host_key), err);
	if (r == 0)
		r = ssh_share_known_host(b, b->node, addrs, naddrs, host_key, err);
	if (r == 0 && make_ca)
		r = certs_ensure_ca(b, cluster_name, err);
	if (r == 0)
		r = certs_issue_node(b, b->node, addrs, naddrs, force_cert, err);
	return r;
}

int node_local_links(struct cluster_node_spec *spec, struct drover_err *err)
{
	if (!spec->link_mask) {
		if (localnet_hostname_address(spec->links[0].addr, sizeof(spec->links[0].addr)) < 0)
			return drover_fail(
				err, -EADDRNOTAVAIL,
				"the host name does not resolve to an address of this host: give --link0 ADDRESS");
		spec->link_mask = 1;
	}
	for (unsigned l = 0; l < CLUSTER_LINKS_MAX; l++)
		if ((spec->link_mask & (1u << l)) && !localnet_has_address(spec->links[l].addr))
			return drover_fail(
				err, -EADDRNOTAVAIL,
				"link%u: %s is not an address of this host (see 'ip address')", l,
				spec->links[l].addr);
	return 0;
}
