/* SPDX-License-Identifier: MIT */
#include "certs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"

#define CA_DAYS "3650"
#define NODE_DAYS "730"
#define FILE_MAX (64u * 1024)

/* Run openssl; its complaint goes to err. */
static int openssl(char *const argv[], struct drover_err *err)
{
	struct buf out = BUF_INIT;
	int r = process_run_io(argv, NULL, 0, &out, &out);

	if (r != 0) {
		if (buf_terminate(&out) == 0 && out.len)
			snprintf(err->text, sizeof(err->text), "openssl %s: %.200s", argv[1],
				 (char *)out.data);
		else
			snprintf(err->text, sizeof(err->text), "openssl %s failed", argv[1]);
		r = r < 0 ? r : -EIO;
	}
	buf_free(&out);
	return r;
}

/* Copy a file of the work directory into the tree. */
static int store(const struct cfs_brief *b, const char *from, const char *rel, mode_t mode,
		 struct drover_err *err)
{
	char *data;
	size_t len;
	int r = read_file_max(from, FILE_MAX, &data, &len);

	if (r == 0) {
		r = cfs_write(b, rel, data, len, mode);
		free(data);
	}
	if (r < 0)
		snprintf(err->text, sizeof(err->text), "writing %s: %s", rel, strerror(-r));
	return r;
}

/* Copy a file of the tree into the work directory. */
static int fetch(const struct cfs_brief *b, const char *rel, const char *to)
{
	struct buf data = BUF_INIT;
	int r = cfs_read(b, rel, &data);

	if (r == 0)
		r = write_file_atomic(to, data.data, data.len, 0600);
	buf_free(&data);
	return r;
}

static void cleanup(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };

	process_run(argv, NULL, 0, NULL, NULL);
}

int certs_ensure_ca(const struct cfs_brief *b, const char *cluster_name, struct drover_err *err)
{
	char dir[] = "/tmp/drover-ca-XXXXXX", key[PATH_MAX], crt[PATH_MAX], path[PATH_MAX];
	char subj[128];
	int r;

	cfs_path(b, CERTS_CA_KEY, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0;
	if (!mkdtemp(dir)) {
		snprintf(err->text, sizeof(err->text), "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(crt, sizeof(crt), "%s/ca.pem", dir);
	snprintf(subj, sizeof(subj), "/CN=drover cluster CA/OU=%s/O=drover", cluster_name);
	{
		char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
				 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
				 crt, "-days", CA_DAYS, "-subj", subj, NULL };

		r = openssl(argv, err);
	}
	if (r == 0)
		r = store(b, key, CERTS_CA_KEY, 0600, err);
	if (r == 0)
		r = store(b, crt, CERTS_CA_CERT, 0644, err);
	cleanup(dir);
	return r;
}

static int write_ext(const char *path, const char *node, const char *const addrs[], size_t naddrs)
{
	struct buf t = BUF_INIT;
	int r = buf_printf(&t,
			   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
			   "extendedKeyUsage=serverAuth,clientAuth\n"
			   "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:%s",
			   node);

	for (size_t i = 0; r == 0 && i < naddrs; i++)
		r = buf_printf(&t, ",IP:%s", addrs[i]);
	if (r == 0)
		r = buf_printf(&t, "\n");
	if (r == 0)
		r = write_file_atomic(path, t.data, t.len, 0600);
	buf_free(&t);
	return r;
}

/* Does the node's certificate exist and stay valid for at least 30 days? */
static bool node_cert_valid(const struct cfs_brief *b, const char *rel, const char *dir)
{
	char crt[PATH_MAX];
	char *argv[] = { "openssl", "x509", "-checkend", "2592000", "-noout", "-in", crt, NULL };

	snprintf(crt, sizeof(crt), "%s/old.pem", dir);
	return fetch(b, rel, crt) == 0 && process_run(argv, NULL, 0, NULL, NULL) == 0;
}

int certs_issue_node(const struct cfs_brief *b, const char *node, const char *const addrs[],
		     size_t naddrs, bool force, struct drover_err *err)
{
	char dir[] = "/tmp/drover-cert-XXXXXX", key[PATH_MAX], csr[PATH_MAX], crt[PATH_MAX];
	char cakey[PATH_MAX], cacrt[PATH_MAX], ext[PATH_MAX], subj[128], rel_crt[PATH_MAX],
		rel_key[PATH_MAX];
	int r;

	snprintf(rel_crt, sizeof(rel_crt), "nodes/%s/drover-ssl.pem", node);
	snprintf(rel_key, sizeof(rel_key), "priv/ssl/%s.key", node);
	if (!mkdtemp(dir)) {
		snprintf(err->text, sizeof(err->text), "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	if (!force && node_cert_valid(b, rel_crt, dir)) {
		cleanup(dir);
		return 0;
	}
	snprintf(key, sizeof(key), "%s/node.key", dir);
	snprintf(csr, sizeof(csr), "%s/node.csr", dir);
	snprintf(crt, sizeof(crt), "%s/node.pem", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(cacrt, sizeof(cacrt), "%s/ca.pem", dir);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", dir);
	snprintf(subj, sizeof(subj), "/CN=%s/O=drover", node);
	r = fetch(b, CERTS_CA_KEY, cakey);
	if (r == 0)
		r = fetch(b, CERTS_CA_CERT, cacrt);
	if (r < 0)
		snprintf(err->text, sizeof(err->text), "the cluster CA is missing (%s): %s",
			 CERTS_CA_KEY, strerror(-r));
	if (r == 0)
		r = write_ext(ext, node, addrs, naddrs);
	if (r == 0) {
		char *argv[] = { "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
				 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
				 csr, "-subj", subj, NULL };

		r = openssl(argv, err);
	}
	if (r == 0) {
		char *argv[] = { "openssl", "x509",  "-req",	 "-in",	     csr,     "-CA",
				 cacrt,	    "-CAkey", cakey,	 "-set_serial", "0x" /* below */, "-days",
				 NODE_DAYS, "-extfile", ext,	 "-out",     crt,     NULL };
		char serial[40];
		uint64_t rnd = 0;

		/* a random serial: two certificates of one CA must never share one */
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = now_monotonic_ns();
		snprintf(serial, sizeof(serial), "0x%016" PRIx64, (uint64_t)(rnd & ~(1ull << 63)));
		argv[10] = serial;
		r = openssl(argv, err);
	}
	if (r == 0)
		r = store(b, key, rel_key, 0600, err);
	if (r == 0)
		r = store(b, crt, rel_crt, 0644, err);
	cleanup(dir);
	return r;
}
