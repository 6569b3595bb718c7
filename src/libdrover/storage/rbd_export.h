/* SPDX-License-Identifier: MIT */
/* Export of an rbd volume as a stream (rbd_export.c), the plugin's export operation. */
#pragma once

#include "plugin.h"

int rbd_export(struct storage *s, const char *volname, enum storage_format fmt,
	       const struct storage_export_opts *o, int fd, const struct drover_reporter *rep,
	       struct drover_err *err);
