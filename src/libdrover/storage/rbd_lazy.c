/* SPDX-License-Identifier: MIT */
#define RBD_LAZY_NO_MACROS
#include "rbd_lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct rbd_lib rbd_lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result;
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
		 size_t len)
{
	void *rados = open_lib(rados_soname, why, len);
	void *rbd = rados ? open_lib(rbd_soname, why, len) : NULL;
	bool ok = rbd != NULL;

#define FIND_RADOS(f) ok = ok && find(rados, rados_soname, #f, (void **)&lib->f, why, len);
#define FIND_RBD(f) ok = ok && find(rbd, rbd_soname, #f, (void **)&lib->f, why, len);
	RADOS_LIB_FUNCS(FIND_RADOS)
	RBD_LIB_FUNCS(FIND_RBD)
#undef FIND_RADOS
#undef FIND_RBD
	return ok ? 0 : -ENOPKG;
}

static void load(void)
{
	char why[DROVER_ERR_MAX - 128];

	load_result = rbd_lib_open(RBD_LIB_RADOS, RBD_LIB_RBD, &rbd_lib, why, sizeof(why));
	if (load_result < 0)
		snprintf(load_error, sizeof(load_error),
			 "rbd storage needs librados and librbd (Debian packages librados2 and "
			 "librbd1): %s",
			 why);
}

int rbd_lib_load(struct drover_err *err)
{
	pthread_once(&load_once, load);
	if (load_result < 0)
		return drover_fail(err, load_result, "%s", load_error);
	return 0;
}
