/* SPDX-License-Identifier: MIT */
#include "qdevice.h"

#include <corosync/votequorum.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corosync_info.h"
#include "basic/base64.h"
#include "basic/process.h"
#include "basic/util.h"

#define CERTUTIL "corosync-qdevice-net-certutil"
#define FILE_MAX (1u << 20)
#define BUNDLE_HEADER "drover-qdevice 1\n"

/* Is prog in PATH, or in the sbin directories root's PATH would have? */
static bool installed(const char *prog)
{
	const char *env = getenv("PATH");
	char dirs[4096], path[PATH_MAX];

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin", env ? env : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, prog);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

int qdevice_tools_check(struct drover_err *err)
{
	if (installed("corosync-qdevice") && installed(CERTUTIL))
		return 0;
	return drover_fail(
		err, -ENOPKG,
		"corosync-qdevice is not installed on this node: install it on every node first ('apt install corosync-qdevice')");
}

/* The certutil with args; on failure err holds its last words. */
static int certutil(const char *what, char *const args[], struct drover_err *err)
{
	char *argv[8] = { CERTUTIL };
	struct buf out = BUF_INIT;
	size_t n = 1;
	int r;

	for (; *args && n < sizeof(argv) / sizeof(argv[0]) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	r = process_run_io(argv, NULL, 0, &out, &out);
	if (r != 0) {
		char *text = buf_terminate(&out) == 0 && out.len ? (char *)out.data : "";
		char *end = text + strlen(text);

		while (end > text && end[-1] == '\n')
			*--end = '\0';
		while (end > text && end[-1] != '\n')
			end--;
		drover_fail(err, r < 0 ? r : -EIO, "%s (%s): %s", what, CERTUTIL,
			     r < 0    ? strerror(-r)
			     : end[0] ? end
				      : "failed");
	}
	buf_free(&out);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* A private directory for the files the certutil reads; removed by scratch_done. */
struct scratch {
	char dir[64];
	char path[128];
};

static int scratch_file(struct scratch *s, const char *name, const struct buf *data,
			struct drover_err *err)
{
	int r;

	snprintf(s->dir, sizeof(s->dir), "/tmp/drover-qdevice-XXXXXX");
	s->path[0] = '\0';
	if (!mkdtemp(s->dir))
		return drover_fail(err, -errno, "mkdtemp: %s", strerror(errno));
	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
	r = write_file_atomic(s->path, data->data, data->len, 0600);
	return r < 0 ? drover_fail(err, r, "%s: %s", s->path, strerror(-r)) : 0;
}

static void scratch_done(struct scratch *s)
{
	if (s->path[0])
		unlink(s->path);
	rmdir(s->dir);
}

static int read_db_file(const char *name, struct buf *out, struct drover_err *err)
{
	char path[PATH_MAX], *data = NULL;
	size_t len;
	int r;

	snprintf(path, sizeof(path), QDEVICE_DB_DIR "/%s", name);
	r = read_file_max(path, FILE_MAX, &data, &len);
	if (r < 0)
		return drover_fail(err, r, "%s: %s", path, strerror(-r));
	r = buf_append(out, data, len);
	free(data);
	return r;
}

int qdevice_db_remove(struct drover_err *err)
{
	DIR *d = opendir(QDEVICE_DB_DIR);
	struct dirent *e;

	if (!d)
		return errno == ENOENT
			       ? 0
			       : drover_fail(err, -errno, QDEVICE_DB_DIR ": %s", strerror(errno));
	/* the certutil keeps every file of the database in this one directory */
	while ((e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	if (rmdir(QDEVICE_DB_DIR) < 0 && errno != ENOENT)
		return drover_fail(err, -errno, "removing " QDEVICE_DB_DIR ": %s",
				    strerror(errno));
	return 0;
}

int qdevice_db_init(const struct buf *ca, struct drover_err *err)
{
	struct scratch s;
	int r = qdevice_db_remove(err);

	if (r < 0)
		return r;
	r = scratch_file(&s, "qnetd-cacert.crt", ca, err);
	if (r == 0) {
		char *args[] = { "-i", "-c", s.path, NULL };

		r = certutil("trusting the QNetd CA", args, err);
	}
	scratch_done(&s);
	return r;
}

int qdevice_db_request(const char *cluster, struct buf *crq, struct drover_err *err)
{
	char *args[] = { "-r", "-n", (char *)cluster, NULL };
	int r = certutil("making the cluster's certificate request", args, err);

	return r < 0 ? r : read_db_file("qdevice-net-node.crq", crq, err);
}

int qdevice_db_import_signed(const struct buf *crt, struct buf *p12, struct drover_err *err)
{
	struct scratch s;
	int r = scratch_file(&s, "cluster.crt", crt, err);

	if (r == 0) {
		char *args[] = { "-M", "-c", s.path, NULL };

		r = certutil("importing the signed cluster certificate", args, err);
	}
	scratch_done(&s);
	return r < 0 ? r : read_db_file("qdevice-net-node.p12", p12, err);
}

int qdevice_db_import_p12(const struct buf *p12, struct drover_err *err)
{
	struct scratch s;
	int r = scratch_file(&s, "qdevice-net-node.p12", p12, err);

	if (r == 0) {
		char *args[] = { "-m", "-c", s.path, NULL };

		r = certutil("importing the cluster certificate and key", args, err);
	}
	scratch_done(&s);
	return r;
}

int qdevice_bundle_write(const struct buf *ca, const struct buf *p12, struct buf *out)
{
	int r = buf_printf(out, BUNDLE_HEADER "ca=");

	if (r == 0)
		r = base64_encode(ca->data, ca->len, out);
	if (r == 0)
		r = buf_printf(out, "\np12=");
	if (r == 0)
		r = base64_encode(p12->data, p12->len, out);
	return r == 0 ? buf_printf(out, "\n") : r;
}

/* The value of "key=..." on a line of its own in text (after the header), or NULL. */
static const char *bundle_value(const char *text, const char *key, size_t *len)
{
	size_t k = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, k) == 0 && p[k] == '=') {
			*len = strcspn(p + k + 1, "\n");
			return p + k + 1;
		}
	}
	return NULL;
}

int qdevice_bundle_parse(const char *text, size_t len, struct buf *ca, struct buf *p12,
			 struct drover_err *err)
{
	const char *v;
	size_t n;
	char *copy;
	int r;

	if (len < strlen(BUNDLE_HEADER) || strncmp(text, BUNDLE_HEADER, strlen(BUNDLE_HEADER)))
		return drover_fail(
			err, -EPROTO,
			"not a drover-qdevice 1 bundle (is drover on this node of another version?)");
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	v = bundle_value(copy, "ca", &n);
	r = v ? base64_decode(v, n, ca) : -EINVAL;
	if (r == 0) {
		v = bundle_value(copy, "p12", &n);
		r = v ? base64_decode(v, n, p12) : -EINVAL;
	}
	free(copy);
	if (r == 0 && (ca->len == 0 || p12->len == 0))
		r = -EINVAL;
	return r < 0 ? drover_fail(err, r,
				    "the QDevice bundle lacks the CA or the pk12, or is damaged")
		     : 0;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int qdevice_wait_config(uint64_t version, unsigned timeout_ms, struct drover_err *err)
{
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull, have = 0;
	char why[256] = "";

	for (;;) {
		if (cs_config_version(&have, why, sizeof(why)) == 0 && have >= version)
			return 0;
		if (now_monotonic_ns() >= deadline)
			return drover_fail(
				err, -ETIMEDOUT,
				"corosync here has not loaded corosync.conf version %llu after %u s (it has %llu%s%s)",
				(unsigned long long)version, timeout_ms / 1000,
				(unsigned long long)have, why[0] ? "; " : "", why);
		pause_ms(100);
	}
}

int qdevice_wait_vote(bool want, unsigned timeout_ms, struct drover_err *err)
{
	const unsigned voting = VOTEQUORUM_INFO_QDEVICE_REGISTERED | VOTEQUORUM_INFO_QDEVICE_ALIVE |
				VOTEQUORUM_INFO_QDEVICE_CAST_VOTE;
	uint64_t deadline = now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct cs_status *s = malloc(sizeof(*s));
	char why[256];
	int r = -ETIMEDOUT;

	if (!s)
		return -ENOMEM;
	while (r == -ETIMEDOUT) {
		bool ok = cs_status_get(s, why, sizeof(why)) == 0;

		if (ok && want && (s->flags & voting) == voting)
			r = 0;
		else if (ok && !want && !(s->flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED))
			r = 0;
		else if (now_monotonic_ns() >= deadline)
			break;
		else
			pause_ms(250);
	}
	if (r < 0)
		drover_fail(err, r, "votequorum here shows %s after %u s",
			     want ? "no voting QDevice" : "a QDevice still", timeout_ms / 1000);
	free(s);
	return r;
}
