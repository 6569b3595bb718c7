/* SPDX-License-Identifier: MIT */
/*
 * The Ceph host (up --ceph): a whole Ceph cluster on one sandbox host,
 * made as a manual deployment makes one, with Debian's ceph-mon, ceph-osd
 * and ceph-mgr run in the foreground by the keeper (no systemd):
 *
 *   /etc/ceph/ceph.conf, keyrings made with ceph-authtool (cephx on), a
 *   monmap with one monitor "a" at 10.99.0.253 (msgr2 :3300, msgr1 :6789),
 *   ceph-mon --mkfs; `ceph osd new`, ceph-osd --mkfs (memstore or a sparse
 *   bluestore file); one ceph-mgr (only it reports usage: `ceph df`); pool
 *   "rbd" with one replica, initialised for rbd.
 *
 * /etc/ceph, /var/lib/ceph, /var/log and /run are the host's own
 * (STATE/ceph/...), so `ceph -s` in it works as on a real Ceph host. The
 * nodes know the cluster only through their storage.cfg: the rbd storage
 * "ceph" (monhost 10.99.0.253, pool rbd, user admin) with the admin keyring
 * at priv/ceph/ceph.keyring in droverfs, as Proxmox keeps an external
 * cluster's key. The monitors batch their map updates every 50 ms instead
 * of every second: snapshots and pools are made at the speed of this one
 * machine, not of a real cluster's paxos. The monitor's store shares the
 * host's disk, so its free-space warning (30% by default) would report the
 * host's state, not the sandbox's: it warns at 2% and stops at 1%.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "basic/uuid.h"
#include "sandbox.h"

#define CEPH_POOL "rbd"
#define CEPH_STORAGE_ID "ceph"
#define CEPH_TIMEOUT_S 60
#define OUT_MAX 16384

/* Every manager module off (pg_autoscaler, telemetry, ...): only usage reports are wanted. */
#define MGR_MODULES_OFF                                                                       \
	"balancer crash devicehealth orchestrator pg_autoscaler progress rbd_support status " \
	"telemetry volumes iostat restful dashboard prometheus cephadm nfs snap_schedule "    \
	"mirroring insights stats osd_perf_query osd_support"

const char *sb_ceph_store_name(enum sb_ceph store)
{
	return store == SB_CEPH_BLUESTORE ? "bluestore" : "memstore";
}

int sb_ceph_store_parse(const char *s, enum sb_ceph *store)
{
	if (streq(s, "memstore"))
		*store = SB_CEPH_MEMSTORE;
	else if (streq(s, "bluestore"))
		*store = SB_CEPH_BLUESTORE;
	else
		return -EINVAL;
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A path on the host side of the Ceph host's directories ("etc-ceph/ceph.conf"). */
static void host_path(const struct sandbox *sb, const char *rel, char *out, size_t len)
{
	sb_node_path(sb, SB_CEPH_HOST, out, len, rel);
}

/* Run argv in the Ceph host; on failure say what failed and show its output. */
static int run(const struct sandbox *sb, const char *what, char *const argv[], char *out,
	       size_t len, struct drover_err *err)
{
	char buf[OUT_MAX];
	int r;

	if (!out) {
		out = buf;
		len = sizeof(buf);
	}
	r = sb_run_in_node(sb, SB_CEPH_HOST, argv, out, len);
	if (r != 0)
		return drover_fail(err, r < 0 ? r : -EIO, "ceph: %s failed (%s %s): %s", what,
				   argv[0], r < 0 ? "did not run" : "exited",
				   r < 0 ? strerror(-r) : out);
	return 0;
}

static int write_conf(const struct sandbox *sb, const char *fsid)
{
	char path[PATH_MAX], addr[32], text[4096];
	int n;

	sb_address(SB_CEPH_HOST, 0, addr, sizeof(addr));
	n = snprintf(text, sizeof(text),
		     "# drover sandbox %s: one monitor, one OSD (%s), one manager\n"
		     "[global]\n"
		     "\tfsid = %s\n"
		     "\tmon_initial_members = a\n"
		     "\tmon_host = [v2:%s:3300,v1:%s:6789]\n"
		     "\tpublic_network = " SANDBOX_SUBNET ".0.0/24\n"
		     "\tauth_cluster_required = cephx\n"
		     "\tauth_service_required = cephx\n"
		     "\tauth_client_required = cephx\n"
		     "\tauth_allow_insecure_global_id_reclaim = false\n"
		     "\tosd_pool_default_size = 1\n"
		     "\tosd_pool_default_min_size = 1\n"
		     "\tosd_pool_default_pg_num = 8\n"
		     "\tosd_pool_default_pgp_num = 8\n"
		     "\tosd_pool_default_pg_autoscale_mode = off\n"
		     "\tosd_crush_chooseleaf_type = 0\n"
		     "\tmon_allow_pool_size_one = true\n"
		     "\tmon_warn_on_pool_no_redundancy = false\n"
		     "\tmon_allow_pool_delete = true\n"
		     "\tmon_data_avail_warn = 2\n"
		     "\tmon_data_avail_crit = 1\n"
		     "\tpaxos_propose_interval = 0.05\n"
		     "[mgr]\n"
		     "\tmgr_disabled_modules = " MGR_MODULES_OFF "\n"
		     "[osd]\n"
		     "%s",
		     sb->name, sb_ceph_store_name(sb->ceph), fsid, addr, addr,
		     sb->ceph == SB_CEPH_BLUESTORE ? "\tosd_objectstore = bluestore\n"
						     "\tbluestore_block_create = true\n"
						     "\tbluestore_block_size = 8G\n"
						     "\tbluestore_cache_autotune = false\n"
						     "\tbluestore_cache_size = 64M\n"
						     "\tosd_memory_target = 896M\n"
						   : "\tosd_objectstore = memstore\n"
						     "\tmemstore_device_bytes = 8G\n");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	host_path(sb, "etc-ceph/ceph.conf", path, sizeof(path));
	return write_file_atomic(path, text, (size_t)n, 0644);
}

/* The directories the daemons expect, made on the host side. */
static int make_dirs(const struct sandbox *sb)
{
	static const char *const dirs[] = { "var-lib-ceph/mon/ceph-a",
					    "var-lib-ceph/osd/ceph-0",
					    "var-lib-ceph/mgr/ceph-x",
					    "var-lib-ceph/tmp",
					    "log/ceph",
					    "run/ceph" };
	char path[PATH_MAX];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++) {
		host_path(sb, dirs[i], path, sizeof(path));
		r = mkdir_p(path, 0755);
	}
	return r;
}

/* A keyring with a new key for name and its capabilities, imported into the monitors' keyring. */
static int make_key(const struct sandbox *sb, const char *keyring, const char *name,
		    char *const caps[], struct drover_err *err)
{
	char *argv[16] = { "ceph-authtool", "--create-keyring", (char *)keyring, "--gen-key", "-n",
			   (char *)name };
	char *import[] = { "ceph-authtool", "/etc/ceph/ceph.mon.keyring", "--import-keyring",
			   (char *)keyring, NULL };
	size_t n = 6;
	int r;

	for (; *caps && n < ARRAY_SIZE(argv) - 3; caps += 2) {
		argv[n++] = "--cap";
		argv[n++] = caps[0];
		argv[n++] = caps[1];
	}
	argv[n] = NULL;
	r = run(sb, name, argv, NULL, 0, err);
	if (r == 0 && !streq(name, "mon."))
		r = run(sb, "importing a key into the monitors' keyring", import, NULL, 0, err);
	return r;
}

static int make_keys(const struct sandbox *sb, struct drover_err *err)
{
	static char *const mon[] = { "mon", "allow *", NULL };
	static char *const admin[] = { "mon",	  "allow *", "osd",	"allow *", "mgr",
				       "allow *", "mds",     "allow *", NULL };
	static char *const osd[] = { "mon", "allow profile osd", "mgr", "allow profile osd",
				     "osd", "allow *",		 NULL };
	static char *const mgr[] = { "mon", "allow profile mgr", "osd", "allow *",
				     "mds", "allow *",		 NULL };
	int r = make_key(sb, "/etc/ceph/ceph.mon.keyring", "mon.", mon, err);

	if (r == 0)
		r = make_key(sb, "/etc/ceph/ceph.client.admin.keyring", "client.admin", admin, err);
	if (r == 0)
		r = make_key(sb, "/var/lib/ceph/osd/ceph-0/keyring", "osd.0", osd, err);
	if (r == 0)
		r = make_key(sb, "/var/lib/ceph/mgr/ceph-x/keyring", "mgr.x", mgr, err);
	return r;
}

static int mon_mkfs(const struct sandbox *sb, const char *fsid, struct drover_err *err)
{
	char addr[32], addrv[96];
	char *monmap[] = { "monmaptool", "--create", "--fsid", (char *)fsid,
			   "--addv",	 "a",	     addrv,    "/var/lib/ceph/tmp/monmap",
			   NULL };
	char *mkfs[] = { "ceph-mon",  "--mkfs",
			 "-i",	      "a",
			 "--monmap",  "/var/lib/ceph/tmp/monmap",
			 "--keyring", "/etc/ceph/ceph.mon.keyring",
			 NULL };
	int r;

	sb_address(SB_CEPH_HOST, 0, addr, sizeof(addr));
	snprintf(addrv, sizeof(addrv), "[v2:%s:3300,v1:%s:6789]", addr, addr);
	r = run(sb, "making the monitor map", monmap, NULL, 0, err);
	if (r == 0)
		r = run(sb, "making the monitor's store", mkfs, NULL, 0, err);
	return r;
}

static int osd_mkfs(const struct sandbox *sb, struct drover_err *err)
{
	char uuid[UUID_TEXT_LEN];
	char *create[] = { "ceph", "--connect-timeout", "30", "osd", "new", uuid, "0", NULL };
	char *mkfs[] = { "ceph-osd", "--mkfs", "-i", "0", "--osd-uuid", uuid, NULL };
	int r = uuid_random_text(uuid);

	if (r == 0)
		r = run(sb, "registering the OSD", create, NULL, 0, err);
	if (r == 0)
		r = run(sb, "making the OSD's store", mkfs, NULL, 0, err);
	return r;
}

/* Run a ceph command until its output contains want (or lacks it, when absent is set). */
static int wait_output(const struct sandbox *sb, char *const argv[], const char *want,
		       const char *absent, const char *what, struct drover_err *err)
{
	uint64_t deadline = now_monotonic_ns() + CEPH_TIMEOUT_S * 1000000000ull;
	char out[OUT_MAX];

	for (;;) {
		int r = sb_run_in_node(sb, SB_CEPH_HOST, argv, out, sizeof(out));

		if (r == 0 && strstr(out, want) && !(absent && strstr(out, absent)))
			return 0;
		if (now_monotonic_ns() > deadline)
			return drover_fail(err, -ETIMEDOUT,
					   "ceph: %s after %d s (see %s/%s/log/ceph)", what,
					   CEPH_TIMEOUT_S, sb->dir, SB_CEPH_NAME);
		sleep_ms(250);
	}
}

static int make_pool(const struct sandbox *sb, struct drover_err *err)
{
	char *create[] = { "ceph",   "--connect-timeout", "30", "osd", "pool",
			   "create", CEPH_POOL,		  "8",	"8",   NULL };
	char *init[] = { "rbd", "pool", "init", CEPH_POOL, NULL };
	int r = run(sb, "creating pool " CEPH_POOL, create, NULL, 0, err);

	if (r == 0)
		r = run(sb, "initialising pool " CEPH_POOL " for rbd", init, NULL, 0, err);
	return r;
}

static int start(const struct sandbox *sb, enum sb_daemon d, struct drover_err *err)
{
	int r = sb_daemon_start(sb, SB_CEPH_HOST, d, NULL);

	if (r < 0)
		return drover_fail(err, r, "starting %s on %s: %s (see %s/%s/log/%s.log)",
				   sb_daemon_name(d), SB_CEPH_NAME, strerror(-r), sb->dir,
				   SB_CEPH_NAME, sb_daemon_name(d));
	return 0;
}

int sb_ceph_init(const struct sandbox *sb, struct drover_err *err)
{
	char *osd_stat[] = { "ceph", "--connect-timeout", "30", "osd", "stat", "-f", "json", NULL };
	char *df[] = { "ceph", "--connect-timeout", "30", "df", "-f", "json", NULL };
	char *mute[] = { "ceph", "--connect-timeout", "30",	  "health",
			 "mute", "MGR_MODULE_ERROR",  "--sticky", NULL };
	char fsid[UUID_TEXT_LEN];
	int r = uuid_random_text(fsid);

	if (r == 0)
		r = make_dirs(sb);
	if (r == 0)
		r = write_conf(sb, fsid);
	if (r < 0)
		return drover_fail(err, r, "ceph: writing the configuration: %s", strerror(-r));
	r = make_keys(sb, err);
	if (r == 0)
		r = mon_mkfs(sb, fsid, err);
	if (r == 0)
		r = start(sb, SB_CEPH_MON, err);
	if (r == 0)
		r = osd_mkfs(sb, err);
	if (r == 0)
		r = start(sb, SB_CEPH_OSD, err);
	if (r == 0)
		r = start(sb, SB_CEPH_MGR, err);
	if (r == 0)
		r = wait_output(sb, osd_stat, "\"num_up_osds\":1", NULL, "the OSD is not up", err);
	if (r == 0)
		r = make_pool(sb, err);
	/* the modules switched off count as failed: no news for `ceph health` */
	if (r == 0)
		r = run(sb, "muting the failed manager modules", mute, NULL, 0, err);
	/* the manager has reported the pool's usage: `ceph df` (and rbd status) tell the truth */
	if (r == 0)
		r = wait_output(sb, df, "\"name\":\"" CEPH_POOL "\"", "\"total_bytes\":0,",
				"the manager reports no usage", err);
	return r;
}

/* ---- the nodes' rbd storage ---------------------------------------------- */

/*
 * `drover storage add rbd ceph ... --keyring FILE` in the nodes, as a user
 * would add it: the keyring file of the Ceph host's /etc/ceph is in the
 * sandbox's directory, which the nodes see.
 */
int sb_ceph_storage(const struct sandbox *sb, bool bare, struct drover_err *err)
{
	char keyring[PATH_MAX], addr[32];
	char *add[] = { "storage",   "add", "rbd",	  CEPH_STORAGE_ID, "--pool",	CEPH_POOL,
			"--monhost", addr,  "--username", "admin",	   "--content", "images",
			"--krbd",    "0",   "--keyring",  keyring,	   NULL };
	int r = 0;

	host_path(sb, "etc-ceph/ceph.client.admin.keyring", keyring, sizeof(keyring));
	sb_address(SB_CEPH_HOST, 0, addr, sizeof(addr));
	/* a cluster shares one storage.cfg: node1's is everyone's */
	for (unsigned k = 1; r == 0 && k <= (bare ? sb->nodes : 1); k++)
		r = sb_run_drover(sb, k, add, err);
	return r;
}
