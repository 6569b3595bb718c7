/* SPDX-License-Identifier: MIT */
#include "guest_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "basic/util.h"

int guest_index_parse(const char *s, unsigned count, unsigned *index)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v >= count)
			return -EINVAL;
	}
	*index = (unsigned)v;
	return 0;
}

static bool in_list(const char *v, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (streq(v, allowed[i]))
			return true;
	return false;
}

/* "a, b or c" into buf, for error texts. */
static const char *list_text(const char *const *allowed, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; allowed[i] && off < len; i++) {
		const char *sep = i == 0 ? "" : allowed[i + 1] ? ", " : " or ";
		int w = snprintf(buf + off, len - off, "%s%s", sep, allowed[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

int guest_enum_check(const char *what, const char *v, const char *const *allowed,
		     struct drover_err *err)
{
	char choices[256];

	if (in_list(v, allowed))
		return 0;
	return drover_fail(err, -EINVAL, "%s must be %s, not '%s'", what,
			   list_text(allowed, choices, sizeof(choices)), v);
}

int guest_enum_copy(const char *what, const char *v, const char *const *allowed, char *dst,
		    size_t len, struct drover_err *err)
{
	int r = guest_enum_check(what, v, allowed, err);

	if (r == 0)
		snprintf(dst, len, "%s", v);
	return r;
}

int guest_list_check(const char *what, const char *v, const char *const *allowed, char *dst,
		     size_t len, struct drover_err *err)
{
	char copy[512], *save = NULL, *word;
	char seen[512] = ";";

	if (strlen(v) >= sizeof(copy) || strlen(v) >= len)
		return drover_fail(err, -EINVAL, "%s: list too long", what);
	snprintf(copy, sizeof(copy), "%s", v);
	for (word = strtok_r(copy, ";", &save); word; word = strtok_r(NULL, ";", &save)) {
		char marked[80];

		if (guest_enum_check(what, word, allowed, err) < 0)
			return -EINVAL;
		snprintf(marked, sizeof(marked), ";%s;", word);
		if (strstr(seen, marked))
			return drover_fail(err, -EINVAL, "%s: '%s' given twice", what, word);
		strncat(seen, marked + 1, sizeof(seen) - strlen(seen) - 1);
	}
	if (v[0] == ';' || v[strlen(v) - 1] == ';' || strstr(v, ";;"))
		return drover_fail(err, -EINVAL, "%s: empty element in '%s'", what, v);
	snprintf(dst, len, "%s", v);
	return 0;
}

bool guest_chars_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

int guest_uint_parse(const char *what, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		     struct drover_err *err)
{
	uint64_t n;
	int r = parse_u64(v, UINT64_MAX, &n);

	if (r < 0 || (v[0] == '0' && v[1]))
		return drover_fail(err, -EINVAL, "%s must be a whole number, not '%s'", what, v);
	if (n < min || n > max)
		return drover_fail(err, -EINVAL, "%s must be between %llu and %llu, not %s", what,
				   (unsigned long long)min, (unsigned long long)max, v);
	if (out)
		*out = n;
	return 0;
}

int guest_number_parse(const char *what, const char *v, double min, double max, double *out,
		       struct drover_err *err)
{
	char *end;
	double d;

	if (!isdigit((unsigned char)v[0]))
		return drover_fail(err, -EINVAL, "%s must be a number, not '%s'", what, v);
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !isfinite(d) || strpbrk(v, "eExXpP"))
		return drover_fail(err, -EINVAL, "%s must be a number, not '%s'", what, v);
	if (d < min || d > max)
		return drover_fail(err, -EINVAL, "%s must be between %g and %g, not %s", what, min,
				   max, v);
	if (out)
		*out = d;
	return 0;
}

static bool label_valid(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

bool guest_dns_name_valid(const char *s)
{
	size_t total = strlen(s);

	if (total == 0 || total > 253)
		return false;
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (!label_valid(s, len))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

bool guest_ifname_valid(const char *s)
{
	return strlen(s) <= 15 && guest_chars_ok(s, "_.-") && !streq(s, ".") && !streq(s, "..");
}

int guest_mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);

		if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return (mac[0] & 1) ? -EINVAL : 0; /* multicast */
}

int guest_mac_random(char out[18])
{
	uint8_t tail[3];

	if (getrandom(tail, sizeof(tail), 0) != (ssize_t)sizeof(tail))
		return -errno;
	/* Proxmox's OUI: admins filter and recognise guests by it */
	snprintf(out, 18, "%s:%02X:%02X:%02X", GUEST_MAC_PREFIX, tail[0], tail[1], tail[2]);
	return 0;
}

bool guest_ip_valid(const char *s, int family)
{
	unsigned char addr[16];

	if (family != AF_INET6 && inet_pton(AF_INET, s, addr) == 1)
		return true;
	return family != AF_INET && inet_pton(AF_INET6, s, addr) == 1;
}

bool guest_cidr_valid(const char *s, int family)
{
	const char *slash = strchr(s, '/');
	char addr[64];
	unsigned prefix;
	int fam;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (guest_ip_valid(addr, AF_INET) && family != AF_INET6)
		fam = AF_INET;
	else if (guest_ip_valid(addr, AF_INET6) && family != AF_INET)
		fam = AF_INET6;
	else
		return false;
	return guest_index_parse(slash + 1, fam == AF_INET ? 33 : 129, &prefix) == 0;
}

bool guest_uuid_valid(const char *s)
{
	static const unsigned groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (unsigned i = 0; i < groups[g]; i++, s++)
			if (hex_digit(*s) < 0)
				return false;
		if (*s != (g + 1 < ARRAY_SIZE(groups) ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}
