/* SPDX-License-Identifier: MIT */
/*
 * Splitting a line into words as a POSIX shell would, without running
 * anything: blanks separate words, '...' is literal, "..." keeps blanks
 * and lets a backslash escape \ " $ and `, a backslash outside quotes
 * escapes the next character. No expansion of any kind ($, ~, globs).
 */
#pragma once

#include "strv.h"

/*
 * Append the words of line to out. Returns 0, -EINVAL for an unterminated
 * quote or a trailing backslash, or -ENOMEM. On error out keeps what it had.
 */
int shellwords_split(const char *line, struct strv *out);
