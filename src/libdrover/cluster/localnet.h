/* SPDX-License-Identifier: MIT */
/* This host's addresses: is an address configured here, and what the host name resolves to. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Is addr (an IPv4/IPv6 literal) configured on one of this host's interfaces? */
bool localnet_has_address(const char *addr);

/* The first non-loopback address the host name resolves to. Returns 0 or -errno. */
int localnet_hostname_address(char *out, size_t len);
