/* SPDX-License-Identifier: MIT */
/* Connecting to a UNIX stream socket by path. */
#pragma once

/* A connected, blocking, close-on-exec socket to path: its fd, or -errno (-ENAMETOOLONG). */
int unix_connect(const char *path);
