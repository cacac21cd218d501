"""Step 04 interop: the protocol spoken by Python's socket and struct modules, not by our code.

If a Python client written from README.md's byte table can talk to our server (and our client
to a Python server), the protocol is the documented one and not an accident of our C++.
"""

import hashlib
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import EXIT_FAILURE, TIMEOUT, connect, main, run, start_server, temp_dir  # noqa: E402
import unittest  # noqa: E402

STEP = "04_file_transfer"

# The 16-byte header: magic, version, type, text length (big-endian u16), size (big-endian u64).
HEADER = struct.Struct(">4sBBHQ")
LIST, GET, PUT, OK, BAD_REQUEST, BAD_NAME, NOT_FOUND, EXISTS, TOO_BIG, BAD_DIGEST = (
    0x01, 0x02, 0x03, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86)


def request(kind: int, name: bytes = b"", size: int = 0) -> bytes:
    return HEADER.pack(b"SBS4", 1, kind, len(name), size) + name


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError(f"hung up after {len(data)} of {n} bytes")
        data += chunk
    return data


def drain(sock: socket.socket, n: int) -> None:
    """Receives and drops exactly n bytes (without keeping tens of MB in memory)."""
    while n > 0:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise AssertionError(f"hung up {n} bytes early")
        n -= len(chunk)


def reply(sock: socket.socket):
    """(type, size, text) of one response."""
    magic, version, kind, text_length, size = HEADER.unpack(recv_exact(sock, HEADER.size))
    assert (magic, version) == (b"SBS4", 1), (magic, version)
    return kind, size, recv_exact(sock, text_length).decode()


class PythonClient(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self) / "root"
        self.server = start_server(STEP, "--root", self.root)
        self.addCleanup(self.server.__exit__, None, None, None)

    def test_a_python_client_downloads_a_file_and_checks_its_digest(self):
        data = os.urandom(200_000)
        (self.root / "p.bin").write_bytes(data)
        with connect(self.server.address) as sock:
            sock.sendall(request(GET, b"p.bin", 1000))  # from offset 1000
            kind, size, _ = reply(sock)
            self.assertEqual((kind, size), (OK, len(data)))
            self.assertEqual(recv_exact(sock, len(data) - 1000), data[1000:])
            self.assertEqual(recv_exact(sock, 32), hashlib.sha256(data).digest())  # whole file
            self.assertEqual(sock.recv(1), b"")  # then the server hangs up

    def test_a_python_client_uploads_a_file(self):
        data = os.urandom(100_000)
        with connect(self.server.address) as sock:
            sock.sendall(request(PUT, b"from-python", len(data)))
            self.assertEqual(reply(sock)[0], OK)  # go ahead
            sock.sendall(data + hashlib.sha256(data).digest())
            self.assertEqual(reply(sock), (OK, len(data), ""))
        self.assertEqual((self.root / "from-python").read_bytes(), data)

    def test_an_upload_with_a_wrong_digest_is_discarded(self):
        with connect(self.server.address) as sock:
            sock.sendall(request(PUT, b"liar", 5))
            self.assertEqual(reply(sock)[0], OK)
            sock.sendall(b"hello" + hashlib.sha256(b"HELLO").digest())
            kind, _, text = reply(sock)
            self.assertEqual(kind, BAD_DIGEST)
            self.assertIn("upload discarded", text)
        self.assertEqual(list(self.root.iterdir()), [])

    def test_a_nul_byte_in_a_name_is_refused_and_the_server_carries_on(self):
        with connect(self.server.address) as sock:
            sock.sendall(request(GET, b"ok\0/etc/passwd"))
            self.assertEqual(reply(sock), (BAD_NAME, 0, "the name contains a NUL byte"))
        with connect(self.server.address) as sock:
            sock.sendall(request(GET, b"nul\0byte"))
            self.assertEqual(reply(sock), (BAD_NAME, 0, "the name contains a NUL byte"))
        with connect(self.server.address) as sock:
            sock.sendall(request(LIST))
            self.assertEqual(reply(sock)[0], OK)

    def test_a_header_claiming_2_to_the_63_bytes_is_refused_not_trusted(self):
        with connect(self.server.address) as sock:
            sock.sendall(request(PUT, b"huge", 2 ** 63))
            kind, _, text = reply(sock)
            self.assertEqual(kind, BAD_REQUEST)
            self.assertIn("larger than the protocol's limit", text)
        self.server.wait_for(r"call from .* failed: PUT size 9223372036854775808")

    def test_a_web_browser_gets_an_error_reply_not_a_hang(self):
        with connect(self.server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            kind, _, text = reply(sock)
            self.assertEqual(kind, BAD_REQUEST)
            self.assertIn("bad magic byte 0x47 at offset 0", text)
        with connect(self.server.address) as sock:  # and serves the next caller
            sock.sendall(request(LIST))
            self.assertEqual(reply(sock), (OK, 0, ""))

    def test_garbage_is_refused_at_its_first_byte_without_waiting_for_16(self):
        with start_server(STEP, "--root", self.root, "--timeout", "60") as patient:
            with connect(patient.address) as sock:  # times out after TIMEOUT if the server waits
                sock.sendall(b"hi\n")  # 3 bytes, as typed into nc
                kind, _, text = reply(sock)
                self.assertEqual(kind, BAD_REQUEST)
                self.assertIn("bad magic byte 0x68 at offset 0", text)

    def test_a_header_sent_one_byte_at_a_time_is_understood(self):
        (self.root / "slow").write_bytes(b"patience")
        with connect(self.server.address) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each byte its own segment
            for byte in request(GET, b"slow"):
                sock.sendall(bytes([byte]))
            self.assertEqual(reply(sock), (OK, 8, ""))
            self.assertEqual(recv_exact(sock, 8), b"patience")


class PythonServer(unittest.TestCase):
    """A one-shot server written in Python, to see how our client treats a lying server."""

    def serve_once(self, answer):
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(TIMEOUT)
        self.addCleanup(listener.close)

        def handle():
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                HEADER.unpack(recv_exact(conn, HEADER.size))
                answer(conn)

        thread = threading.Thread(target=handle, daemon=True)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        return listener.getsockname()[1]

    def test_our_client_downloads_from_a_python_server(self):
        data = b"served by python\n" * 1000

        def answer(conn):
            recv_exact(conn, 5)  # the name
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, len(data)) + data + hashlib.sha256(data).digest())

        port = self.serve_once(answer)
        work = temp_dir(self)
        result = run(STEP, "client", "--port", port, "get", "p.txt", work / "p.txt")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((work / "p.txt").read_bytes(), data)

    def test_a_corrupted_download_is_discarded(self):
        data = b"the real content"

        def answer(conn):
            recv_exact(conn, 5)
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, len(data)) + data.upper() + hashlib.sha256(data).digest())

        port = self.serve_once(answer)
        work = temp_dir(self)
        result = run(STEP, "client", "--port", port, "get", "c.txt", work / "c.txt")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"SHA-256 mismatch", result.stderr)
        self.assertEqual(list(work.iterdir()), [])  # neither c.txt nor c.txt.part

    def test_an_absurd_size_from_a_server_is_refused_before_allocating(self):
        def answer(conn):
            recv_exact(conn, 0)
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, 2 ** 63))

        port = self.serve_once(answer)
        result = run(STEP, "client", "--port", port, "ls")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"larger than the protocol's limit", result.stderr)

    def test_a_listing_cannot_send_terminal_escapes_to_our_screen(self):
        listing = b"5 evil\x1b[2Jname\n7 bell\x07\x9b\xc2\x9b\n3 \xe4\xb8\xad.txt\n"

        def answer(conn):
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, len(listing)) + listing)

        port = self.serve_once(answer)
        result = run(STEP, "client", "--port", port, "--quiet", "ls")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(b"\x1b", result.stdout)  # the ESC byte never reaches the terminal
        self.assertNotIn(b"\x07", result.stdout)
        self.assertNotIn(b"\xc2\x9b", result.stdout)  # nor a C1 control in its UTF-8 form
        self.assertIn(rb"evil\x1b[2Jname", result.stdout)  # shown escaped instead
        self.assertIn(rb"bell\x07", result.stdout)
        self.assertIn("中.txt".encode(), result.stdout)  # ordinary UTF-8 names print as they are

    def test_an_upload_waits_for_a_server_that_is_slow_to_store_a_large_file(self):
        size = 50_000_000  # at the client's assumed 50 MB/s for a slow disk: 1 s of patience

        def answer(conn):
            recv_exact(conn, len(b"big.bin"))
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, 0))  # go ahead
            drain(conn, size + 32)
            time.sleep(0.8)  # a slow fsync(): longer than --timeout, shorter than the patience
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, size))

        port = self.serve_once(answer)
        work = temp_dir(self)
        with open(work / "big.bin", "wb") as f:
            f.truncate(size)
        result = run(STEP, "client", "--port", port, "--timeout", "0.3", "put", work / "big.bin")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_resumed_download_waits_while_the_server_hashes_the_part_it_skipped(self):
        have = 50_000_000
        data = bytes(have) + b"0123456789"

        def answer(conn):
            recv_exact(conn, len(b"r.bin"))
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, len(data)) + data[have:])
            time.sleep(0.8)  # hashing the first 50 MB on a slow disk
            conn.sendall(hashlib.sha256(data).digest())

        port = self.serve_once(answer)
        work = temp_dir(self)
        with open(work / "r.bin.part", "wb") as f:
            f.truncate(have)
        result = run(STEP, "client", "--port", port, "--timeout", "0.3", "get", "--resume", "r.bin",
                     work / "r.bin")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((work / "r.bin").stat().st_size, len(data))

    def test_a_digest_that_never_comes_keeps_the_part_for_resume(self):
        done = threading.Event()

        def answer(conn):
            recv_exact(conn, len(b"d.bin"))
            conn.sendall(HEADER.pack(b"SBS4", 1, OK, 0, 4) + b"data")
            done.wait(TIMEOUT)  # ... and no digest, until the test ends

        port = self.serve_once(answer)
        self.addCleanup(done.set)  # runs before serve_once's join (cleanups run last-in first)
        work = temp_dir(self)
        result = run(STEP, "client", "--port", port, "--timeout", "0.3", "get", "d.bin", work / "d.bin")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"the server sent no digest for 0.3 s; ", result.stderr)
        self.assertIn(b"d.bin.part is kept: `client get --resume d.bin` continues", result.stderr)
        self.assertEqual((work / "d.bin.part").read_bytes(), b"data")


if __name__ == "__main__":
    main()
