"""A client that disconnects in the middle of a request must not leak its
connection (issue 10, defect 1). The leak needed the request's last bytes and
the client's FIN to reach the server in one wakeup: the receive returned the
bytes, took the short read for a drained socket, and edge-triggered epoll
raised no new event for the FIN already queued behind them. Each case sends
its bytes and FIN together (MSG_MORE, or the server stopped with SIGSTOP
while clients send and close), then waits for curr_connections to return to
where it was. Runs on memext-server and on memcached 1.6.18, which leaks
none."""

import os
import signal
import socket
import time
import unittest

from memext_harness import BothServers


class StatsConn:
    """One connection kept open to read curr_connections: a new connection
    per poll would count the previous poll's until the server had closed it,
    so figures could read one high."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)

    def curr_connections(self):
        self.sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("stats connection closed")
            data += chunk
        for line in data.decode().split("\r\n"):
            parts = line.split()
            if len(parts) == 3 and parts[1] == "curr_connections":
                return int(parts[2])
        raise AssertionError("no curr_connections in %r" % data)

    def close(self):
        self.sock.close()


class DisconnectMidRequest(BothServers):
    CLIENTS = 40

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One stats connection per server for the whole class: a connection
        # closed at the end of one test could still be counted when the next
        # reads its baseline.
        cls.stats_conns = {server.port: StatsConn(server) for server in cls.servers}

    @classmethod
    def tearDownClass(cls):
        for conn in cls.stats_conns.values():
            conn.close()
        super().tearDownClass()

    def stats(self, server):
        return self.stats_conns[server.port]

    def wait_for_connections(self, stats, expected):
        """Polls until curr_connections is `expected`; returns the last figure
        seen. The leak is permanent: the generous deadline only absorbs a slow
        machine."""
        deadline = time.monotonic() + 30
        while True:
            now = stats.curr_connections()
            if now == expected or time.monotonic() > deadline:
                return now
            time.sleep(0.1)

    def send_then_fin(self, payload, close_with_fin_only=True):
        for server in self.servers:
            with self.subTest(server=server.binary, payload=payload):
                stats = self.stats(server)
                baseline = stats.curr_connections()
                socks = []
                for _ in range(self.CLIENTS):
                    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                    socks.append(s)
                # Every client is accepted before its bytes arrive.
                self.assertEqual(self.wait_for_connections(stats, baseline + self.CLIENTS),
                                 baseline + self.CLIENTS)
                for s in socks:
                    # MSG_MORE holds the bytes until the FIN, so both leave in one segment.
                    s.send(payload, socket.MSG_MORE)
                    s.shutdown(socket.SHUT_WR)
                left = self.wait_for_connections(stats, baseline)
                for s in socks:
                    s.close()
                self.assertEqual(left - baseline, 0, "connections leaked")

    def test_partial_get_then_fin(self):
        self.send_then_fin(b"get sma")

    def test_partial_data_block_then_fin(self):
        self.send_then_fin(b"set k 0 0 10\r\nab")

    def test_partial_meta_then_fin(self):
        self.send_then_fin(b"mg foo v")

    def test_complete_noreply_request_then_fin(self):
        # Nothing is written back, so no failed send can reveal the closed peer.
        self.send_then_fin(b"set q 0 0 1 noreply\r\nx\r\n")

    def test_clients_close_while_server_is_stopped(self):
        for server in self.servers:
            with self.subTest(server=server.binary):
                stats = self.stats(server)
                baseline = stats.curr_connections()
                socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5)
                         for _ in range(self.CLIENTS)]
                self.assertEqual(self.wait_for_connections(stats, baseline + self.CLIENTS),
                                 baseline + self.CLIENTS)
                os.kill(server.proc.pid, signal.SIGSTOP)
                try:
                    for i, s in enumerate(socks):
                        s.sendall(b"get sma" if i % 2 else b"set k 0 0 10\r\nab")
                        s.close()
                finally:
                    os.kill(server.proc.pid, signal.SIGCONT)
                self.assertEqual(self.wait_for_connections(stats, baseline) - baseline, 0,
                                 "connections leaked")

    def test_server_still_serves_afterwards(self):
        self.send_then_fin(b"get sma")
        for server, c in self.each_conn():
            c.send(b"set after 0 0 2\r\nok\r\nget after\r\n")
            reply = b"STORED\r\nVALUE after 0 2\r\nok\r\nEND\r\n"
            self.assertEqual(c.expect(reply), reply, server.binary)


if __name__ == "__main__":
    unittest.main()
