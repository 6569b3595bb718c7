/* SPDX-License-Identifier: MIT */
/* Shared helper for the unit tests of state transfer: deliver a built transfer. */
#pragma once

#include "helpers.h"

#include "droverfs/replica/xfer.h"

/*
 * Hand every message of a built transfer to the receiving side, as the
 * replica does: each must be an update of the epoch it was built for.
 */
static inline void xfer_deliver(const struct cfs_xfer_out *out, uint64_t epoch,
				struct cfs_xfer_in *in)
{
	struct cmsg_header h;
	const void *payload;
	size_t plen;

	for (size_t i = 0; i < out->nmsgs; i++) {
		assert_int_equal(
			cmsg_parse_header(out->msgs[i].data, out->msgs[i].len, &h, &payload, &plen),
			0);
		assert_int_equal(h.type, CMSG_UPDATE);
		assert_int_equal(h.epoch, epoch);
		assert_int_equal(cfs_xfer_in_add(in, payload, plen), 0);
	}
}
