/* SPDX-License-Identifier: MIT */
#include "ipc_proto.h"

#include <errno.h>

#include "basic/wire.h"

size_t ipc_frame_begin(struct buf *b, uint16_t type, uint32_t seq, int32_t status, int *error)
{
	size_t start = b->len;
	struct wire_writer w;

	wire_writer_init(&w, b);
	wire_put_u32(&w, 0);
	wire_put_u16(&w, IPC_PROTO_VERSION);
	wire_put_u16(&w, type);
	wire_put_u32(&w, seq);
	wire_put_u32(&w, (uint32_t)status);
	if (w.error && error && !*error)
		*error = w.error;
	return start;
}

void ipc_frame_end(struct buf *b, size_t start)
{
	if (b->len >= start + IPC_HEADER_SIZE)
		le_put32(b->data + start, (uint32_t)(b->len - start));
}

int ipc_frame_peek(const unsigned char *data, size_t len, struct ipc_header *h)
{
	if (len < IPC_HEADER_SIZE)
		return 0;
	h->length = le_get32(data);
	h->version = (uint16_t)(data[4] | data[5] << 8);
	h->type = (uint16_t)(data[6] | data[7] << 8);
	h->seq = le_get32(data + 8);
	h->status = (int32_t)le_get32(data + 12);
	if (h->length < IPC_HEADER_SIZE || h->length > IPC_MAX_FRAME ||
	    h->version != IPC_PROTO_VERSION)
		return -EBADMSG;
	return len >= h->length ? 1 : 0;
}

const char *ipc_type_name(uint16_t type)
{
	switch (type) {
	case IPC_STATUS:
		return "status";
	case IPC_GET_VERSION:
		return "get-version";
	case IPC_GET_MEMBERS:
		return "get-members";
	case IPC_GET_VMLIST:
		return "get-vmlist";
	case IPC_READ_FILE:
		return "read-file";
	case IPC_KV_SET:
		return "kv-set";
	case IPC_KV_GET:
		return "kv-get";
	case IPC_LOG_APPEND:
		return "log-append";
	case IPC_LOG_READ:
		return "log-read";
	case IPC_WATCH:
		return "watch";
	case IPC_FLUSH:
		return "flush";
	case IPC_READ_FILES:
		return "read-files";
	case IPC_EVENT:
		return "event";
	case IPC_EVENT_OVERFLOW:
		return "event-overflow";
	default:
		return "unknown";
	}
}
