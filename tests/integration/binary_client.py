"""A small memcached binary-protocol client for the integration tests:
struct-packed 24-byte headers, requests as bytes, responses parsed into
tuples, and CAS values renamed by order of appearance so two servers'
exchanges compare byte for byte although their CAS counters differ."""

import socket
import struct

HEADER = struct.Struct(">BBHBBHIIQ")

GET, SET, ADD, REPLACE, DELETE, INCR, DECR, QUIT, FLUSH, GETQ, NOOP, VERSION = range(12)
GETK, GETKQ, APPEND, PREPEND, STAT, SETQ, ADDQ, REPLACEQ, DELETEQ = range(0x0C, 0x15)
INCRQ, DECRQ, QUITQ, FLUSHQ, APPENDQ, PREPENDQ, VERBOSITY, TOUCH, GAT, GATQ = range(0x15, 0x1F)
SASL_LIST_MECHS, SASL_AUTH, SASL_STEP, GATK, GATKQ = range(0x20, 0x25)

# A NOOP with this opaque ends every exchange: its answer says all earlier
# answers have arrived.
SENTINEL = 0x5E171E1


def request(opcode, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80):
    body = extras + key + value
    return HEADER.pack(magic, opcode, len(key), len(extras), 0, 0, len(body), opaque, cas) + body


def storage_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def delta_extras(delta, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


def touch_extras(exptime):
    return struct.pack(">I", exptime)


def sentinel():
    return request(NOOP, opaque=SENTINEL)


class Response:
    def __init__(self, raw):
        (self.magic, self.opcode, keylen, extlen, self.datatype, self.status, bodylen,
         self.opaque, self.cas) = HEADER.unpack(raw[:24])
        body = raw[24:]
        self.extras = body[:extlen]
        self.key = body[extlen:extlen + keylen]
        self.value = body[extlen + keylen:]
        self.raw = raw

    def __repr__(self):
        return "Response(op=%#x status=%#x opaque=%d cas=%d extras=%r key=%r value=%r)" % (
            self.opcode, self.status, self.opaque, self.cas, self.extras, self.key,
            self.value[:100])


def read_response(sock, buf):
    """One response packet from sock (buf: bytearray of what was read ahead);
    None on EOF."""
    while len(buf) < 24:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    total = 24 + struct.unpack(">I", bytes(buf[8:12]))[0]
    while len(buf) < total:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    raw = bytes(buf[:total])
    del buf[:total]
    return Response(raw)


def read_until_sentinel(sock, buf, expect_close):
    out = []
    while True:
        r = read_response(sock, buf)
        if r is None:
            out.append("EOF")
            return out
        if r.opcode == NOOP and r.opaque == SENTINEL and not expect_close:
            return out
        out.append(r)


def exchange(port, data, expect_close=False, timeout=30):
    """Sends data (ending in sentinel() unless expect_close) and returns the
    responses up to the sentinel's, or up to EOF (then "EOF" is appended)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_until_sentinel(sock, bytearray(), expect_close)


def one_at_a_time(port, requests, timeout=30):
    """Sends each request on one connection only once the previous one has
    been answered; returns all responses."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        buf = bytearray()
        out = []
        for data in requests:
            sock.sendall(data + sentinel())
            out += read_until_sentinel(sock, buf, False)
        return out


def normalized(responses):
    """The responses as bytes with each distinct non-zero CAS replaced by its
    order of first appearance."""
    order = {}
    out = []
    for r in responses:
        if isinstance(r, str):
            out.append(r)
            continue
        cas = 0 if r.cas == 0 else order.setdefault(r.cas, len(order) + 1)
        out.append(r.raw[:16] + struct.pack(">Q", cas) + r.raw[24:])
    return out


def run_both(testcase, servers, data, expect_close=False):
    """Runs the exchange on every server (sentinel-terminated unless the
    server is expected to close), asserts through testcase that all agree
    with CAS values renamed, and returns the first server's responses."""
    results = [exchange(s.port, data + (b"" if expect_close else sentinel()), expect_close)
               for s in servers]
    for server, other in zip(servers[1:], results[1:]):
        testcase.assertEqual(normalized(results[0]), normalized(other),
                             "%s and %s differ:\n%r\n%r" %
                             (servers[0].binary, server.binary, results[0], other))
    return results[0]
