/* SPDX-License-Identifier: MIT */
#include "upid.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/process.h"
#include "basic/procstat.h"
#include "basic/util.h"

/* TYPE, ID and USER: no ':' and no blank (ID may be empty). */
static bool field_ok(const char *s, bool may_be_empty)
{
	if (!*s)
		return may_be_empty;
	for (; *s; s++)
		if (*s == ':' || isspace((unsigned char)*s) || (unsigned char)*s < 0x20)
			return false;
	return true;
}

int upid_format(const struct upid *u, char *out, size_t len)
{
	int n;

	if (!node_name_valid(u->node) || !field_ok(u->type, false) || !field_ok(u->id, true) ||
	    !field_ok(u->user, false) || u->pstart >= (1ull << 36))
		return -EINVAL;
	n = snprintf(out, len,
		     "UPID:%s:%08" PRIX32 ":%08" PRIX64 ":%08" PRIX32 ":%s:%s:%s:", u->node, u->pid,
		     u->pstart, u->starttime, u->type, u->id, u->user);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* The next ':'-terminated field of *p, at most max-1 bytes, into dst; *p moves past the ':'. */
static int take_field(const char **p, char *dst, size_t max)
{
	const char *colon = strchr(*p, ':');
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - *p);
	if (n >= max)
		return -EINVAL;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p = colon + 1;
	return 0;
}

/* A hex field of min..max digits. */
static int take_hex(const char **p, unsigned min, unsigned max, uint64_t *out)
{
	char digits[16];
	char *end;

	if (take_field(p, digits, sizeof(digits)) < 0)
		return -EINVAL;
	if (strlen(digits) < min || strlen(digits) > max ||
	    strspn(digits, "0123456789abcdefABCDEF") != strlen(digits))
		return -EINVAL;
	*out = strtoull(digits, &end, 16);
	return 0;
}

int upid_parse(const char *text, struct upid *u)
{
	const char *p = text;
	uint64_t pid, pstart, start;

	memset(u, 0, sizeof(*u));
	if (!str_has_prefix(text, "UPID:"))
		return -EINVAL;
	p += 5;
	if (take_field(&p, u->node, sizeof(u->node)) < 0 || !node_name_valid(u->node))
		return -EINVAL;
	if (take_hex(&p, 8, 8, &pid) < 0 || take_hex(&p, 8, 9, &pstart) < 0 ||
	    take_hex(&p, 8, 8, &start) < 0)
		return -EINVAL;
	if (take_field(&p, u->type, sizeof(u->type)) < 0 || !field_ok(u->type, false) ||
	    take_field(&p, u->id, sizeof(u->id)) < 0 || !field_ok(u->id, true) ||
	    take_field(&p, u->user, sizeof(u->user)) < 0 || !field_ok(u->user, false) || *p)
		return -EINVAL;
	u->pid = (uint32_t)pid;
	u->pstart = pstart;
	u->starttime = (uint32_t)start;
	return 0;
}

int upid_log_path(const char *dir, const char *upid, char *out, size_t len)
{
	const char *p = upid;
	struct upid u;
	int n;

	if (upid_parse(upid, &u) < 0)
		return -EINVAL;
	/* The last digit of STARTTIME (after "UPID", NODE, PID, PSTART) as written, as Proxmox takes it. */
	for (int i = 0; i < 4; i++)
		p = strchr(p, ':') + 1;
	n = snprintf(out, len, "%s/%c/%s", dir, p[7], upid);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int upid_proc_start(pid_t pid, uint64_t *pstart)
{
	struct procstat st;
	int r = procstat_read(pid, &st);

	if (r == 0)
		*pstart = st.starttime;
	return r;
}

bool task_worker_alive(const struct upid *u)
{
	uint64_t start;

	return process_alive((pid_t)u->pid) && upid_proc_start((pid_t)u->pid, &start) == 0 &&
	       start == u->pstart;
}
