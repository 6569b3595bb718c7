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
 *
 * With --ceph-local the host runs a second, unrelated cluster beside it,
 * made the same way under Ceph's other cluster name "ceph2" (every command
 * and daemon gets --cluster): /etc/ceph/ceph2.conf, its own fsid and keys,
 * its monitor on ports 3301 (msgr2) and 6790 (msgr1), its own memstore or
 * bluestore OSD and manager, its own pool "rbd". Each node then has an
 * /etc/ceph/ceph.conf and ceph.client.admin.keyring of its own naming one
 * of the two clusters (odd nodes "ceph", even nodes "ceph2"): the rbd
 * storage "ceph-local" (no monhost, shared 0) is a different cluster on
 * node1 and node2, as two sites with a Ceph each would be.
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
#define CEPH_LOCAL_STORAGE_ID "ceph-local"
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

/* One Ceph cluster of the Ceph host: its name (Ceph's $cluster), monitor ports and daemons. */
struct cluster {
	const char *name;
	unsigned v2, v1; /* the monitor's msgr2 and msgr1 ports */
	enum sb_daemon mon, osd, mgr;
};

static const struct cluster clusters[] = {
	{ "ceph", 3300, 6789, SB_CEPH_MON, SB_CEPH_OSD, SB_CEPH_MGR },
	{ "ceph2", 3301, 6790, SB_CEPH2_MON, SB_CEPH2_OSD, SB_CEPH2_MGR },
};

static const struct cluster *cluster_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(clusters); i++)
		if (streq(clusters[i].name, name))
			return &clusters[i];
	return NULL;
}

/* "[v2:10.99.0.253:3300,v1:10.99.0.253:6789]": the cluster's monitor. */
static void mon_addrv(const struct cluster *c, char *out, size_t len)
{
	char addr[32];

	sb_address(SB_CEPH_HOST, 0, addr, sizeof(addr));
	snprintf(out, len, "[v2:%s:%u,v1:%s:%u]", addr, c->v2, addr, c->v1);
}

static int write_conf(const struct sandbox *sb, const struct cluster *c, const char *fsid)
{
	char path[PATH_MAX], rel[64], mons[96], text[4096];
	int n;

	mon_addrv(c, mons, sizeof(mons));
	n = snprintf(text, sizeof(text),
		     "# drover sandbox %s: cluster %s, one monitor, one OSD (%s), one manager\n"
		     "[global]\n"
		     "\tfsid = %s\n"
		     "\tmon_initial_members = a\n"
		     "\tmon_host = %s\n"
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
		     sb->name, c->name, sb_ceph_store_name(sb->ceph), fsid, mons,
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
	snprintf(rel, sizeof(rel), "etc-ceph/%s.conf", c->name);
	host_path(sb, rel, path, sizeof(path));
	return write_file_atomic(path, text, (size_t)n, 0644);
}

/* The directories the daemons expect, made on the host side. */
static int make_dirs(const struct sandbox *sb, const struct cluster *c)
{
	/* each a prefix, then the cluster's name and a suffix when there is one */
	static const char *const dirs[][2] = {
		{ "var-lib-ceph/mon/", "-a" }, { "var-lib-ceph/osd/", "-0" },
		{ "var-lib-ceph/mgr/", "-x" }, { "var-lib-ceph/tmp", NULL },
		{ "log/ceph", NULL },	       { "run/ceph", NULL },
	};
	char path[PATH_MAX], rel[64];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++) {
		snprintf(rel, sizeof(rel), "%s%s%s", dirs[i][0], dirs[i][1] ? c->name : "",
			 dirs[i][1] ? dirs[i][1] : "");
		host_path(sb, rel, path, sizeof(path));
		r = mkdir_p(path, 0755);
	}
	return r;
}

/* A keyring with a new key for name and its capabilities, imported into the monitors' keyring. */
static int make_key(const struct sandbox *sb, const struct cluster *c, const char *keyring,
		    const char *name, char *const caps[], struct drover_err *err)
{
	char monkeys[PATH_MAX];
	char *argv[16] = { "ceph-authtool", "--create-keyring", (char *)keyring, "--gen-key", "-n",
			   (char *)name };
	char *import[] = { "ceph-authtool", monkeys, "--import-keyring", (char *)keyring, NULL };
	size_t n = 6;
	int r;

	snprintf(monkeys, sizeof(monkeys), "/etc/ceph/%s.mon.keyring", c->name);
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

static int make_keys(const struct sandbox *sb, const struct cluster *c, struct drover_err *err)
{
	static char *const mon[] = { "mon", "allow *", NULL };
	static char *const admin[] = { "mon",	  "allow *", "osd",	"allow *", "mgr",
				       "allow *", "mds",     "allow *", NULL };
	static char *const osd[] = { "mon", "allow profile osd", "mgr", "allow profile osd",
				     "osd", "allow *",		 NULL };
	static char *const mgr[] = { "mon", "allow profile mgr", "osd", "allow *",
				     "mds", "allow *",		 NULL };
	static const struct {
		const char *dir, *file, *name; /* the keyring: DIR CLUSTER FILE */
		char *const *caps;
	} keys[] = {
		{ "/etc/ceph/", ".mon.keyring", "mon.", mon },
		{ "/etc/ceph/", ".client.admin.keyring", "client.admin", admin },
		{ "/var/lib/ceph/osd/", "-0/keyring", "osd.0", osd },
		{ "/var/lib/ceph/mgr/", "-x/keyring", "mgr.x", mgr },
	};
	char path[PATH_MAX];
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(keys); i++) {
		snprintf(path, sizeof(path), "%s%s%s", keys[i].dir, c->name, keys[i].file);
		r = make_key(sb, c, path, keys[i].name, keys[i].caps, err);
	}
	return r;
}

static int mon_mkfs(const struct sandbox *sb, const struct cluster *c, const char *fsid,
		    struct drover_err *err)
{
	char addrv[96], map[PATH_MAX], keyring[PATH_MAX];
	char *monmap[] = { "monmaptool", "--create", "--fsid", (char *)fsid, "--addv",
			   "a",		 addrv,	     map,      NULL };
	char *mkfs[] = { "ceph-mon", "--cluster", (char *)c->name, "--mkfs", "-i", "a",
			 "--monmap", map,	  "--keyring",	   keyring,  NULL };
	int r;

	mon_addrv(c, addrv, sizeof(addrv));
	snprintf(map, sizeof(map), "/var/lib/ceph/tmp/%s.monmap", c->name);
	snprintf(keyring, sizeof(keyring), "/etc/ceph/%s.mon.keyring", c->name);
	r = run(sb, "making the monitor map", monmap, NULL, 0, err);
	if (r == 0)
		r = run(sb, "making the monitor's store", mkfs, NULL, 0, err);
	return r;
}

static int osd_mkfs(const struct sandbox *sb, const struct cluster *c, struct drover_err *err)
{
	char uuid[UUID_TEXT_LEN];
	char *create[] = { "ceph", "--cluster", (char *)c->name, "--connect-timeout",
			   "30",   "osd",	"new",		 uuid,
			   "0",	   NULL };
	char *mkfs[] = { "ceph-osd",   "--cluster", (char *)c->name,
			 "--mkfs",     "-i",	    "0",
			 "--osd-uuid", uuid,	    NULL };
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

static int make_pool(const struct sandbox *sb, const struct cluster *c, struct drover_err *err)
{
	char *create[] = { "ceph", "--cluster", (char *)c->name, "--connect-timeout", "30",
			   "osd",  "pool",	"create",	 CEPH_POOL,	      "8",
			   "8",	   NULL };
	char *init[] = { "rbd", "--cluster", (char *)c->name, "pool", "init", CEPH_POOL, NULL };
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

static int cluster_init(const struct sandbox *sb, const struct cluster *c, struct drover_err *err)
{
	char *cl = (char *)c->name;
	char *osd_stat[] = { "ceph", "--cluster", cl,  "--connect-timeout", "30", "osd", "stat",
			     "-f",   "json",	  NULL };
	char *df[] = {
		"ceph", "--cluster", cl, "--connect-timeout", "30", "df", "-f", "json", NULL
	};
	char *mute[] = { "ceph",     "--cluster", cl,	  "--connect-timeout",
			 "30",	     "health",	  "mute", "MGR_MODULE_ERROR",
			 "--sticky", NULL };
	char fsid[UUID_TEXT_LEN];
	int r = uuid_random_text(fsid);

	if (r == 0)
		r = make_dirs(sb, c);
	if (r == 0)
		r = write_conf(sb, c, fsid);
	if (r < 0)
		return drover_fail(err, r, "ceph: writing the configuration of %s: %s", c->name,
				   strerror(-r));
	r = make_keys(sb, c, err);
	if (r == 0)
		r = mon_mkfs(sb, c, fsid, err);
	if (r == 0)
		r = start(sb, c->mon, err);
	if (r == 0)
		r = osd_mkfs(sb, c, err);
	if (r == 0)
		r = start(sb, c->osd, err);
	if (r == 0)
		r = start(sb, c->mgr, err);
	if (r == 0)
		r = wait_output(sb, osd_stat, "\"num_up_osds\":1", NULL, "the OSD is not up", err);
	if (r == 0)
		r = make_pool(sb, c, err);
	/* the modules switched off count as failed: no news for `ceph health` */
	if (r == 0)
		r = run(sb, "muting the failed manager modules", mute, NULL, 0, err);
	/* the manager has reported the pool's usage: `ceph df` (and rbd status) tell the truth */
	if (r == 0)
		r = wait_output(sb, df, "\"name\":\"" CEPH_POOL "\"", "\"total_bytes\":0,",
				"the manager reports no usage", err);
	if (r < 0 && c != &clusters[0])
		drover_fail_prefix(err, r, "cluster %s", c->name);
	return r;
}

int sb_ceph_init(const struct sandbox *sb, struct drover_err *err)
{
	int r = cluster_init(sb, &clusters[0], err);

	if (r == 0 && sb->ceph_local)
		r = cluster_init(sb, &clusters[1], err);
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

/* ---- --ceph-local: each node's own /etc/ceph ----------------------------- */

const char *sb_ceph_local_cluster(unsigned node)
{
	return node % 2 ? clusters[0].name : clusters[1].name;
}

/* The fsid in the Ceph host's CLUSTER.conf, into fsid. */
static int read_fsid(const struct sandbox *sb, const struct cluster *c, char fsid[UUID_TEXT_LEN])
{
	char rel[64], path[PATH_MAX], *text = NULL;
	const char *f;
	size_t len;
	int r;

	snprintf(rel, sizeof(rel), "etc-ceph/%s.conf", c->name);
	host_path(sb, rel, path, sizeof(path));
	r = read_file_max(path, 1u << 16, &text, &len);
	if (r < 0)
		return r;
	f = strstr(text, "fsid = ");
	r = f && strlen(f + 7) >= UUID_TEXT_LEN - 1 ? 0 : -EBADMSG;
	if (r == 0)
		snprintf(fsid, UUID_TEXT_LEN, "%.*s", UUID_TEXT_LEN - 1, f + 7);
	free(text);
	return r;
}

/*
 * Node k's /etc/ceph: ceph.conf with its cluster's fsid and monitor, and
 * the cluster's client.admin keyring as ceph.client.admin.keyring, where
 * librados and the rbd tool look by default (cluster name "ceph": the node
 * does not know the Ceph host's name for it).
 */
static int node_ceph_files(const struct sandbox *sb, unsigned k, struct drover_err *err)
{
	const struct cluster *c = cluster_find(sb_ceph_local_cluster(k));
	char fsid[UUID_TEXT_LEN], mons[96], text[1024], rel[64], path[PATH_MAX];
	char *key = NULL;
	size_t len;
	int n, r;

	r = read_fsid(sb, c, fsid);
	if (r < 0)
		return drover_fail(err, r, "ceph: reading the fsid of cluster %s: %s", c->name,
				   strerror(-r));
	mon_addrv(c, mons, sizeof(mons));
	n = snprintf(text, sizeof(text),
		     "# drover sandbox %s: this node's own Ceph cluster (%s on the Ceph host)\n"
		     "[global]\n"
		     "\tfsid = %s\n"
		     "\tmon_host = %s\n"
		     "\tauth_client_required = cephx\n",
		     sb->name, c->name, fsid, mons);
	sb_node_path(sb, k, path, sizeof(path), "etc-ceph/ceph.conf");
	r = n > 0 && (size_t)n < sizeof(text) ? write_file_atomic(path, text, (size_t)n, 0644)
					      : -ENAMETOOLONG;
	if (r == 0) {
		snprintf(rel, sizeof(rel), "etc-ceph/%s.client.admin.keyring", c->name);
		host_path(sb, rel, path, sizeof(path));
		r = read_file_max(path, 1u << 16, &key, &len);
	}
	if (r == 0) {
		sb_node_path(sb, k, path, sizeof(path), "etc-ceph/ceph.client.admin.keyring");
		r = write_file_atomic(path, key, len, 0600);
	}
	free(key);
	if (r < 0)
		return drover_fail(err, r, "ceph: writing node%u's /etc/ceph: %s", k, strerror(-r));
	return 0;
}

int sb_ceph_local_storage(const struct sandbox *sb, bool bare, struct drover_err *err)
{
	char *add[] = { "storage", "add",     "rbd",	   CEPH_LOCAL_STORAGE_ID,
			"--pool",  CEPH_POOL, "--content", "images",
			"--krbd",  "0",	      "--shared",  "0",
			NULL };
	int r = 0;

	for (unsigned k = 1; r == 0 && k <= sb->nodes; k++)
		r = node_ceph_files(sb, k, err);
	for (unsigned k = 1; r == 0 && k <= (bare ? sb->nodes : 1); k++)
		r = sb_run_drover(sb, k, add, err);
	return r;
}
