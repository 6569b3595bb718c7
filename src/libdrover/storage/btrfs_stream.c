/* SPDX-License-Identifier: MIT */
#include "btrfs_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/array.h"
#include "basic/crc32c.h"
#include "basic/fdio.h"
#include "basic/util.h"
#include "basic/wire.h"

#define MAGIC "btrfs-stream"
#define MAGIC_LEN 13 /* with its NUL */
#define HEADER_LEN (MAGIC_LEN + 4)
#define CMD_HEADER 10 /* le32 len, le16 cmd, le32 crc */
#define CMD_MAX (32u << 20) /* v2 encoded writes are large, but not this large */
#define BUF_START (4u << 20)

enum {
	CMD_SUBVOL = 1,
	CMD_SNAPSHOT = 2,
	CMD_SYMLINK = 8,
	CMD_CLONE = 16,
	CMD_END = 21,
	CMD_LAST = 26, /* ENABLE_VERITY (v3) */
};

enum {
	A_UUID = 1,
	A_PATH = 15,
	A_PATH_TO = 16,
	A_PATH_LINK = 17,
	A_DATA = 19,
	A_CLONE_UUID = 20,
	A_CLONE_PATH = 22,
};

static const char *const cmd_names[] = {
	"?",	    "subvol",	     "snapshot",      "mkfile", "mkdir",	 "mknod",
	"mkfifo",   "mksock",	     "symlink",	      "rename", "link",		 "unlink",
	"rmdir",    "set_xattr",     "remove_xattr",  "write",	"clone",	 "truncate",
	"chmod",    "chown",	     "utimes",	      "end",	"update_extent", "fallocate",
	"fileattr", "encoded_write", "enable_verity",
};

bool btrfs_uuid_null(const unsigned char u[BTRFS_UUID_LEN])
{
	for (int i = 0; i < BTRFS_UUID_LEN; i++)
		if (u[i])
			return false;
	return true;
}

void btrfs_uuid_format(const unsigned char u[BTRFS_UUID_LEN], char *out, size_t len)
{
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

int btrfs_uuid_parse(const char *s, unsigned char u[BTRFS_UUID_LEN])
{
	int n = 0;

	for (; *s && n < 2 * BTRFS_UUID_LEN; s++) {
		int h = hex_digit(*s);

		if (*s == '-')
			continue;
		if (h < 0)
			return -EINVAL;
		if (n % 2 == 0)
			u[n / 2] = (unsigned char)(h << 4);
		else
			u[n / 2] |= (unsigned char)h;
		n++;
	}
	return n == 2 * BTRFS_UUID_LEN && !*s ? 0 : -EINVAL;
}

struct parser {
	struct btrfs_stream_check *c;
	struct drover_err *err;
	uint64_t ncmd;
	bool ended;
	unsigned char parent[BTRFS_UUID_LEN];
};

static const char *cmd_name(unsigned cmd)
{
	return cmd < ARRAY_SIZE(cmd_names) ? cmd_names[cmd] : "?";
}

/* A path inside the subvolume: relative, no empty or ".." component, no NUL. */
static bool path_safe(const unsigned char *p, size_t n)
{
	size_t start = 0;

	if (n > 0 && p[0] == '/')
		return false;
	if (memchr(p, '\0', n))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (i - start == 2 && p[start] == '.' && p[start + 1] == '.')
			return false;
		start = i + 1;
	}
	return true;
}

static int bad(struct parser *p, unsigned cmd, const char *what)
{
	return drover_fail(p->err, -EBADMSG, "the btrfs stream is refused: command %llu (%s): %s",
			   (unsigned long long)p->ncmd, cmd_name(cmd), what);
}

/* The name of the subvolume the first command makes: "NAME@SNAP", one component. */
static int check_subvol_name(struct parser *p, unsigned cmd, const unsigned char *v, size_t n)
{
	struct btrfs_stream_check *c = p->c;
	const char *at;

	if (n == 0 || n >= sizeof(c->subvol) || !path_safe(v, n) || memchr(v, '/', n))
		return bad(p, cmd, "its subvolume name is not one plain name");
	memcpy(c->subvol, v, n);
	c->subvol[n] = '\0';
	at = strrchr(c->subvol, '@');
	if (!at || at == c->subvol || !at[1])
		return bad(p, cmd, "its subvolume is no snapshot (NAME@SNAPSHOT)");
	if (c->snapshot && !streq(at + 1, c->snapshot)) {
		char why[128];

		snprintf(why, sizeof(why), "it brings snapshot '%.40s', not '%.40s'", at + 1,
			 c->snapshot);
		return bad(p, cmd, why);
	}
	return 0;
}

static bool uuid_is_parent(const struct btrfs_stream_check *c, const unsigned char *u)
{
	for (unsigned i = 0; i < c->nparent_ids; i++)
		if (!memcmp(c->parent_ids[i], u, BTRFS_UUID_LEN))
			return true;
	return false;
}

/* The first command: SUBVOL or SNAPSHOT, as the caller expects. */
static int check_first(struct parser *p, unsigned cmd, const unsigned char *uuid,
		       const unsigned char *clone_uuid)
{
	char want[40], got[40];

	if (cmd != CMD_SUBVOL && cmd != CMD_SNAPSHOT)
		return bad(p, cmd, "a stream must start by making its subvolume");
	if (cmd == CMD_SUBVOL && p->c->incremental)
		return bad(p, cmd, "a full stream, but an incremental one was expected (--base)");
	if (cmd == CMD_SNAPSHOT && !p->c->incremental)
		return bad(p, cmd,
			   "an incremental stream, but a full one was expected (no --base)");
	if (!uuid)
		return bad(p, cmd, "it has no UUID");
	memcpy(p->c->uuid, uuid, BTRFS_UUID_LEN);
	if (cmd == CMD_SUBVOL)
		return 0;
	if (!clone_uuid)
		return bad(p, cmd, "it names no parent");
	memcpy(p->parent, clone_uuid, BTRFS_UUID_LEN);
	if (!uuid_is_parent(p->c, clone_uuid)) {
		btrfs_uuid_format(clone_uuid, got, sizeof(got));
		if (p->c->nparent_ids)
			btrfs_uuid_format(p->c->parent_ids[0], want, sizeof(want));
		return drover_fail(
			p->err, -EXDEV,
			"wrong base: the stream continues from the snapshot with UUID %s, but the base here is %s",
			got, p->c->nparent_ids ? want : "unknown");
	}
	return 0;
}

/* One whole command (header and payload). */
static int check_cmd(struct parser *p, const unsigned char *h, uint32_t len)
{
	const unsigned char *a = h + CMD_HEADER, *end = a + len;
	const unsigned char *uuid = NULL, *clone_uuid = NULL;
	unsigned cmd = le_get16(h + 4);
	int r;

	p->ncmd++;
	if (cmd == 0 || cmd > CMD_LAST)
		return bad(p, cmd, "unknown command");
	while (a < end) {
		unsigned type;
		size_t n;

		if (end - a < 4)
			return bad(p, cmd, "an attribute is cut short");
		type = le_get16(a);
		n = le_get16(a + 2);
		/* DATA is the last attribute; in v2 and later its length is the rest */
		if (type == A_DATA)
			break;
		if ((size_t)(end - a - 4) < n)
			return bad(p, cmd, "an attribute is longer than its command");
		a += 4;
		if ((type == A_PATH || type == A_PATH_TO || type == A_CLONE_PATH ||
		     (type == A_PATH_LINK && cmd != CMD_SYMLINK)) &&
		    p->ncmd > 1 && !path_safe(a, n))
			return bad(p, cmd, "a path leaves the subvolume (absolute, or with '..')");
		if (type == A_PATH && p->ncmd == 1 && (r = check_subvol_name(p, cmd, a, n)) < 0)
			return r;
		if (type == A_UUID && n == BTRFS_UUID_LEN)
			uuid = a;
		if (type == A_CLONE_UUID && n == BTRFS_UUID_LEN)
			clone_uuid = a;
		a += n;
	}
	if (p->ncmd == 1)
		return check_first(p, cmd, uuid, clone_uuid);
	if (cmd == CMD_SUBVOL || cmd == CMD_SNAPSHOT)
		return bad(p, cmd, "a second subvolume in one stream");
	if (cmd == CMD_CLONE && (!clone_uuid || (memcmp(clone_uuid, p->c->uuid, BTRFS_UUID_LEN) &&
						 (!p->c->incremental ||
						  memcmp(clone_uuid, p->parent, BTRFS_UUID_LEN)))))
		return bad(p, cmd, "it clones from a subvolume that is not this one or its parent");
	if (cmd == CMD_END)
		p->ended = true;
	return 0;
}

/* Check what buf holds; *used: bytes that are whole, checked commands. */
static int check_buffer(struct parser *p, const unsigned char *buf, size_t len, size_t *used,
			size_t *need)
{
	size_t pos = 0;
	int r = 0;

	*need = 0;
	*used = 0;
	while (r == 0 && len - pos >= CMD_HEADER) {
		uint32_t n = le_get32(buf + pos);

		if (p->ended)
			return drover_fail(
				p->err, -EBADMSG,
				"the btrfs stream is refused: there is more after its end command (more than one subvolume?)");

		if (n > CMD_MAX)
			return bad(p, le_get16(buf + pos + 4), "longer than 32 MiB");
		if (len - pos < CMD_HEADER + (size_t)n) {
			*need = CMD_HEADER + (size_t)n;
			break;
		}
		r = check_cmd(p, buf + pos, n);
		pos += CMD_HEADER + n;
	}
	*used = pos;
	return r;
}

static int check_header(struct parser *p, int in, int out)
{
	unsigned char h[HEADER_LEN];
	ssize_t n = read_full(in, h, sizeof(h));
	int r;

	if (n < 0)
		return drover_fail(p->err, (int)n, "reading the stream: %s", strerror((int)-n));
	if (n < (ssize_t)sizeof(h) || memcmp(h, MAGIC, MAGIC_LEN) != 0)
		return drover_fail(p->err, -EBADMSG,
				   "not a btrfs send stream (no btrfs-stream magic%s)",
				   n < (ssize_t)sizeof(h) ? ": it is too short" : "");
	p->c->version = le_get32(h + MAGIC_LEN);
	if (p->c->version < 1 || p->c->version > 3)
		return drover_fail(p->err, -EBADMSG, "btrfs send stream version %u is not known",
				   p->c->version);
	r = write_all(out, h, sizeof(h));
	if (r < 0) {
		p->c->out_failed = true;
		return drover_fail(p->err, r, "writing to btrfs receive: %s", strerror(-r));
	}
	p->c->bytes = sizeof(h);
	return 0;
}

/* btrfs's checksum: CRC-32C seeded with 0 and not inverted at the end */
static uint32_t btrfs_crc(const unsigned char *data, size_t len)
{
	return ~crc32c(0xffffffffu, data, len);
}

/* The first command again with its PATH replaced by name, checksum and all. */
static int rename_first(const unsigned char *cmd, uint32_t len, const char *name,
			unsigned char **out, size_t *out_len)
{
	size_t n = strlen(name), pos = CMD_HEADER;
	const unsigned char *a = cmd + CMD_HEADER, *end = a + len;
	unsigned char *b = malloc(CMD_HEADER + len + n + 4);

	if (!b)
		return -ENOMEM;
	memcpy(b, cmd, CMD_HEADER);
	while (a + 4 <= end) {
		unsigned type = le_get16(a), alen = le_get16(a + 2);

		if (type == A_PATH) {
			le_put16(b + pos, A_PATH);
			le_put16(b + pos + 2, (uint16_t)n);
			memcpy(b + pos + 4, name, n);
			pos += 4 + n;
		} else {
			memcpy(b + pos, a, 4 + alen);
			pos += 4 + alen;
		}
		a += 4 + alen;
	}
	le_put32(b, (uint32_t)(pos - CMD_HEADER));
	le_put32(b + 6, 0);
	le_put32(b + 6, btrfs_crc(b, pos));
	*out = b;
	*out_len = pos;
	return 0;
}

/* The first command, read whole, checked, renamed if asked, written. */
static int first_command(struct parser *p, int in, int out)
{
	unsigned char h[CMD_HEADER], *cmd = NULL, *renamed = NULL;
	size_t n, rlen;
	ssize_t k = read_full(in, h, sizeof(h));
	uint32_t len;
	int r;

	if (k < 0)
		return drover_fail(p->err, (int)k, "reading the stream: %s", strerror((int)-k));
	if (k < (ssize_t)sizeof(h))
		return drover_fail(
			p->err, -EPIPE,
			"the btrfs stream ended inside its first command (the sender died?)");
	len = le_get32(h);
	/* a subvolume's first command is small: its name and a few ids */
	if (len > 64 * 1024)
		return bad(p, le_get16(h + 4), "longer than a first command can be");
	n = CMD_HEADER + len;
	cmd = malloc(n);
	if (!cmd)
		return drover_fail(p->err, -ENOMEM, "out of memory");
	memcpy(cmd, h, CMD_HEADER);
	k = read_full(in, cmd + CMD_HEADER, len);
	r = k < 0 ? drover_fail(p->err, (int)k, "reading the stream: %s", strerror((int)-k))
	    : (size_t)k < len
		    ? drover_fail(
			      p->err, -EPIPE,
			      "the btrfs stream ended inside its first command (the sender died?)")
		    : check_cmd(p, cmd, len);
	if (r == 0 && p->c->rename_to &&
	    rename_first(cmd, len, p->c->rename_to, &renamed, &rlen) < 0)
		r = drover_fail(p->err, -ENOMEM, "out of memory");
	if (r == 0 && (r = write_all(out, renamed ? renamed : cmd, renamed ? rlen : n)) < 0) {
		p->c->out_failed = true;
		drover_fail(p->err, r, "writing to btrfs receive: %s", strerror(-r));
	}
	if (r == 0)
		p->c->bytes += n;
	free(renamed);
	free(cmd);
	return r;
}

int btrfs_stream_filter(int in, int out, struct btrfs_stream_check *c, struct drover_err *err)
{
	struct parser p = { .c = c, .err = err };
	size_t cap = BUF_START, len = 0;
	unsigned char *buf = malloc(cap);
	int r;

	c->subvol[0] = '\0';
	c->out_failed = false;
	r = buf ? check_header(&p, in, out) : drover_fail(err, -ENOMEM, "out of memory");
	if (r == 0)
		r = first_command(&p, in, out);
	while (r == 0) {
		size_t used, need;
		ssize_t n;

		/* a command larger than the buffer (it fits CMD_MAX): grow */
		if (len == cap && ARRAY_GROW(buf, cap, len + 1) < 0) {
			r = drover_fail(err, -ENOMEM, "out of memory");
			break;
		}
		n = read(in, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = drover_fail(err, -errno, "reading the stream: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			if (len && p.ended)
				r = drover_fail(
					err, -EBADMSG,
					"the btrfs stream is refused: %zu bytes after its end command",
					len);
			else if (len || !p.ended)
				r = drover_fail(
					err, -EPIPE,
					"the btrfs stream ended after %llu bytes, before its end command (the sender died?)",
					(unsigned long long)(c->bytes + len));
			break;
		}
		len += (size_t)n;
		r = check_buffer(&p, buf, len, &used, &need);
		if (r == 0 && used && (r = write_all(out, buf, used)) < 0) {
			c->out_failed = true;
			r = drover_fail(err, r, "writing to btrfs receive: %s", strerror(-r));
		}
		c->bytes += used;
		memmove(buf, buf + used, len - used);
		len -= used;
		if (r == 0 && ARRAY_GROW(buf, cap, need) < 0)
			r = drover_fail(err, -ENOMEM, "out of memory");
	}
	free(buf);
	return r;
}
