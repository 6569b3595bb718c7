"""A small client of the droverfs IPC protocol (src/libdrover/cfs/ipc_proto.h), for tests."""
import socket
import struct

PROTO = 1
HEADER = struct.Struct("<IHHIi")

STATUS, GET_VERSION, GET_MEMBERS, GET_VMLIST, READ_FILE = 1, 2, 3, 4, 5
READ_FILES = 12
KV_SET, KV_GET, LOG_APPEND, LOG_READ, WATCH, FLUSH = 6, 7, 8, 9, 10, 11
EVENT, EVENT_OVERFLOW = 100, 101

OPS = {1: "create", 2: "mkdir", 3: "write", 4: "truncate", 5: "unlink",
       6: "rmdir", 7: "rename", 8: "mtime", 9: "unlock"}


def s16(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<H", len(data)) + data


def blob(data):
    data = data.encode() if isinstance(data, str) else data
    return struct.pack("<I", len(data)) + data


class IpcError(OSError):
    pass


class Client:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.seq = 0
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def frame(self, type_, payload=b"", seq=None, version=PROTO):
        if seq is None:
            self.seq += 1
            seq = self.seq
        return HEADER.pack(HEADER.size + len(payload), version, type_, seq, 0) + payload

    def next_frame(self):
        """Returns (type, seq, status, payload); raises ConnectionError at EOF."""
        while True:
            if len(self.buf) >= HEADER.size:
                length, version, type_, seq, status = HEADER.unpack_from(self.buf)
                if len(self.buf) >= length:
                    payload = self.buf[HEADER.size:length]
                    self.buf = self.buf[length:]
                    return type_, seq, status, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("droverfs closed the connection")
            self.buf += chunk

    def call(self, type_, payload=b""):
        """Returns the payload; raises IpcError(errno) for an error status."""
        self.send_raw(self.frame(type_, payload))
        seq = self.seq
        while True:
            t, s, status, data = self.next_frame()
            if t != EVENT and s == seq:
                if status < 0:
                    raise IpcError(-status, f"ipc request {type_} failed")
                return data

    def status(self):
        import json
        return json.loads(self.call(STATUS))

    def json(self, type_):
        import json
        return json.loads(self.call(type_))

    def read_file(self, path):
        return self.call(READ_FILE, s16(path))

    def read_files(self, paths):
        """[(status, bytes)] for each path, from one READ_FILES round trip."""
        data = self.call(READ_FILES, struct.pack("<I", len(paths)) + b"".join(s16(p) for p in paths))
        out, off = [], 0
        for _ in paths:
            status, length = struct.unpack_from("<iI", data, off)
            out.append((status, data[off + 8:off + 8 + length]))
            off += 8 + length
        assert off == len(data)
        return out

    def kv_set(self, key, value):
        return self.call(KV_SET, s16(key) + blob(value))

    def kv_get(self, key, node=""):
        return self.call(KV_GET, s16(node) + s16(key))

    def log(self, msg, ident="root@pam", tag="test", priority=6):
        return self.call(LOG_APPEND, struct.pack("<B", priority) + s16(ident) + s16(tag) + s16(msg))

    def read_log(self, max_entries=0, ident=""):
        import json
        return json.loads(self.call(LOG_READ, struct.pack("<I", max_entries) + s16(ident)))

    def flush(self):
        return self.call(FLUSH)

    def watch(self, prefix=""):
        return self.call(WATCH, s16(prefix))

    def next_event(self):
        """Returns dict(version, op, type, path, old_path) or raises on overflow/EOF."""
        while True:
            t, _, status, p = self.next_frame()
            if t == EVENT_OVERFLOW:
                raise IpcError(105, "watch overflow")
            if t != EVENT:
                continue
            version, kind, etype = struct.unpack_from("<QBB", p)
            off = 10
            (n,) = struct.unpack_from("<H", p, off)
            path = p[off + 2:off + 2 + n].decode()
            off += 2 + n
            (n,) = struct.unpack_from("<H", p, off)
            old = p[off + 2:off + 2 + n].decode()
            return {"version": version, "op": OPS.get(kind, "?"),
                    "type": "dir" if etype == 1 else "file", "path": path,
                    "old_path": old or None}
