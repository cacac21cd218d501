"""Step 04 end to end: the real file server and client, on port 0, moving real files.

Digests are checked against Python's hashlib, files against their bytes. Cuts are made by a
relay in the test that forwards a connection but lets only N bytes through one way, then hangs
up on both sides: the client must exit 1, no file may appear under the final name, and the
server must go on serving.
"""

import hashlib
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import (EXIT_FAILURE, EXIT_USAGE, TIMEOUT, connect, free_tcp_port, main, run,  # noqa: E402
                         start_server, temp_dir)
import unittest  # noqa: E402

STEP = "04_file_transfer"
LARGE = 3 * 1024 * 1024 + 12345  # "large" for a test: several socket buffers, still fast


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def request_bytes(kind: int, name: bytes, size: int = 0) -> bytes:
    """A request as README.md's byte table spells it (test_interop.py speaks the whole protocol)."""
    return struct.pack(">4sBBHQ", b"SBS4", 1, kind, len(name), size) + name


def client(port, *args, cwd=None):
    """Runs the client against a server on `port` (in `cwd`, where downloads land)."""
    if cwd is None:
        return run(STEP, "client", "--port", port, *args)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return run(STEP, "client", "--port", port, *args)
    finally:
        os.chdir(old)


def served(test, *args):
    """A server on a fresh --root; returns (server, root)."""
    root = temp_dir(test) / "root"
    server = start_server(STEP, "--root", root, *args)
    test.addCleanup(server.__exit__, None, None, None)  # kill, close pipes
    return server, root


def interrupt(server) -> int:
    """Ctrl-C, repeated until the server exits (as a user would press it again): a signal that
    lands between the server's check of its stop flag and its next blocking call is only seen
    at the next signal - the race that ppoll() or a self-pipe closes in later steps."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        server.signal(signal.SIGINT)
        try:
            server.wait_for(r"Goodbye\.$", timeout=0.5)
            return server.finish()
        except AssertionError:
            pass  # not yet: press Ctrl-C again
    raise AssertionError(f"the server ignored SIGINT for {TIMEOUT}s\n{server.describe()}")


def assert_alive(test, server):
    """The server still answers: an ls succeeds."""
    result = client(server.port, "ls")
    test.assertEqual(result.returncode, 0, result.stderr)
    test.assertTrue(server.running)


class CuttingRelay:
    """Forwards one connection to 127.0.0.1:target, letting only `limit` bytes through in one
    direction ('up': client to server, 'down': server to client), then hangs up on both."""

    def __init__(self, target: int, direction: str, limit: int):
        self.target, self.direction, self.limit = target, direction, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            caller, _ = self.listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", self.target), timeout=TIMEOUT)
        caller.settimeout(TIMEOUT)
        limited = (caller, upstream) if self.direction == "up" else (upstream, caller)
        free = (limited[1], limited[0])
        helper = threading.Thread(target=self._pump, args=(*free, None), daemon=True)
        helper.start()
        self._pump(*limited, self.limit)
        for sock in (caller, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the other pump, hangs up on both
            except OSError:
                pass
        helper.join(TIMEOUT)
        caller.close()
        upstream.close()

    def _pump(self, source, sink, limit):
        sent = 0
        try:
            while limit is None or sent < limit:
                want = 65536 if limit is None else min(65536, limit - sent)
                chunk = source.recv(want)
                if not chunk:
                    break
                sink.sendall(chunk)
                sent += len(chunk)
                if limit is not None:
                    self.forwarded = sent
        except OSError:
            pass

    def close(self):
        self.listener.close()
        self.thread.join(TIMEOUT)


class RoundTrips(unittest.TestCase):
    def round_trip(self, data: bytes, *server_args):
        server, root = served(self, *server_args)
        work = temp_dir(self)
        (work / "original.bin").write_bytes(data)
        up = client(server.port, "put", work / "original.bin", "stored.bin")
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertEqual(up.stdout.splitlines()[-1].decode(), f"{sha256(data)}  {work / 'original.bin'}")
        self.assertEqual((root / "stored.bin").read_bytes(), data)

        down = client(server.port, "get", "stored.bin", work / "copy.bin")
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertEqual(down.stdout.splitlines()[-1].decode(), f"{sha256(data)}  {work / 'copy.bin'}")
        self.assertEqual(sha256((work / "copy.bin").read_bytes()), sha256(data))
        self.assertFalse((work / "copy.bin.part").exists())
        self.assertEqual([p.name for p in root.iterdir()], ["stored.bin"])  # no temporary left
        return server

    def test_an_empty_file_goes_up_and_comes_back_with_the_same_digest(self):
        self.round_trip(b"")

    def test_a_one_byte_file_goes_up_and_comes_back_with_the_same_digest(self):
        self.round_trip(b"x")

    def test_a_large_random_file_goes_up_and_comes_back_with_the_same_digest(self):
        server = self.round_trip(os.urandom(LARGE))
        server.wait_for(r"sendfile\(\) -> \d+ bytes")

    def test_the_read_write_loop_sends_the_same_bytes_as_sendfile(self):
        server = self.round_trip(os.urandom(LARGE), "--no-sendfile")
        server.wait_for(r"pread\(\)\+send\(\) -> \d+ bytes")

    def test_ls_lists_the_regular_files_with_their_sizes_and_nothing_else(self):
        server, root = served(self)
        (root / "b.txt").write_bytes(b"12345")
        (root / "a.txt").write_bytes(b"")
        (root / ".hidden").write_bytes(b"secret")
        (root / "subdir").mkdir()
        (root / "link").symlink_to("/etc/hostname")
        result = client(server.port, "ls")
        self.assertEqual(result.returncode, 0, result.stderr)
        listing = [line.split() for line in result.stdout.decode().splitlines() if not line.startswith("client:")]
        self.assertEqual(listing, [["0", "a.txt"], ["5", "b.txt"]])

    def test_a_download_without_dest_lands_in_the_current_directory(self):
        server, root = served(self)
        (root / "here.txt").write_bytes(b"hello")
        work = temp_dir(self)
        result = client(server.port, "--quiet", "get", "here.txt", cwd=work)
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        self.assertEqual(result.stdout.decode(), f"{sha256(b'hello')}  here.txt\n")  # sha256sum -c reads this
        self.assertEqual((work / "here.txt").read_bytes(), b"hello")

    def test_the_root_is_created_if_missing(self):
        server, root = served(self)
        self.assertTrue(root.is_dir())
        server.wait_for("one client at a time")


class HostileNames(unittest.TestCase):
    def test_names_that_climb_out_are_refused_and_the_server_carries_on(self):
        server, root = served(self)
        for name in ["../x", "/etc/passwd", "a/../../x", "..", ".", ".hidden", "tab\there"]:
            with self.subTest(name=name):
                work = temp_dir(self)
                result = client(server.port, "get", name, work / "out")
                self.assertEqual(result.returncode, EXIT_FAILURE, result.stderr)
                self.assertIn(b"the server refused (name refused)", result.stderr)
                self.assertEqual(list(work.iterdir()), [])  # not even an empty out.part
        assert_alive(self, server)

    def test_an_upload_under_a_hostile_name_writes_nothing_anywhere(self):
        server, root = served(self)
        work = temp_dir(self)
        (work / "payload").write_bytes(b"evil")
        for name in ["../escaped", "/tmp/escaped", "sub/../../escaped"]:
            with self.subTest(name=name):
                result = client(server.port, "put", work / "payload", name)
                self.assertEqual(result.returncode, EXIT_FAILURE, result.stderr)
                self.assertIn(b"name refused", result.stderr)
        self.assertEqual(list(root.iterdir()), [])
        self.assertFalse((root.parent / "escaped").exists())
        assert_alive(self, server)

    def test_a_symlink_out_of_the_root_is_refused_and_the_server_carries_on(self):
        server, root = served(self)
        outside = temp_dir(self) / "secret.txt"
        outside.write_bytes(b"top secret")
        (root / "escape").symlink_to(outside)
        result = client(server.port, "get", "escape", temp_dir(self) / "loot")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"symbolic link", result.stderr)
        work = temp_dir(self)
        (work / "new").write_bytes(b"overwritten")
        with start_server(STEP, "--root", root, "--overwrite") as overwriting:
            result = client(overwriting.port, "put", work / "new", "escape")
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(b"not a regular file", result.stderr)
        self.assertEqual(outside.read_bytes(), b"top secret")
        assert_alive(self, server)


class Limits(unittest.TestCase):
    def test_an_upload_larger_than_max_size_is_refused_before_any_byte_is_written(self):
        server, root = served(self, "--max-size", "1000")
        work = temp_dir(self)
        (work / "big").write_bytes(b"b" * 1001)
        result = client(server.port, "put", work / "big")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"the server refused (too big): 1001 bytes is more than this server accepts", result.stderr)
        self.assertEqual(list(root.iterdir()), [])
        (work / "fits").write_bytes(b"f" * 1000)
        self.assertEqual(client(server.port, "put", work / "fits").returncode, 0)

    def test_an_existing_file_is_replaced_only_with_overwrite(self):
        server, root = served(self)
        (root / "keep.txt").write_bytes(b"original")
        work = temp_dir(self)
        (work / "keep.txt").write_bytes(b"replacement")
        result = client(server.port, "put", work / "keep.txt")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"already exists", result.stderr)
        self.assertEqual((root / "keep.txt").read_bytes(), b"original")
        with start_server(STEP, "--root", root, "--overwrite") as overwriting:
            self.assertEqual(client(overwriting.port, "put", work / "keep.txt").returncode, 0)
        self.assertEqual((root / "keep.txt").read_bytes(), b"replacement")

    def test_a_download_never_replaces_a_local_file_without_overwrite(self):
        server, root = served(self)
        (root / "f").write_bytes(b"new")
        work = temp_dir(self)
        (work / "f").write_bytes(b"mine")
        result = client(server.port, "get", "f", work / "f")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"already exists", result.stderr)
        self.assertEqual(client(server.port, "--overwrite", "get", "f", work / "f").returncode, 0)
        self.assertEqual((work / "f").read_bytes(), b"new")

    def test_a_download_never_writes_through_a_symlink_named_like_its_part_file(self):
        server, root = served(self)
        (root / "f").write_bytes(b"downloaded")
        work = temp_dir(self)
        victim = temp_dir(self) / "victim"
        victim.write_bytes(b"precious")
        (work / "f.part").symlink_to(victim)  # planted where the download's DEST.part goes
        result = client(server.port, "get", "f", work / "f")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(victim.read_bytes(), b"precious")
        self.assertEqual((work / "f").read_bytes(), b"downloaded")
        self.assertFalse((work / "f.part").is_symlink())

    def test_a_missing_file_is_reported_as_not_found(self):
        server, _ = served(self)
        result = client(server.port, "get", "nothing-here", temp_dir(self) / "x")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"the server refused (not found): no file named 'nothing-here'", result.stderr)


class TemporaryFiles(unittest.TestCase):
    def test_a_file_already_named_like_the_servers_temporary_file_survives_an_upload(self):
        # The server's first upload would go to .upload-PID-1.part; somebody's file is there
        # already (e.g. left by an earlier server with the same PID). O_EXCL refuses to open
        # it; the server must take the next name and must not delete a file it did not create.
        server, root = served(self)
        squatter = root / f".upload-{server.pid}-1.part"
        squatter.write_bytes(b"not the server's")
        work = temp_dir(self)
        (work / "up.txt").write_bytes(b"payload")
        result = client(server.port, "put", work / "up.txt")
        self.assertEqual(result.returncode, 0, result.stderr)
        server.wait_for(rf"openat\({re.escape(squatter.name)}, O_EXCL\) -> EEXIST")
        self.assertEqual(squatter.read_bytes(), b"not the server's")
        self.assertEqual((root / "up.txt").read_bytes(), b"payload")
        self.assertEqual(sorted(p.name for p in root.iterdir()), sorted([squatter.name, "up.txt"]))


class SlowCallers(unittest.TestCase):
    """A caller that sends one byte every 0.3 s: each byte comes well within the server's
    --timeout 1 of the last, so only a deadline for the whole request stops it."""

    def start_trickle(self, server, data: bytes):
        stop = threading.Event()

        def trickle():
            with connect(server.address) as sock:
                for byte in data:
                    try:
                        sock.sendall(bytes([byte]))
                    except OSError:
                        return  # the server hung up on us: what the test expects
                    if stop.wait(0.3):
                        return

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(stop.set)
        server.wait_for(r"accept\(\) -> fd")  # the trickler is the call being served

    def assert_next_caller_served_soon(self, server, root):
        started = time.monotonic()
        result = client(server.port, "ls")  # waits in the listen queue behind the trickler
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"waiting.txt", result.stdout)
        # The trickle would take 80 s; one --timeout (1 s) plus slack is what the server allows.
        self.assertLess(elapsed, max(5.0, TIMEOUT / 2))

    def test_a_request_trickled_one_byte_at_a_time_is_dropped_after_one_timeout(self):
        server, root = served(self, "--timeout", "1")
        (root / "waiting.txt").write_bytes(b"x")
        self.start_trickle(server, request_bytes(0x02, b"n" * 255))
        server.wait_for(r"call from .* failed: recv (header|name): Connection timed out")
        self.assertEqual(server.stdout.count("accept()"), 1)  # the ls has not been served yet
        self.assert_next_caller_served_soon(server, root)

    def test_a_refused_caller_that_keeps_trickling_is_hung_up_on_within_a_second(self):
        # Garbage is refused at its first byte; then the server drains what the caller still
        # sends before close() (hang_up_gently), for at most one second IN ALL.
        server, root = served(self, "--timeout", "1")
        (root / "waiting.txt").write_bytes(b"x")
        self.start_trickle(server, b"G" + b"x" * 300)
        server.wait_for(r"call from .* failed: bad magic byte 0x47")
        self.assert_next_caller_served_soon(server, root)


class Cuts(unittest.TestCase):
    def cut_download(self, server, root, data, limit, work):
        relay = CuttingRelay(server.port, "down", limit)
        self.addCleanup(relay.close)
        result = client(relay.port, "get", "data.bin", work / "data.bin")
        self.assertEqual(result.returncode, EXIT_FAILURE, result.stdout)
        self.assertIn(b"the connection was cut", result.stderr)
        self.assertFalse((work / "data.bin").exists())  # nothing under the final name
        return result

    def test_a_cut_download_leaves_no_file_under_the_final_name(self):
        server, root = served(self)
        data = os.urandom(LARGE)
        (root / "data.bin").write_bytes(data)
        work = temp_dir(self)
        for limit in [16 + 1, 16 + 100_000, 16 + LARGE + 5]:  # in the data, and in the digest
            with self.subTest(limit=limit):
                self.cut_download(server, root, data, limit, work)
                part = (work / "data.bin.part").read_bytes()
                self.assertEqual(part, data[:len(part)])  # what arrived is kept, for --resume
        assert_alive(self, server)

    def test_a_download_cut_inside_the_reply_header_leaves_nothing_at_all(self):
        server, root = served(self)
        (root / "data.bin").write_bytes(os.urandom(100_000))
        work = temp_dir(self)
        relay = CuttingRelay(server.port, "down", 8)  # half of the reply's 16-byte header
        self.addCleanup(relay.close)
        result = client(relay.port, "get", "data.bin", work / "data.bin")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"hung up after 8 of the header's 16 bytes", result.stderr)
        self.assertEqual(list(work.iterdir()), [])  # no OK yet, so not even a .part
        assert_alive(self, server)

    def test_resume_after_a_cut_completes_with_the_right_digest(self):
        server, root = served(self)
        data = os.urandom(LARGE)
        (root / "data.bin").write_bytes(data)
        work = temp_dir(self)
        self.cut_download(server, root, data, 16 + 1_000_000, work)
        kept = (work / "data.bin.part").stat().st_size
        self.assertGreater(kept, 0)
        result = client(server.port, "get", "--resume", "data.bin", work / "data.bin")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"resuming: {work / 'data.bin.part'} already holds {kept} bytes".encode(), result.stdout)
        server.wait_for(rf"GET 'data.bin' from offset {kept}")
        self.assertEqual(result.stdout.splitlines()[-1].decode(), f"{sha256(data)}  {work / 'data.bin'}")
        self.assertEqual((work / "data.bin").read_bytes(), data)
        self.assertFalse((work / "data.bin.part").exists())

    def test_resume_of_a_file_changed_on_the_server_fails_the_digest_and_discards_the_part(self):
        server, root = served(self)
        data = os.urandom(LARGE)
        (root / "data.bin").write_bytes(data)
        work = temp_dir(self)
        self.cut_download(server, root, data, 16 + 500_000, work)
        (root / "data.bin").write_bytes(os.urandom(LARGE))  # same size, other bytes
        result = client(server.port, "get", "--resume", "data.bin", work / "data.bin")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"SHA-256 mismatch", result.stderr)
        self.assertFalse((work / "data.bin").exists())
        self.assertFalse((work / "data.bin.part").exists())

    def test_a_cut_upload_leaves_no_file_and_the_server_carries_on(self):
        server, root = served(self)
        work = temp_dir(self)
        (work / "up.bin").write_bytes(os.urandom(LARGE))
        for limit in [8, 16 + 3, 16 + 6 + 200_000, 16 + 6 + LARGE + 10]:  # header, name, data, digest
            with self.subTest(limit=limit):
                relay = CuttingRelay(server.port, "up", limit)
                self.addCleanup(relay.close)
                result = client(relay.port, "put", work / "up.bin", "up.bin")
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(b"client: error:", result.stderr)
                server.wait_for(r"call from .* failed: (the client hung up|the peer hung up)")
                self.assertEqual(list(root.iterdir()), [])  # no final file, no temporary
        assert_alive(self, server)


class StickyPackets(unittest.TestCase):
    def test_two_sends_arrive_in_one_recv_and_one_send_in_many(self):
        result = run(STEP, "sticky_demo", "--size", "1000000")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.decode()
        self.assertIn('recv() -> 10 bytes: "HELLOWORLD"', out)
        pieces = int(re.search(r"1000000 bytes in (\d+) recv\(\)s", out).group(1))
        self.assertGreater(pieces, 1)
        self.assertIn('message 1: header says 5 bytes -> "HELLO"', out)
        self.assertIn('message 2: header says 5 bytes -> "WORLD"', out)


class Arguments(unittest.TestCase):
    def test_bad_arguments_print_usage_and_exit_2(self):
        cases = [("client",), ("client", "bogus"), ("client", "get"), ("client", "get", "a", "b", "c"),
                 ("client", "ls", "x"), ("client", "put"), ("client", "--resume", "ls"),
                 ("client", "--port", "70000", "ls"), ("client", "put", "/etc/hostname", "n" * 256),
                 ("server", "--max-size", "-1"), ("server", "--port", "abc"), ("server", "--root", ""),
                 ("server", "extra"), ("server", "--timeout", "0"), ("sticky_demo", "--size", "0")]
        for name, *args in cases:
            with self.subTest(program=name, args=args):
                result = run(STEP, name, *args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(b"Usage: " + name.encode(), result.stderr)

    def test_no_server_means_exit_1_and_a_hint(self):
        port = free_tcp_port()
        result = run(STEP, "client", "--port", port, "ls")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"Connection refused - is the server running?", result.stderr)

    def test_a_missing_local_file_is_reported_as_such(self):
        server, _ = served(self)
        missing = temp_dir(self) / "missing.txt"
        result = client(server.port, "put", missing)
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertEqual(result.stderr.decode(), f"client: error: open {missing}: No such file or directory\n")

    def test_ctrl_c_stops_the_server_with_a_summary(self):
        server, _ = served(self)
        client(server.port, "ls")
        server.wait_for(r"close\(\) - hung up")
        self.assertEqual(interrupt(server), 0)
        self.assertIn("SIGINT received. Calls served: 1, failed: 0. Goodbye.", server.stdout)

    def test_ctrl_c_stops_the_server_even_while_a_client_is_silent(self):
        root = temp_dir(self) / "root"
        with start_server(STEP, "--root", root, "--timeout", "60") as server:
            with connect(server.address):
                server.wait_for(r"accept\(\) -> fd")
                self.assertEqual(interrupt(server), 0)  # well before the 60 s timeout
            self.assertRegex(server.stdout, "Interrupted system call|stopped by a signal")


if __name__ == "__main__":
    main()
