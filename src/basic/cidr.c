/* SPDX-License-Identifier: MIT */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int cidr_parse(const char *s, struct cidr *c)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, c->addr) == 1)
		c->family = AF_INET6;
	else
		return -EINVAL;
	if (!slash) {
		c->prefix = c->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (parse_u64(slash + 1, c->family == AF_INET ? 32 : 128, &prefix) < 0)
		return -EINVAL;
	c->prefix = (unsigned)prefix;
	return 0;
}

bool cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	const unsigned char *a;
	unsigned full, rest;

	if (!sa || sa->sa_family != c->family)
		return false;
	a = c->family == AF_INET
		    ? (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr
		    : (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		return (a[full] & mask) == (c->addr[full] & mask);
	}
	return true;
}

int cidr_local_address(const struct cidr *c, char *out, size_t len)
{
	struct ifaddrs *list, *i;
	int found = 0;

	if (getifaddrs(&list) < 0)
		return -errno;
	for (i = list; i; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		socklen_t sl = i->ifa_addr && i->ifa_addr->sa_family == AF_INET
				       ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6);

		if (!cidr_contains(c, i->ifa_addr) ||
		    getnameinfo(i->ifa_addr, sl, text, sizeof(text), NULL, 0, NI_NUMERICHOST))
			continue;
		/* the same address on two interfaces is one address */
		if (found && streq(text, out))
			continue;
		if (found++)
			break;
		snprintf(out, len, "%s", text);
	}
	freeifaddrs(list);
	return found == 0 ? -ENOENT : found > 1 ? -ENOTUNIQ : 0;
}
