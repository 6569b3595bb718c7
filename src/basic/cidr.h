/* SPDX-License-Identifier: MIT */
/* Networks in CIDR notation ("10.99.0.0/24", "fd00::/64") and this host's address in one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* "ADDR/PREFIX" (or a bare address: the host itself). 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *c);

/* Is the address sa inside c? */
bool cidr_contains(const struct cidr *c, const struct sockaddr *sa);

/*
 * The address of this host inside c, as text. 0, -ENOENT (none) or
 * -ENOTUNIQ (more than one: the network is ambiguous for this host).
 */
int cidr_local_address(const struct cidr *c, char *out, size_t len);
