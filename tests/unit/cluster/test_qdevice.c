/* SPDX-License-Identifier: MIT */
/*
 * The QDevice's part of corosync.conf (cluster/conf): the algorithm for a
 * node count, adding and removing quorum { device { ... } }, the
 * refusals, and config_version raised around them as the commands do;
 * and the bundle in which one node hands the certificates to another
 * (cluster/qdevice).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libdrover/cluster/conf.h"
#include "libdrover/cluster/qdevice.h"
#include "basic/buf.h"
#include "libdrover/format/corosync_conf.h"

#include "corosync_helpers.h"

/* A cluster of n nodes as create and add write it (node K at 10.0.0.K; config_version n). */
static struct cc_node *cluster_of(unsigned n)
{
	struct drover_err err = { "" };
	struct cc_node *root = NULL;

	for (unsigned k = 1; k <= n; k++) {
		struct cluster_node_spec s;
		char addr[32];

		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "node%u", k);
		s.votes = 1;
		snprintf(addr, sizeof(addr), "10.0.0.%u", k);
		assert_int_equal(cluster_link_parse(addr, 0, &s, &err), 0);
		if (!root) {
			s.nodeid = 1;
			root = cluster_conf_new("prod", &s);
			assert_non_null(root);
		} else {
			assert_int_equal(cluster_conf_add_node(root, &s, false, &err), 0);
			assert_int_equal(cluster_conf_bump_version(root), k); /* as _addnode does */
		}
	}
	return root;
}

static char *text_of(const struct cc_node *root)
{
	struct buf out = BUF_INIT;

	assert_int_equal(cc_write(root, &out), 0);
	assert_int_equal(buf_terminate(&out), 0);
	return (char *)out.data; /* the caller frees it */
}

static const char *device_key(const struct cc_node *root, const char *key)
{
	return cc_get(cc_child(root, "quorum"), "device", key);
}

static const char *net_key(const struct cc_node *root, const char *key)
{
	return cc_get(cc_child(cc_child(root, "quorum"), "device"), "net", key);
}

/* ---- the algorithm ------------------------------------------------------------ */

static void test_algorithm_even_is_ffsplit(void **state)
{
	struct drover_err err = { "" };
	const char *algo = NULL;

	for (unsigned n = 2; n <= 16; n += 2) {
		assert_int_equal(cluster_qdevice_algorithm(n, false, &algo, &err), 0);
		assert_string_equal(algo, "ffsplit");
		/* --force changes nothing for an even count */
		assert_int_equal(cluster_qdevice_algorithm(n, true, &algo, &err), 0);
		assert_string_equal(algo, "ffsplit");
	}
}

static void test_algorithm_odd_needs_force(void **state)
{
	struct drover_err err = { "" };
	const char *algo = NULL;

	for (unsigned n = 1; n <= 15; n += 2) {
		algo = NULL;
		assert_int_equal(cluster_qdevice_algorithm(n, false, &algo, &err), -EINVAL);
		assert_null(algo);
		assert_non_null(strstr(err.text, "odd number of nodes"));
		assert_non_null(strstr(err.text, "--force"));
		assert_int_equal(cluster_qdevice_algorithm(n, true, &algo, &err), 0);
		assert_string_equal(algo, "lms");
	}
	assert_int_equal(cluster_qdevice_algorithm(0, true, &algo, &err), -EINVAL);
}

/* ---- adding -------------------------------------------------------------------- */

static void test_add_two_nodes(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2), *again;
	const char *algo = NULL;
	char *text;

	assert_null(cluster_conf_qdevice_host(root));
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), 0);
	assert_string_equal(algo, "ffsplit");
	assert_int_equal(cluster_conf_bump_version(root), 3);
	text = text_of(root);
	/* the layout corosync reads, under the provider that was there */
	assert_non_null(strstr(text, "quorum {\n"
				     "    provider: corosync_votequorum\n"
				     "    device {\n"
				     "        model: net\n"
				     "        votes: 1\n"
				     "        net {\n"
				     "            tls: on\n"
				     "            host: 192.0.2.50\n"
				     "            algorithm: ffsplit\n"
				     "        }\n"
				     "    }\n"
				     "}\n"));
	again = parse_text(text);
	assert_string_equal(cluster_conf_qdevice_host(again), "192.0.2.50");
	assert_string_equal(cc_get(again, "totem", "config_version"), "3");
	assert_int_equal(cluster_conf_verify(again, &err), 0);
	free(text);
	cc_free(again);
	cc_free(root);
}

static void test_add_twice_is_refused(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2);
	const char *algo = NULL;
	char *before, *after;

	assert_int_equal(cluster_conf_add_qdevice(root, "qnetd.example.org", false, &algo, &err),
			 0);
	before = text_of(root);
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.51", false, &algo, &err), -EEXIST);
	assert_non_null(strstr(err.text, "configured already"));
	assert_non_null(strstr(err.text, "qnetd.example.org"));
	assert_non_null(strstr(err.text, "qdevice remove"));
	after = text_of(root);
	assert_string_equal(before, after);
	free(before);
	free(after);
	cc_free(root);
}

static void test_add_odd_count(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(3);
	const char *algo = NULL;
	char *before = text_of(root), *after;

	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), -EINVAL);
	assert_non_null(strstr(err.text, "odd number of nodes (3)"));
	after = text_of(root);
	assert_string_equal(before, after); /* a refusal changes nothing */
	free(after);
	/* --force: lms, and no votes key (corosync gives the device nodes - 1 votes) */
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", true, &algo, &err), 0);
	assert_string_equal(algo, "lms");
	assert_string_equal(net_key(root, "algorithm"), "lms");
	assert_string_equal(device_key(root, "model"), "net");
	assert_null(device_key(root, "votes"));
	free(before);
	cc_free(root);
}

static void test_add_refuses_bad_hosts(void **state)
{
	static const char *const bad[] = { "",	    "-oProxyCommand=x", "a b", "host;rm", ".lead",
					   "x$(id)" };
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2);
	const char *algo = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(cluster_qnetd_host_valid(bad[i]));
		assert_int_equal(cluster_conf_add_qdevice(root, bad[i], false, &algo, &err),
				 -EINVAL);
		assert_null(cluster_conf_qdevice_host(root));
	}
	assert_true(cluster_qnetd_host_valid("2001:db8::5"));
	assert_true(cluster_qnetd_host_valid("qnetd-1.example.org"));
	assert_int_equal(cluster_conf_add_qdevice(root, "2001:db8::5", false, &algo, &err), 0);
	assert_string_equal(cluster_conf_qdevice_host(root), "2001:db8::5");
	cc_free(root);
}

static void test_add_refuses_exclusive_quorum_options(void **state)
{
	static const char *const keys[] = { "two_node", "last_man_standing", "auto_tie_breaker" };
	struct drover_err err = { "" };
	const char *algo = NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct cc_node *root = cluster_of(2);
		struct cc_node *quorum = cc_child(root, "quorum");

		assert_non_null(cc_set(quorum, keys[i], "0"));
		assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err),
				 0);
		assert_int_equal(cluster_conf_remove_qdevice(root, NULL, 0), 0);
		assert_non_null(cc_set(quorum, keys[i], "1"));
		assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err),
				 -EINVAL);
		assert_non_null(strstr(err.text, keys[i]));
		assert_null(cluster_conf_qdevice_host(root));
		cc_free(root);
	}
}

static void test_add_ffsplit_needs_one_vote_per_node(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2);
	const char *algo = NULL;

	assert_non_null(cc_set(cluster_conf_node(root, "node2"), "quorum_votes", "2"));
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), -EINVAL);
	assert_non_null(strstr(err.text, "node2 has 2 votes"));
	assert_null(cluster_conf_qdevice_host(root));
	cc_free(root);
}

static void test_add_needs_votequorum(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2);
	const char *algo = NULL;

	cc_remove(root, cc_child(root, "quorum"));
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), -EINVAL);
	assert_non_null(strstr(err.text, "no quorum section"));
	assert_non_null(cc_set(cc_add(root, "quorum", NULL), "provider", "other"));
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), -EINVAL);
	assert_non_null(strstr(err.text, "corosync_votequorum"));
	cc_free(root);
}

/* ---- removing ------------------------------------------------------------------ */

static void test_remove_restores_plain_votequorum(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2);
	const char *algo = NULL;
	char host[CLUSTER_QDEVICE_HOST_MAX] = "";
	char *before = text_of(root), *after;

	assert_int_equal(cluster_conf_remove_qdevice(root, host, sizeof(host)), -ENOENT);
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), 0);
	assert_int_equal(cluster_conf_bump_version(root), 3);
	assert_int_equal(cluster_conf_remove_qdevice(root, host, sizeof(host)), 0);
	assert_string_equal(host, "192.0.2.50");
	assert_int_equal(cluster_conf_bump_version(root), 4);
	assert_null(cluster_conf_qdevice_host(root));
	assert_string_equal(cc_get(root, "quorum", "provider"), "corosync_votequorum");
	/* the same file as before but for the version */
	after = text_of(root);
	assert_non_null(strstr(before, "config_version: 2\n"));
	*strstr(before, "config_version: 2\n") = '\0';
	assert_int_equal(strncmp(before, after, strlen(before)), 0);
	assert_non_null(strstr(after, "config_version: 4\n"));
	assert_int_equal(cluster_conf_remove_qdevice(root, host, sizeof(host)), -ENOENT);
	free(before);
	free(after);
	cc_free(root);
}

static void test_remove_a_hand_written_device(void **state)
{
	struct cc_node *root = parse_text("totem {\n"
					  "    config_version: 7\n"
					  "}\n"
					  "quorum {\n"
					  "    provider: corosync_votequorum\n"
					  "    device {\n"
					  "        model: net\n"
					  "    }\n"
					  "}\n");
	char host[CLUSTER_QDEVICE_HOST_MAX] = "x";

	/* a device without a net section still counts: setup must refuse, remove must work */
	assert_string_equal(cluster_conf_qdevice_host(root), "");
	assert_int_equal(cluster_conf_remove_qdevice(root, host, sizeof(host)), 0);
	assert_string_equal(host, "");
	assert_null(cluster_conf_qdevice_host(root));
	assert_int_equal(cluster_conf_bump_version(root), 8);
	cc_free(root);
}

/* ---- no node is added or deleted while a QDevice is configured ------------------ */

static void test_node_changes_need_no_qdevice(void **state)
{
	struct drover_err err = { "" };
	struct cc_node *root = cluster_of(2), *hand;
	const char *algo = NULL;

	/* plain votequorum: allowed, err untouched */
	assert_int_equal(cluster_conf_check_no_qdevice(root, "cannot delete node node2", &err), 0);
	assert_string_equal(err.text, "");
	assert_int_equal(cluster_conf_add_qdevice(root, "192.0.2.50", false, &algo, &err), 0);
	/* with a device: refused, and the message says what to run */
	assert_int_equal(cluster_conf_check_no_qdevice(root, "cannot delete node node2", &err),
			 -EBUSY);
	assert_non_null(strstr(err.text, "cannot delete node node2: "));
	assert_non_null(strstr(err.text, "QNetd host 192.0.2.50"));
	assert_non_null(strstr(err.text, "'drover cluster qdevice remove'"));
	assert_non_null(strstr(err.text, "'drover cluster qdevice setup 192.0.2.50'"));
	assert_int_equal(cluster_conf_check_no_qdevice(root, "cannot add node node3", NULL),
			 -EBUSY);
	/* removed: allowed again */
	assert_int_equal(cluster_conf_remove_qdevice(root, NULL, 0), 0);
	assert_int_equal(cluster_conf_check_no_qdevice(root, "cannot add node node3", &err), 0);
	cc_free(root);

	/* a hand-written device without a host counts too */
	hand = parse_text("quorum {\n"
			  "    provider: corosync_votequorum\n"
			  "    device {\n"
			  "        model: net\n"
			  "    }\n"
			  "}\n");
	assert_int_equal(cluster_conf_check_no_qdevice(hand, "cannot add node node3", &err),
			 -EBUSY);
	assert_non_null(strstr(err.text, "QNetd host unknown"));
	assert_non_null(strstr(err.text, "'drover cluster qdevice setup ADDR'"));
	cc_free(hand);
}

/* ---- the bundle another node imports -------------------------------------------- */

static void test_bundle_round_trip(void **state)
{
	struct drover_err err = { "" };
	struct buf ca = BUF_INIT, p12 = BUF_INIT, text = BUF_INIT, ca2 = BUF_INIT, p122 = BUF_INIT;
	unsigned char bin[300];

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7); /* a pk12 is binary, NULs and all */
	assert_int_equal(
		buf_printf(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
		0);
	assert_int_equal(buf_append(&p12, bin, sizeof(bin)), 0);
	assert_int_equal(qdevice_bundle_write(&ca, &p12, &text), 0);
	assert_int_equal(qdevice_bundle_parse((char *)text.data, text.len, &ca2, &p122, &err), 0);
	assert_int_equal(ca2.len, ca.len);
	assert_memory_equal(ca2.data, ca.data, ca.len);
	assert_int_equal(p122.len, sizeof(bin));
	assert_memory_equal(p122.data, bin, sizeof(bin));
	buf_free(&ca);
	buf_free(&p12);
	buf_free(&text);
	buf_free(&ca2);
	buf_free(&p122);
}

static void test_bundle_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"drover-qdevice 2\nca=QUJD\np12=QUJD\n", /* another version */
		"drover-qdevice 1\nca=QUJD\n", /* no pk12 */
		"drover-qdevice 1\np12=QUJD\n", /* no CA */
		"drover-qdevice 1\nca=Q!JD\np12=QUJD\n", /* not base64 */
		"drover-qdevice 1\nca=\np12=QUJD\n", /* empty */
	};
	struct drover_err err = { "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf ca = BUF_INIT, p12 = BUF_INIT;

		assert_true(qdevice_bundle_parse(bad[i], strlen(bad[i]), &ca, &p12, &err) < 0);
		assert_true(err.text[0] != '\0');
		buf_free(&ca);
		buf_free(&p12);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_algorithm_even_is_ffsplit),
		cmocka_unit_test(test_algorithm_odd_needs_force),
		cmocka_unit_test(test_add_two_nodes),
		cmocka_unit_test(test_add_twice_is_refused),
		cmocka_unit_test(test_add_odd_count),
		cmocka_unit_test(test_add_refuses_bad_hosts),
		cmocka_unit_test(test_add_refuses_exclusive_quorum_options),
		cmocka_unit_test(test_add_ffsplit_needs_one_vote_per_node),
		cmocka_unit_test(test_add_needs_votequorum),
		cmocka_unit_test(test_remove_restores_plain_votequorum),
		cmocka_unit_test(test_remove_a_hand_written_device),
		cmocka_unit_test(test_node_changes_need_no_qdevice),
		cmocka_unit_test(test_bundle_round_trip),
		cmocka_unit_test(test_bundle_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
