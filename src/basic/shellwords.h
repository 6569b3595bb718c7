/* SPDX-License-Identifier: MIT */
/*
 * Splitting a line into words as a POSIX shell would, without running
 * anything: blanks separate words, '...' is literal, "..." keeps blanks
 * and lets a backslash escape \ " $ and `, a backslash outside quotes
 * escapes the next character. No expansion of any kind ($, ~, globs).
 */
#pragma once

#include "buf.h"
#include "strv.h"

/*
 * Append the words of line to out. Returns 0, -EINVAL for an unterminated
 * quote or a trailing backslash, or -ENOMEM. On error out keeps what it had.
 */
int shellwords_split(const char *line, struct strv *out);

/*
 * Append word to out quoted for a POSIX shell, so that shellwords_split()
 * and sh give back word itself: as it is when it holds only characters no
 * shell treats specially, else in '...' (a ' inside as '\''). Returns 0 or
 * -ENOMEM.
 */
int shellwords_quote(const char *word, struct buf *out);
