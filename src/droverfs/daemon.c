/* SPDX-License-Identifier: MIT */
/* Start-up and shut-down of droverfs, and its event loop. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "droverfs/corosync/corosync.h"
#include "droverfs/fuse/fuse_fs.h"
#include "droverfs/ipc/ipc_server.h"
#include "basic/fusectl.h"
#include "basic/log.h"
#include "basic/util.h"
#include "basic/nstime.h"
#include "droverfs/fuse/mountpoint.h"
#include "droverfs/shell/node_dirs.h"
#include "droverfs/shell/submit.h"

static int resolve_group(struct cfs_daemon *d)
{
	struct group *g = getgrnam(d->opt.group ? d->opt.group : "www-data");

	if (!g && d->opt.group) {
		log_err("group '%s' does not exist (--group)", d->opt.group);
		return -EINVAL;
	}
	d->gid = g ? g->gr_gid : 0;
	return 0;
}

static int mkdir_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The state letter of a process (R, S, D, Z...), or 0 when there is none. */
static char process_state(const char *pid)
{
	char path[64], buf[512];
	const char *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

/*
 * The lock's holder is a droverfs that was killed but cannot end: one of its
 * threads waits in the kernel on its own FUSE connection (fusectl.h), which
 * keeps the lock. Abort that connection and take the lock once it is free.
 */
static bool end_hung_holder(struct cfs_daemon *d, const char *pid)
{
	int r;

	if (!pid[0] || process_state(pid) != 'Z')
		return false;
	log_warn("droverfs pid %s was killed but hangs in the kernel; aborting the FUSE "
		 "connection of %s",
		 pid, d->opt.mountpoint);
	r = fusectl_abort_mount("/proc/self/mountinfo", d->opt.mountpoint);
	if (r < 0) {
		log_err("%s: cannot abort its FUSE connection: %s", d->opt.mountpoint,
			strerror(-r));
		return false;
	}
	for (int i = 0; i < 60; i++) {
		if (flock(d->lock_fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* One droverfs per database: a lock file next to it holds our pid. */
static int take_instance_lock(struct cfs_daemon *d)
{
	char path[PATH_MAX], pid[32];
	int n;

	snprintf(path, sizeof(path), "%s.lock", d->opt.db_path);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		log_err("%s: %m", path);
		return -errno;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = (int)pread(d->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e != EWOULDBLOCK || !end_hung_holder(d, pid)) {
			log_err("another droverfs (pid %s) is using %s", pid[0] ? pid : "?",
				d->opt.db_path);
			return e == EWOULDBLOCK ? -EBUSY : -e;
		}
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot record the pid: %m", path);
	return 0;
}

/*
 * A fresh node whose corosync is configured already (a sandbox, a
 * hand-made cluster): take corosync's file into the tree, which makes
 * this droverfs a cluster member.
 */
static void import_corosync_conf(struct cfs_daemon *d)
{
	struct cfs_state *st = cfs_daemon_state(d);
	struct cfs_op op = { .kind = CFS_OP_CREATE,
			     .time_ns = now_wall_ns(),
			     .ino = CFS_ROOT_INODE };
	struct cfs_result res = { 0 };
	char *text = NULL;
	size_t len = 0;
	int r;

	if (cfs_tree_resolve(&st->tree, "corosync.conf"))
		return;
	r = read_file_max(d->opt.corosync_conf, 1u << 20, &text, &len);
	if (r < 0)
		return;
	cfs_op_set_name(op.name, "corosync.conf");
	r = cfs_persist_apply(d->persist, &op, &res);
	if (r == 0) {
		struct cfs_op w = { .kind = CFS_OP_WRITE,
				    .flags = CFS_WRITE_REPLACE,
				    .time_ns = op.time_ns,
				    .ino = res.inode,
				    .data = text,
				    .size = len };

		r = cfs_persist_apply(d->persist, &w, &res);
	}
	if (r == 0)
		r = cfs_persist_commit(d->persist);
	free(text);
	if (r < 0)
		log_err("cannot import %s into the tree: %s", d->opt.corosync_conf, strerror(-r));
	else
		log_notice("imported %s into the tree: cluster mode", d->opt.corosync_conf);
}

static int open_state(struct cfs_daemon *d)
{
	struct cfs_persist_config cfg;
	int r;

	r = mkdir_parent(d->opt.db_path, 0755);
	if (r < 0) {
		log_err("cannot create the directory of %s: %s", d->opt.db_path, strerror(-r));
		return r;
	}
	r = take_instance_lock(d);
	if (r < 0)
		return r;
	/* Before the database is touched: a bad mount point must not leave one behind. */
	r = cfs_mountpoint_prepare(d->opt.mountpoint);
	if (r < 0) {
		if (r != -EBUSY && r != -ENOTDIR)
			log_err("mount point %s: %s", d->opt.mountpoint, strerror(-r));
		return r;
	}
	cfs_persist_config_default(&cfg, d->opt.db_path);
	cfg.limits = d->opt.limits;
	r = cfs_persist_open(&cfg, now_wall_ns(), &d->persist);
	if (r < 0) {
		log_err("cannot open the database %s: %s", d->opt.db_path, strerror(-r));
		return r;
	}
	d->persist->state.record_changes = true;
	d->reloads_seen = d->persist->stats.reloads;
	if (!d->opt.local)
		import_corosync_conf(d);
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct cfs_daemon *d = userdata;

	log_notice("received %s, shutting down", strsignal((int)si->ssi_signo));
	sd_event_exit(d->event, 0);
	return 0;
}

static int on_commit(sd_event_source *s, void *userdata)
{
	cfs_submit_commit(userdata);
	return 0;
}

#define FLUSH_RETRY_US 20000 /* while a batch is open */

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cfs_daemon *d = userdata;
	uint64_t now_us;
	int r;

	if (cfs_persist_batch_open(d->persist)) {
		/*
		 * The commit must close the batch first. It runs below the timers'
		 * priority: a timer re-armed at "now" would be due at every turn of
		 * the loop and starve it (a livelock that stopped every write). So
		 * make sure the commit is on its way and come back a little later.
		 */
		cfs_submit_schedule_commit(d);
		sd_event_now(d->event, CLOCK_MONOTONIC, &now_us);
		sd_event_source_set_time(d->flush_timer, now_us + FLUSH_RETRY_US);
		sd_event_source_set_enabled(d->flush_timer, SD_EVENT_ONESHOT);
		return 0;
	}
	r = cfs_persist_flush(d->persist);
	if (r < 0)
		log_warn("cannot write the journal into %s yet (%s); it stays in the "
			 "journal, nothing is lost",
			 d->opt.db_path, strerror(-r));
	cfs_submit_schedule_flush(d);
	return 0;
}

static int setup_loop(struct cfs_daemon *d)
{
	sigset_t mask;
	int r;

	r = sd_event_new(&d->event);
	if (r < 0)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d)) < 0 ||
	    (r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d)) < 0)
		return r;
	/*
	 * A deferred source below the I/O sources' priority: it runs once the
	 * requests and messages that are ready have been handled, so one
	 * commit covers all of them (group commit). A post source would not
	 * do: enabled from within a handler, it waits for the next event.
	 */
	r = sd_event_add_defer(d->event, &d->commit_source, on_commit, d);
	if (r >= 0)
		r = sd_event_source_set_priority(d->commit_source, SD_EVENT_PRIORITY_NORMAL + 10);
	if (r < 0)
		return r;
	sd_event_source_set_enabled(d->commit_source, SD_EVENT_OFF);
	r = sd_event_add_time(d->event, &d->flush_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
			      on_flush_timer, d);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(d->flush_timer, SD_EVENT_OFF);
}

static int init_parts(struct cfs_daemon *d)
{
	int r;

	d->starttime = now_wall_s();
	d->quorate = true; /* local mode */
	d->lock_fd = -1;
	cfs_locks_init(&d->locks, NULL, NULL);
	d->locks.lifetime_ns = (uint64_t)d->opt.lock_lifetime * 1000000000ull;
	cfs_kvstore_init(&d->kv);
	r = cfs_clusterlog_init(&d->clog, CLOG_DEFAULT_CAPACITY);
	if (r == 0)
		r = cfs_fsversion_init(&d->fsversion, d->starttime);
	if (r == 0)
		r = resolve_group(d);
	return r;
}

static void teardown(struct cfs_daemon *d)
{
	if (d->persist)
		cfs_submit_commit(d);
	cfs_corosync_stop(d->corosync);
	d->corosync = NULL;
	if (d->persist)
		cfs_submit_commit(d);
	cfs_ipc_server_stop(d->ipc);
	d->ipc = NULL;
	cfs_fuse_stop(d->fuse);
	d->fuse = NULL;
	if (d->persist) {
		d->flushed_at_exit = cfs_persist_close(d->persist) == 0;
		d->persist = NULL;
	}
	sd_event_source_disable_unref(d->commit_source);
	sd_event_source_disable_unref(d->flush_timer);
	sd_event_unref(d->event);
	cfs_locks_destroy(&d->locks);
	cfs_kvstore_destroy(&d->kv);
	cfs_clusterlog_destroy(&d->clog);
	cfs_fsversion_destroy(&d->fsversion);
	free(d->pending);
	free(d->parts);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

int cfs_daemon_run(struct cfs_daemon *d)
{
	int r;

	r = init_parts(d);
	if (r == 0)
		r = setup_loop(d);
	if (r == 0)
		r = open_state(d);
	if (r == 0) {
		cfs_locks_sync(&d->locks, &cfs_daemon_state(d)->tree);
		if (!d->opt.local && cfs_tree_resolve(&cfs_daemon_state(d)->tree, "corosync.conf"))
			r = cfs_corosync_start(d, &d->corosync);
		else
			cfs_node_dirs_ensure(d);
	}
	if (r == 0)
		r = cfs_fuse_start(d, &d->fuse);
	if (r == 0)
		r = cfs_ipc_server_start(d, d->opt.socket_path, &d->ipc);
	if (r == 0) {
		cfs_clusterlog_append(&d->clog, d->opt.nodename, "root", "droverfs",
				      (uint32_t)getpid(), LOG_INFO, now_wall_s(),
				      "starting cluster log");
		log_notice("mounted on %s (%s mode, node %s, version %llu)", d->opt.mountpoint,
			   cfs_daemon_clustered(d) ? "cluster" : "local", d->opt.nodename,
			   (unsigned long long)cfs_daemon_state(d)->tree.version);
		if (d->ready_fd >= 0) {
			if (write(d->ready_fd, "1", 1) != 1)
				log_warn("cannot tell the parent that we are ready: %m");
			close(d->ready_fd);
			d->ready_fd = -1;
		}
		sd_notify(0, "READY=1");
		r = sd_event_loop(d->event);
		sd_notify(0, "STOPPING=1");
	}
	teardown(d);
	if (r == 0 && d->flushed_at_exit)
		log_notice("unmounted %s; all changes are in %s", d->opt.mountpoint,
			   d->opt.db_path);
	else if (r == 0)
		log_warn("unmounted %s; the last changes could not be written into %s and are "
			 "kept in %s.journal: the next start applies them (copy both files "
			 "for a backup)",
			 d->opt.mountpoint, d->opt.db_path, d->opt.db_path);
	return r;
}
