/* SPDX-License-Identifier: MIT */
#include "volume_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "receive_lock.h"

#define PIPE_SIZE (1 << 20)

/* The plugin's side, run in a thread. */
struct job {
	const struct storage_env *env;
	const char *volid;
	enum storage_format fmt;
	const struct storage_export_opts *eo;
	const struct storage_import_opts *io;
	int fd; /* its end of the pipe; closed by the thread when done */
	char imported[STORAGE_VOLID_MAX];
	int r;
	struct drover_err err;
	pthread_t thread;
	bool running;
	int other; /* the pump's end, closed by finish() */
	/*
	 * The caller's reporter (may be NULL), reached by the plugin's thread and
	 * the pump's one at a time: plugin_rep passes the plugin's lines (the
	 * pump reports the bytes), pump_rep everything of the pump's.
	 */
	const struct drover_reporter *to;
	pthread_mutex_t lock;
	struct drover_reporter plugin_rep, pump_rep;
};

static void locked_report(struct job *j, const struct drover_event *ev)
{
	pthread_mutex_lock(&j->lock);
	j->to->report(j->to->ctx, ev);
	pthread_mutex_unlock(&j->lock);
}

static void plugin_report(void *ctx, const struct drover_event *ev)
{
	if (ev->kind != DROVER_EVENT_BYTES)
		locked_report(ctx, ev);
}

static void pump_report(void *ctx, const struct drover_event *ev)
{
	locked_report(ctx, ev);
}

/* The reporters of j, and po with the pump's (into copy) when the caller has one. */
static const struct pump_opts *reporters(struct job *j, const struct pump_opts *po,
					 struct pump_opts *copy)
{
	if (!po->rep || !po->rep->report)
		return po;
	j->to = po->rep;
	j->plugin_rep = (struct drover_reporter){ plugin_report, j };
	j->pump_rep = (struct drover_reporter){ pump_report, j };
	*copy = *po;
	copy->rep = &j->pump_rep;
	return copy;
}

static const struct drover_reporter *plugin_reporter(const struct job *j)
{
	return j->to ? &j->plugin_rep : NULL;
}

static void *export_thread(void *arg)
{
	struct job *j = arg;

	j->r = storage_export(j->env, j->volid, j->fmt, j->eo, j->fd, plugin_reporter(j), &j->err);
	close(j->fd);
	return NULL;
}

static void *import_thread(void *arg)
{
	struct job *j = arg;

	j->r = storage_import(j->env, j->volid, j->fmt, j->io, j->fd, j->imported,
			      sizeof(j->imported), plugin_reporter(j), &j->err);
	close(j->fd);
	return NULL;
}

static int start(struct job *j, void *(*fn)(void *), bool plugin_reads, struct drover_err *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return drover_fail(err, -errno, "pipe: %s", strerror(errno));
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
	j->fd = plugin_reads ? p[0] : p[1];
	j->other = plugin_reads ? p[1] : p[0];
	j->r = 0;
	j->err.text[0] = '\0';
	if (pthread_create(&j->thread, NULL, fn, j) != 0) {
		close(p[0]);
		close(p[1]);
		return drover_fail(err, -EAGAIN, "cannot start a thread");
	}
	j->running = true;
	return 0;
}

/* Stop reading from (or writing to) the plugin and wait for it: its result. */
static int join(struct job *j)
{
	if (j->other >= 0) {
		close(j->other);
		j->other = -1;
	}
	if (j->running) {
		pthread_join(j->thread, NULL);
		j->running = false;
	}
	return j->r;
}

static int finish_export(void *ctx)
{
	return join(ctx);
}

int stream_export(const struct storage_env *env, const char *volid, enum storage_format fmt,
		  const struct storage_export_opts *eo, int out, const struct pump_opts *po,
		  struct pump_stats *st, enum pump_side *sidep, struct drover_err *err)
{
	struct job j = { .env = env,
			 .volid = volid,
			 .fmt = fmt,
			 .eo = eo,
			 .other = -1,
			 .lock = PTHREAD_MUTEX_INITIALIZER };
	struct drover_err perr = { "" };
	enum pump_side side = PUMP_SENDER;
	struct pump_opts copy;
	int r;

	po = reporters(&j, po, &copy);
	r = start(&j, export_thread, false, err);

	if (sidep)
		*sidep = PUMP_SENDER;
	if (r < 0)
		return r;
	r = pump_send(j.other, out, po, finish_export, &j, st, &side, &perr);
	join(&j);
	if (sidep)
		*sidep = side;
	if (r == 0)
		return 0;
	/* the export's own failure names its step; a pump failure is the stream's */
	if (side == PUMP_SENDER || (j.r < 0 && side == PUMP_INPUT)) {
		if (sidep)
			*sidep = PUMP_SENDER;
		return drover_fail(err, j.r < 0 ? j.r : r, "%s", j.err.text);
	}
	return drover_fail(err, r, "%s", perr.text);
}

int stream_export_file(const struct storage_env *env, const char *volid, enum storage_format fmt,
		       const struct storage_export_opts *eo, const char *path,
		       const struct pump_opts *po, struct pump_stats *st, struct drover_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return drover_fail(err, -errno, "%s: %s", path,
				   errno == EEXIST ? "it exists: remove it first"
						   : strerror(errno));
	r = stream_export(env, volid, fmt, eo, fd, po, st, NULL, err);
	if (r == 0 && fsync(fd) < 0)
		r = drover_fail(err, -errno, "%s: %s", path, strerror(errno));
	close(fd);
	if (r < 0)
		unlink(path);
	return r;
}

int stream_import(const struct storage_env *env, const char *volid, enum storage_format fmt,
		  const struct storage_import_opts *io, int in, const struct pump_opts *po,
		  char *imported, size_t len, struct pump_stats *st, struct drover_err *err)
{
	struct job j = { .env = env,
			 .volid = volid,
			 .fmt = fmt,
			 .io = io,
			 .other = -1,
			 .lock = PTHREAD_MUTEX_INITIALIZER };
	struct drover_err perr = { "" };
	enum pump_side side;
	struct pump_opts copy;
	int r, ir, lock = -1;

	po = reporters(&j, po, &copy);
	/*
	 * Into the volume named (a renaming import makes a new one nobody
	 * waits for): recover must not take a replica over while it changes.
	 */
	if (!io->allow_rename) {
		pid_t holder;

		r = receive_lock_take(NULL, volid, &lock, &holder, err);
		if (r == -EBUSY)
			return drover_fail(err, r, "an import into %s is still running (pid %ld)",
					   volid, (long)holder);
		if (r < 0)
			return r;
	}
	r = start(&j, import_thread, true, err);
	if (r < 0) {
		receive_lock_release(lock);
		return r;
	}
	r = pump_recv(in, j.other, po, st, &side, &perr);
	ir = join(&j);
	receive_lock_release(lock);
	if (r == 0 && ir == 0) {
		snprintf(imported, len, "%s", j.imported);
		return 0;
	}
	if (r < 0 && ir == 0) {
		/* cannot happen while the pump holds back the last byte; never keep it anyway */
		struct drover_err ignore;

		if (!io->base)
			storage_free_volume(env, j.imported, &ignore);
		return drover_fail(err, r, "%s (the import was undone)", perr.text);
	}
	if (r < 0 && side != PUMP_OUTPUT)
		return drover_fail(err, r, "%s; nothing was imported", perr.text);
	return drover_fail(err, ir, "%s", j.err.text);
}
