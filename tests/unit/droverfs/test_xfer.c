/* SPDX-License-Identifier: MIT */
/*
 * State transfer between two states: a node that missed changes catches up
 * incrementally, a node that wrote alone is replaced, and the result is
 * exactly the leader's state (digest, entries, contents, guests).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "xfer_helpers.h"

struct pair {
	struct cfs_state leader;
	struct cfs_state follower;
};

static int setup(void **ctx)
{
	struct pair *p = calloc(1, sizeof(*p));

	init_state(&p->leader);
	init_state(&p->follower);
	*ctx = p;
	return 0;
}

static int teardown(void **ctx)
{
	struct pair *p = *ctx;

	cfs_state_destroy(&p->leader);
	cfs_state_destroy(&p->follower);
	free(p);
	return 0;
}

/* The common history: both nodes apply it. */
static void common(struct cfs_state *st)
{
	assert_int_equal(do_mkdir(st, "nodes"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n1"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n1/qemu-server"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n2"), 0);
	assert_int_equal(do_mkdir(st, "nodes/n2/qemu-server"), 0);
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/100.conf", "memory: 512\n"), 0);
	assert_int_equal(do_put(st, "a", "A"), 0);
	assert_int_equal(do_put(st, "b", "B"), 0);
	assert_int_equal(do_mkdir(st, "d"), 0);
	assert_int_equal(do_put(st, "d/keep", "K"), 0);
	assert_int_equal(do_put(st, "d/gone", "G"), 0);
	assert_int_equal(do_put(st, "storage.cfg", "dir: local\n"), 0);
}

/* What the leader did while the follower was away. */
static void later(struct cfs_state *st)
{
	assert_int_equal(do_rename(st, "a", "t"), 0); /* swap a and b */
	assert_int_equal(do_rename(st, "b", "a"), 0);
	assert_int_equal(do_rename(st, "t", "b"), 0);
	assert_int_equal(do_unlink(st, "d/gone"), 0);
	assert_int_equal(do_mkdir(st, "e"), 0);
	assert_int_equal(do_rename(st, "d", "e/d"), 0); /* a directory moves with its content */
	assert_int_equal(
		do_rename(st, "nodes/n1/qemu-server/100.conf", "nodes/n2/qemu-server/100.conf"), 0);
	assert_int_equal(do_put(st, "nodes/n1/qemu-server/101.conf", "memory: 1024\n"), 0);
	assert_int_equal(do_write(st, "storage.cfg", "dir: local\n\tpath /var/lib/vz\n"), 0);
	assert_int_equal(do_mkdir(st, "gonedir"), 0);
	assert_int_equal(do_put(st, "gonedir/x", "x"), 0);
	assert_int_equal(do_unlink(st, "gonedir/x"), 0);
	assert_int_equal(do_rmdir(st, "gonedir"), 0);
}

static void transfer(struct cfs_state *from, struct cfs_state *to, uint64_t since, bool full,
		     size_t max_msg, int expect)
{
	struct cfs_xfer_out out;
	struct cfs_xfer_in in = { 0 };
	char err[256];

	assert_int_equal(
		cfs_xfer_build(from, from->removed, from->nremoved, since, full, 7, max_msg, &out),
		0);
	xfer_deliver(&out, 7, &in);
	if (cfs_xfer_apply(to, &in, &out.end, err, sizeof(err)) != expect)
		fail_msg("apply: %s", err);
	cfs_xfer_in_free(&in);
	cfs_xfer_out_free(&out);
}

static void assert_equal_states(struct cfs_state *a, struct cfs_state *b)
{
	assert_int_equal(a->tree.version, b->tree.version);
	assert_int_equal(a->tree.nentries, b->tree.nentries);
	assert_int_equal(a->tree.nbytes, b->tree.nbytes);
	assert_true(a->tree.digest.sum == b->tree.digest.sum);
	assert_true(a->tree.digest.xor == b->tree.digest.xor);
	assert_string_equal(content(b, "b"), "A");
	assert_string_equal(content(b, "a"), "B");
	assert_string_equal(content(b, "e/d/keep"), "K");
	assert_string_equal(content(b, "storage.cfg"), "dir: local\n\tpath /var/lib/vz\n");
	assert_null(at(b, "d"));
	assert_null(at(b, "gonedir"));
	assert_string_equal(cfs_vmlist_get(&b->vmlist, 100)->nodename, "n2");
	assert_non_null(cfs_vmlist_get(&b->vmlist, 101));
}

static void test_incremental(void **ctx)
{
	struct pair *p = *ctx;
	uint64_t since;

	common(&p->leader);
	common(&p->follower);
	since = p->follower.tree.version;
	assert_true(p->leader.tree.digest.sum == p->follower.tree.digest.sum);
	later(&p->leader);
	p->follower.record_changes = true;
	transfer(&p->leader, &p->follower, since, false, 1 << 20, 0);
	assert_equal_states(&p->leader, &p->follower);
	/* the follower's database learns of every removal, even of what it never had */
	assert_int_equal(p->follower.nremoved, 3);
	/* watchers hear of the changes */
	assert_true(p->follower.nchanges > 5);
	assert_int_equal(p->follower.changes[0].kind, CFS_CHANGE_SYNC);
}

static void test_incremental_many_small_messages(void **ctx)
{
	struct pair *p = *ctx;
	uint64_t since;
	char name[32];

	common(&p->leader);
	common(&p->follower);
	since = p->follower.tree.version;
	later(&p->leader);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "many%03d", i);
		assert_int_equal(do_put(&p->leader, name, "0123456789"), 0);
	}
	transfer(&p->leader, &p->follower, since, false, 512, 0);
	assert_equal_states(&p->leader, &p->follower);
	assert_string_equal(content(&p->follower, "many199"), "0123456789");
}

static void test_full_replaces_a_diverged_node(void **ctx)
{
	struct pair *p = *ctx;

	common(&p->leader);
	common(&p->follower);
	later(&p->leader);
	/* the follower wrote alone meanwhile: its changes must go */
	assert_int_equal(do_put(&p->follower, "mine", "local change"), 0);
	assert_int_equal(do_unlink(&p->follower, "a"), 0);
	assert_int_equal(do_rename(&p->follower, "d", "moved-alone"), 0);
	assert_int_equal(do_put(&p->follower, "moved-alone/extra", "x"), 0);
	transfer(&p->leader, &p->follower, 0, true, 4096, 0);
	assert_equal_states(&p->leader, &p->follower);
	assert_null(at(&p->follower, "mine"));
	assert_null(at(&p->follower, "moved-alone"));
}

static void test_full_into_an_empty_node(void **ctx)
{
	struct pair *p = *ctx;

	common(&p->leader);
	later(&p->leader);
	transfer(&p->leader, &p->follower, 0, true, 1 << 20, 0);
	assert_equal_states(&p->leader, &p->follower);
}

static void test_wrong_base_is_refused(void **ctx)
{
	struct pair *p = *ctx;
	uint64_t since;

	common(&p->leader);
	common(&p->follower);
	since = p->follower.tree.version;
	later(&p->leader);
	/* an incremental update onto a node that is not at `since`'s history */
	assert_int_equal(do_put(&p->follower, "surprise", "!"), 0);
	transfer(&p->leader, &p->follower, since, false, 1 << 20, -EUCLEAN);
}

static void test_malformed_stream(void **ctx)
{
	struct pair *p = *ctx;
	struct cfs_xfer_out out;
	struct cfs_xfer_in in = { 0 };
	struct cmsg_header h;
	const void *payload;
	size_t plen;
	char err[256];

	common(&p->leader);
	assert_int_equal(cfs_xfer_build(&p->leader, NULL, 0, 0, true, 1, 1 << 20, &out), 0);
	assert_int_equal(cmsg_parse_header(out.msgs[0].data, out.msgs[0].len, &h, &payload, &plen),
			 0);
	/* cut off: a missing piece is noticed */
	assert_int_equal(cfs_xfer_in_add(&in, payload, plen - 3), 0);
	assert_int_equal(cfs_xfer_apply(&p->follower, &in, &out.end, err, sizeof(err)), -EBADMSG);
	assert_true(strlen(err) > 0);
	cfs_xfer_in_free(&in);
	/* a whole message missing: the counts do not add up */
	out.end.entries_sent += 1;
	assert_int_equal(cfs_xfer_in_add(&in, payload, plen), 0);
	cfs_state_destroy(&p->follower);
	init_state(&p->follower);
	assert_int_equal(cfs_xfer_apply(&p->follower, &in, &out.end, err, sizeof(err)), -EBADMSG);
	cfs_xfer_in_free(&in);
	cfs_xfer_out_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_many_small_messages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_replaces_a_diverged_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_into_an_empty_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_base_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_stream, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
