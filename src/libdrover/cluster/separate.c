/* SPDX-License-Identifier: MIT */
#include "separate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/process.h"
#include "basic/util.h"
#include "libdrover/sys/service.h"
#include "node_setup.h"

#define LOCAL_TIMEOUT_MS 30000

/* The other nodes' directories: this node no longer shares their guests. */
static void drop_other_nodes(const struct cfs_brief *b, const struct drover_reporter *rep)
{
	char dir[4096], path[4096 + 300];
	struct dirent *e;
	DIR *d;

	if (cfs_path(b, "nodes", dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char *argv[] = { "rm", "-rf", path, NULL };

		if (e->d_name[0] == '.' || streq(e->d_name, b->node))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (process_run(argv, NULL, 0, NULL, NULL) == 0)
			drover_report_log(rep, "removed nodes/%s (the cluster keeps its own copy)",
					  e->d_name);
	}
	closedir(d);
}

static int remove_config(const struct cfs_brief *b, const struct drover_reporter *rep,
			 struct drover_err *err)
{
	char path[4096];
	char *clear[] = { "sh", "-c", "rm -rf /var/lib/corosync/*", NULL };

	drover_report_log(rep, "removing the cluster configuration");
	cfs_path(b, "corosync.conf", path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	unlink(COROSYNC_CONF);
	unlink(COROSYNC_AUTHKEY);
	process_run(clear, NULL, 0, NULL, NULL);
	drop_other_nodes(b, rep);
	return 0;
}

/* droverfs anew (extra: its arguments of this start), until its tree is writable. */
static int restart_local(const char *socket, char *const extra[], struct cfs_brief *b,
			 struct drover_err *err)
{
	int r = service_do(SERVICE_DROVERFS, SERVICE_RESTART, extra, err);

	if (r == 0 && (r = cfs_wait_writable(socket, false, LOCAL_TIMEOUT_MS, b)) < 0)
		drover_fail(err, r, "droverfs did not come back writable in local mode");
	return r;
}

int cluster_separate(const char *socket, struct cfs_brief *b, const struct drover_reporter *rep,
		     struct drover_err *err)
{
	char *local_mode[] = { "-l", NULL };
	int r;

	drover_report_log(rep, "stopping corosync");
	r = service_do(SERVICE_COROSYNC, SERVICE_STOP, NULL, err);
	if (r < 0)
		return r;
	drover_report_log(rep, "restarting droverfs in local mode");
	r = restart_local(socket, local_mode, b, err);
	if (r == 0)
		r = remove_config(b, rep, err);
	if (r < 0)
		return r;
	drover_report_log(rep, "restarting droverfs (local mode: no cluster configuration left)");
	return restart_local(socket, NULL, b, err);
}
