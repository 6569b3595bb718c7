/* SPDX-License-Identifier: MIT */
/*
 * What /proc tells about other processes: the process a thread belongs to,
 * and whether a process holds a file open for writing.
 *
 * Used by a FUSE daemon, which is told which thread made a request but
 * nothing about that thread's descriptors. Never touches the files
 * themselves: a daemon asking its own file system would wait for itself.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The process (thread group) of thread tid; tid itself when /proc cannot say. */
pid_t proc_tgid(pid_t tid);

/*
 * Does process pid have a descriptor open for writing on the file
 * (dev, ino)? 1 or 0; -errno when its descriptors cannot be listed (it
 * is gone, or is exiting and has none left).
 */
int proc_holds_for_writing(pid_t pid, dev_t dev, uint64_t ino);
