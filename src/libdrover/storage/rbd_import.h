/* SPDX-License-Identifier: MIT */
/* Import of a stream into an rbd volume (rbd_import.c), the plugin's import operation. */
#pragma once

#include <stddef.h>

#include "plugin.h"

int rbd_import(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_import_opts *o, int fd, char *imported, size_t len,
	       const struct drover_reporter *rep, struct drover_err *err);
