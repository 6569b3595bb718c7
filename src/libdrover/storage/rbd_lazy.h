/* SPDX-License-Identifier: MIT */
/*
 * librados and librbd, loaded when an rbd storage is first opened rather
 * than by the dynamic linker at every start: linked in, they (and
 * libceph-common with its C++ static constructors) cost every drover and
 * droverd process tens of milliseconds before main(), rbd storage or not.
 *
 * rbd_lib holds one pointer per library function the rbd plugin calls,
 * typed from the library's own headers; rbd_lib_load() fills it with
 * dlsym. The plugin's files call the functions by their usual names: the
 * macros below (not in rbd_lazy.c) turn each into a call through the
 * table. Add a function to RBD_LIB_FUNCS and to the macros together.
 */
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <stddef.h>

#include "libdrover/error.h"

/* The libraries' sonames, as Debian's librados2 and librbd1 install them. */
#define RBD_LIB_RADOS "librados.so.2"
#define RBD_LIB_RBD "librbd.so.1"

#define RADOS_LIB_FUNCS(X)      \
	X(rados_buffer_free)    \
	X(rados_cluster_fsid)   \
	X(rados_conf_read_file) \
	X(rados_conf_set)       \
	X(rados_connect)        \
	X(rados_create2)        \
	X(rados_ioctx_create)   \
	X(rados_ioctx_destroy)  \
	X(rados_ioctx_get_id)   \
	X(rados_mon_command)    \
	X(rados_shutdown)

#define RBD_LIB_FUNCS(X)                   \
	X(rbd_aio_create_completion)       \
	X(rbd_aio_get_return_value)        \
	X(rbd_aio_read2)                   \
	X(rbd_aio_release)                 \
	X(rbd_aio_wait_for_complete)       \
	X(rbd_aio_write2)                  \
	X(rbd_aio_write_zeroes)            \
	X(rbd_close)                       \
	X(rbd_create4)                     \
	X(rbd_diff_iterate2)               \
	X(rbd_flush)                       \
	X(rbd_get_size)                    \
	X(rbd_image_options_create)        \
	X(rbd_image_options_destroy)       \
	X(rbd_image_spec_list_cleanup)     \
	X(rbd_list2)                       \
	X(rbd_metadata_get)                \
	X(rbd_metadata_remove)             \
	X(rbd_metadata_set)                \
	X(rbd_open)                        \
	X(rbd_open_read_only)              \
	X(rbd_remove)                      \
	X(rbd_rename)                      \
	X(rbd_resize2)                     \
	X(rbd_snap_create)                 \
	X(rbd_snap_exists)                 \
	X(rbd_snap_get_id)                 \
	X(rbd_snap_get_timestamp)          \
	X(rbd_snap_is_protected)           \
	X(rbd_snap_list)                   \
	X(rbd_snap_list_end)               \
	X(rbd_snap_remove)                 \
	X(rbd_snap_rollback_with_progress) \
	X(rbd_snap_unprotect)              \
	X(rbd_watchers_list)               \
	X(rbd_watchers_list_cleanup)

#define RBD_LIB_MEMBER(f) __typeof__(f) *f;
struct rbd_lib {
	RADOS_LIB_FUNCS(RBD_LIB_MEMBER)
	RBD_LIB_FUNCS(RBD_LIB_MEMBER)
};
#undef RBD_LIB_MEMBER

extern struct rbd_lib rbd_lib;

/*
 * Load both libraries and fill rbd_lib, once per process (later calls
 * return what the first did). Returns 0, or -ENOPKG with err naming the
 * library or symbol that is missing and the Debian package to install.
 * Thread-safe.
 */
int rbd_lib_load(struct drover_err *err);

/*
 * Open rados_soname and rbd_soname and fill lib from them (what
 * rbd_lib_load() does with the real names). Returns 0, or -ENOPKG with
 * why saying which library or symbol is missing (dlerror's words).
 */
int rbd_lib_open(const char *rados_soname, const char *rbd_soname, struct rbd_lib *lib, char *why,
		 size_t len);

#ifndef RBD_LAZY_NO_MACROS
#define rados_buffer_free (rbd_lib.rados_buffer_free)
#define rados_cluster_fsid (rbd_lib.rados_cluster_fsid)
#define rados_conf_read_file (rbd_lib.rados_conf_read_file)
#define rados_conf_set (rbd_lib.rados_conf_set)
#define rados_connect (rbd_lib.rados_connect)
#define rados_create2 (rbd_lib.rados_create2)
#define rados_ioctx_create (rbd_lib.rados_ioctx_create)
#define rados_ioctx_destroy (rbd_lib.rados_ioctx_destroy)
#define rados_ioctx_get_id (rbd_lib.rados_ioctx_get_id)
#define rados_mon_command (rbd_lib.rados_mon_command)
#define rados_shutdown (rbd_lib.rados_shutdown)
#define rbd_aio_create_completion (rbd_lib.rbd_aio_create_completion)
#define rbd_aio_get_return_value (rbd_lib.rbd_aio_get_return_value)
#define rbd_aio_read2 (rbd_lib.rbd_aio_read2)
#define rbd_aio_release (rbd_lib.rbd_aio_release)
#define rbd_aio_wait_for_complete (rbd_lib.rbd_aio_wait_for_complete)
#define rbd_aio_write2 (rbd_lib.rbd_aio_write2)
#define rbd_aio_write_zeroes (rbd_lib.rbd_aio_write_zeroes)
#define rbd_close (rbd_lib.rbd_close)
#define rbd_create4 (rbd_lib.rbd_create4)
#define rbd_diff_iterate2 (rbd_lib.rbd_diff_iterate2)
#define rbd_flush (rbd_lib.rbd_flush)
#define rbd_get_size (rbd_lib.rbd_get_size)
#define rbd_image_options_create (rbd_lib.rbd_image_options_create)
#define rbd_image_options_destroy (rbd_lib.rbd_image_options_destroy)
#define rbd_image_spec_list_cleanup (rbd_lib.rbd_image_spec_list_cleanup)
#define rbd_list2 (rbd_lib.rbd_list2)
#define rbd_metadata_get (rbd_lib.rbd_metadata_get)
#define rbd_metadata_remove (rbd_lib.rbd_metadata_remove)
#define rbd_metadata_set (rbd_lib.rbd_metadata_set)
#define rbd_open (rbd_lib.rbd_open)
#define rbd_open_read_only (rbd_lib.rbd_open_read_only)
#define rbd_remove (rbd_lib.rbd_remove)
#define rbd_rename (rbd_lib.rbd_rename)
#define rbd_resize2 (rbd_lib.rbd_resize2)
#define rbd_snap_create (rbd_lib.rbd_snap_create)
#define rbd_snap_exists (rbd_lib.rbd_snap_exists)
#define rbd_snap_get_id (rbd_lib.rbd_snap_get_id)
#define rbd_snap_get_timestamp (rbd_lib.rbd_snap_get_timestamp)
#define rbd_snap_is_protected (rbd_lib.rbd_snap_is_protected)
#define rbd_snap_list (rbd_lib.rbd_snap_list)
#define rbd_snap_list_end (rbd_lib.rbd_snap_list_end)
#define rbd_snap_remove (rbd_lib.rbd_snap_remove)
#define rbd_snap_rollback_with_progress (rbd_lib.rbd_snap_rollback_with_progress)
#define rbd_snap_unprotect (rbd_lib.rbd_snap_unprotect)
#define rbd_watchers_list (rbd_lib.rbd_watchers_list)
#define rbd_watchers_list_cleanup (rbd_lib.rbd_watchers_list_cleanup)
#endif
