/* SPDX-License-Identifier: MIT */
#define RBD_LAZY_NO_MACROS
#include "rbd_lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct rbd_lib rbd_lib;

/*
 * The loaded state, under load_lock: 0 loaded, 1 not yet, or a failure
 * that lasts (load_error says it). Not pthread_once: a failure of dlopen
 * itself must not last for the rest of a long-running droverd. The library
 * may be installed after it started (the error asks for just that), and
 * dlopen fails for want of a file descriptor (EMFILE in a busy daemon) or
 * of memory as well; the next storage open tries again. Once both
 * libraries are mapped, a missing function is missing until the process
 * restarts (dlopen of the soname hands back the copy already mapped), so
 * only that failure is remembered.
 */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int load_state = 1;
static char load_error[DROVER_ERR_MAX];

static void *open_lib(const char *soname, char *why, size_t len)
{
	/* RTLD_GLOBAL: librbd's own calls into librados resolve against the same copy */
	void *h = dlopen(soname, RTLD_NOW | RTLD_GLOBAL);

	if (!h)
		snprintf(why, len, "%s", dlerror());
	return h;
}

static bool find(void *h, const char *soname, const char *name, void **slot, char *why, size_t len)
{
	*slot = dlsym(h, name);
	if (!*slot)
		snprintf(why, len, "%s has no %s", soname, name);
	return *slot != NULL;
}

int rbd_lib_open(const char *rados_soname, const char *rbd_soname, struct rbd_lib *lib, char *why,
		 size_t len, bool *lasting)
{
	/* a librados opened when librbd is not stays mapped: a retry's dlopen finds it */
	void *rados = open_lib(rados_soname, why, len);
	void *rbd = rados ? open_lib(rbd_soname, why, len) : NULL;
	bool ok = rbd != NULL;

	*lasting = ok;
#define FIND_RADOS(f) ok = ok && find(rados, rados_soname, #f, (void **)&lib->f, why, len);
#define FIND_RBD(f) ok = ok && find(rbd, rbd_soname, #f, (void **)&lib->f, why, len);
	RADOS_LIB_FUNCS(FIND_RADOS)
	RBD_LIB_FUNCS(FIND_RBD)
#undef FIND_RADOS
#undef FIND_RBD
	return ok ? 0 : -ENOPKG;
}

int rbd_lib_load_from(const char *rados_soname, const char *rbd_soname, struct drover_err *err)
{
	char why[DROVER_ERR_MAX - 128], text[DROVER_ERR_MAX];
	bool lasting;
	int r;

	pthread_mutex_lock(&load_lock);
	r = load_state;
	if (r > 0) {
		r = rbd_lib_open(rados_soname, rbd_soname, &rbd_lib, why, sizeof(why), &lasting);
		if (r == 0 || lasting)
			load_state = r;
		if (r < 0)
			snprintf(load_error, sizeof(load_error),
				 "rbd storage needs librados and librbd (Debian packages librados2 "
				 "and librbd1): %s",
				 why);
	}
	if (r < 0)
		snprintf(text, sizeof(text), "%s", load_error);
	pthread_mutex_unlock(&load_lock);
	if (r < 0)
		return drover_fail(err, r, "%s", text);
	return 0;
}

int rbd_lib_load(struct drover_err *err)
{
	return rbd_lib_load_from(RBD_LIB_RADOS, RBD_LIB_RBD, err);
}
