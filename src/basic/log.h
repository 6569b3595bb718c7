/* SPDX-License-Identifier: MIT */
/*
 * Logging. The target and the level are process-wide settings (like
 * systemd's log.c): a daemon sets them once from its options, and the
 * `.debug` file of droverfs toggles the debug level at run time.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

void log_setup(const char *ident, enum log_target target);
void log_set_debug(bool on);
bool log_debug_enabled(void);

void log_msg(int priority, const char *fmt, ...) PRINTF_FMT(2, 3);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_debug_enabled())                 \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
