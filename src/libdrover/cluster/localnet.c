/* SPDX-License-Identifier: MIT */
#include "localnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool same_address(const struct sockaddr *sa, int family, const unsigned char *bin)
{
	if (!sa || sa->sa_family != family)
		return false;
	if (family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)sa)->sin_addr, bin, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, bin, 16) == 0;
}

bool localnet_has_address(const char *addr)
{
	unsigned char bin[16];
	struct ifaddrs *list, *i;
	int family = inet_pton(AF_INET, addr, bin) == 1	   ? AF_INET
		     : inet_pton(AF_INET6, addr, bin) == 1 ? AF_INET6
							   : -1;
	bool found = false;

	if (family < 0 || getifaddrs(&list) < 0)
		return false;
	for (i = list; i && !found; i = i->ifa_next)
		found = same_address(i->ifa_addr, family, bin);
	freeifaddrs(list);
	return found;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int localnet_hostname_address(char *out, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res, *ai;
	char host[256];
	int r = -EADDRNOTAVAIL;

	if (gethostname(host, sizeof(host)) < 0)
		return -errno;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		if (is_loopback(ai->ai_addr))
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out, (socklen_t)len, NULL, 0,
				NI_NUMERICHOST) == 0) {
			r = 0;
			break;
		}
	}
	freeaddrinfo(res);
	return r;
}
