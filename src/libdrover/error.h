/* SPDX-License-Identifier: MIT */
/*
 * How libdrover reports failure: a function returns a negative errno and,
 * when the caller passed a struct drover_err, a sentence for the user that
 * says what went wrong and where ("storage.cfg:12: unknown key 'pth'",
 * "export of local-btrfs:100/vm-100-disk-0.raw: btrfs send exited with 1").
 * The text never ends with a newline; front ends print it as they like.
 */
#pragma once

#define DROVER_ERR_MAX 512

struct drover_err {
	char text[DROVER_ERR_MAX];
};

/*
 * Describe what went wrong in err (printf-like; err may be NULL) and return
 * r, for `return drover_fail(err, -EINVAL, "...")`.
 */
int drover_fail(struct drover_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Put "what: " in front of the text already in err (err may be NULL) and
 * return r: for adding the step to an error from a lower layer.
 */
int drover_fail_prefix(struct drover_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Add text after the text already in err (err may be NULL) and return r:
 * for what the user can do about an error from a lower layer.
 */
int drover_fail_append(struct drover_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A program that failed: "WHAT: OUTPUT" with what it printed (its last
 * newline cut), or "WHAT: strerror" when it could not run (status < 0).
 * Returns status as -errno: itself when negative, else -EIO.
 */
int drover_fail_run(struct drover_err *err, int status, const char *output, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
