/* SPDX-License-Identifier: MIT */
/*
 * Checks for the small values inside guest configs: indexes of numbered
 * keys, enumerations, numbers with ranges, names (DNS, interfaces), MAC
 * and IP addresses, UUIDs. Each check says what is wrong in err (without
 * a file position: the caller adds it) and returns 0 or -EINVAL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libdrover/error.h"

/* The N of a numbered key ("12" of "scsi12"): decimal, no leading zero, below count. */
int guest_index_parse(const char *s, unsigned count, unsigned *index);

/* v must be one of allowed (NULL-terminated); copied to dst. */
int guest_enum_copy(const char *what, const char *v, const char *const *allowed, char *dst,
		    size_t len, struct drover_err *err);

/* v is one of allowed (NULL-terminated). */
int guest_enum_check(const char *what, const char *v, const char *const *allowed,
		     struct drover_err *err);

/* v is a ';'-separated list of words from allowed, each at most once; copied to dst. */
int guest_list_check(const char *what, const char *v, const char *const *allowed, char *dst,
		     size_t len, struct drover_err *err);

/* Every character of s is a letter, a digit or in extra; s is not empty. */
bool guest_chars_ok(const char *s, const char *extra);

/* A decimal integer in [min, max]. */
int guest_uint_parse(const char *what, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		     struct drover_err *err);

/* A decimal number with an optional fraction ("0.5") in [min, max]. */
int guest_number_parse(const char *what, const char *v, double min, double max, double *out,
		       struct drover_err *err);

/* A DNS name: dot-separated labels of letters, digits and inner '-', at most 253 in all. */
bool guest_dns_name_valid(const char *s);

/* A network interface name: 1-15 of [A-Za-z0-9_.-], not "." or "..". */
bool guest_ifname_valid(const char *s);

/* "XX:XX:XX:XX:XX:XX", a unicast address. */
int guest_mac_parse(const char *s, uint8_t mac[6]);
/*
 * The MAC of a new NIC, VM or container alike: Proxmox's prefix
 * BC:24:11 (its registered OUI) and three random bytes. 0 or -errno.
 */
#define GUEST_MAC_PREFIX "BC:24:11"
int guest_mac_random(char out[18]);

/* An address of family AF_INET or AF_INET6 (0: either). */
bool guest_ip_valid(const char *s, int family);
/* ADDRESS/PREFIX of family AF_INET or AF_INET6. */
bool guest_cidr_valid(const char *s, int family);

/* 8-4-4-4-12 hex digits. */
bool guest_uuid_valid(const char *s);
