"""Step 01 end to end: the real server and client, started on port 0, talking for real."""

import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import (EXIT_FAILURE, EXIT_USAGE, TIMEOUT, connect, free_tcp_port, main,  # noqa: E402
                         recv_until_eof, run, start_server, temp_dir)
import unittest  # noqa: E402

STEP = "01_tcp_basic"


def upper_ascii(data: bytes) -> bytes:
    return bytes(b - 32 if 97 <= b <= 122 else b for b in data)


class OnePhoneCall(unittest.TestCase):
    def test_the_client_prints_the_message_in_uppercase(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--port", server.port, "hello,", "world")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.splitlines()[-1], b"HELLO, WORLD")
            self.assertEqual(server.finish(), 0)

    def test_quiet_prints_only_the_reply(self):
        with start_server(STEP, "--quiet") as server:
            result = run(STEP, "client", "--quiet", "--port", server.port, "abc")
            self.assertEqual((result.returncode, result.stdout, result.stderr), (0, b"ABC\n", b""))
            self.assertEqual(server.finish(), 0)
            self.assertEqual(server.stdout, f"server: listen() - listening on {server.address}\n")

    def test_bytes_other_than_ascii_letters_come_back_unchanged(self):
        message = bytes(range(256)) + "ü€".encode()
        with start_server(STEP) as server, connect(server.address) as sock:
            sock.sendall(message)
            self.assertEqual(recv_until_eof(sock), upper_ascii(message))
            self.assertEqual(server.finish(), 0)

    def test_the_server_narrates_every_call_and_exits_0_after_one_call(self):
        with start_server(STEP) as server:
            run(STEP, "client", "--port", server.port, "hi")
            self.assertEqual(server.finish(), 0)
            for line in [r"socket\(\) -> fd \d+", r"bind\(127\.0\.0\.1:0\)", r"accept\(\) -> fd \d+, caller 127\.0\.0\.1:\d+",
                         r'recv\(\) -> 2 bytes: "hi"', r'send\(\) -> 2 bytes: "HI"', r"close\(\) - hung up"]:
                self.assertRegex(server.stdout, line)

    def test_a_silent_caller_is_dropped_after_the_timeout(self):
        with start_server(STEP, "--timeout", "0.5") as server, connect(server.address) as sock:
            # We say nothing. The server must hang up (our recv sees EOF) and exit non-zero.
            self.assertEqual(recv_until_eof(sock), b"")
            self.assertEqual(server.finish(), EXIT_FAILURE)
            self.assertIn("sent nothing within 0.5 s", server.stderr)
            self.assertIn("hanging up", server.stdout)

    def test_a_caller_that_hangs_up_without_a_word_is_narrated(self):
        with start_server(STEP) as server:
            connect(server.address).close()
            self.assertEqual(server.finish(), 0)
            self.assertIn("recv() -> 0: the caller hung up", server.stdout)

    def test_a_full_buffer_is_flagged_as_maybe_not_the_whole_message(self):
        with start_server(STEP) as server, connect(server.address) as sock:
            sock.sendall(b"x" * 1024)
            self.assertEqual(recv_until_eof(sock), b"X" * 1024)
            self.assertEqual(server.finish(), 0)
            self.assertIn("the buffer is full (1024 bytes)", server.stdout)

    def test_a_longer_message_is_answered_in_part_and_never_crashes_the_server(self):
        with start_server(STEP) as server, connect(server.address) as sock:
            sock.sendall(b"y" * 3000)
            received = b""
            try:
                received = recv_until_eof(sock)
            except ConnectionResetError:
                pass  # unread bytes at close() make the kernel send RST: allowed, and explained
            self.assertTrue(b"Y" * 1024 == received or received == b"", received[:40])
            self.assertEqual(server.finish(), 0)
            self.assertIn("more may be waiting", server.stdout)

    def test_a_call_over_ipv6(self):
        with start_server(STEP, "--host", "::1") as server:
            self.assertTrue(server.address.startswith("[::1]:"), server.address)
            result = run(STEP, "client", "--host", "::1", "--port", server.port, "six")
            self.assertEqual(result.stdout.splitlines()[-1], b"SIX")
            self.assertEqual(server.finish(), 0)

    def test_a_call_to_localhost_by_name(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--host", "localhost", "--port", server.port, "name")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.splitlines()[-1], b"NAME")
            self.assertEqual(server.finish(), 0)

    def test_a_call_over_a_unix_socket_leaves_no_file_behind(self):
        path = temp_dir(self) / "01.sock"
        with start_server(STEP, "--host", str(path), port_zero=False) as server:
            self.assertEqual(server.address, f"unix:{path}")
            self.assertTrue(path.exists())
            result = run(STEP, "client", "--host", str(path), "local")
            self.assertEqual(result.stdout.splitlines()[-1], b"LOCAL")
            self.assertEqual(server.finish(), 0)
            self.assertIn("caller unix:(unnamed)", server.stdout)
            self.assertFalse(path.exists())


class WhenThingsGoWrong(unittest.TestCase):
    def test_no_server_means_exit_1_and_a_hint(self):
        port = free_tcp_port()
        result = run(STEP, "client", "--port", port)
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(f"connect 127.0.0.1:{port}: Connection refused - is the server running?".encode(),
                      result.stderr)

    def test_no_unix_socket_file_means_exit_1_and_a_hint(self):
        result = run(STEP, "client", "--host", str(temp_dir(self) / "nobody.sock"))
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"is the server running?", result.stderr)

    def test_a_port_in_use_is_explained(self):
        with start_server(STEP) as first:
            result = run(STEP, "server", "--port", first.port)
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(f"bind 127.0.0.1:{first.port}: Address already in use".encode(), result.stderr)
            self.assertIn(b"--port 0", result.stderr)

    def test_a_server_that_never_answers_makes_the_client_give_up(self):
        with socket.create_server(("127.0.0.1", 0)) as mute:
            port = mute.getsockname()[1]
            result = run(STEP, "client", "--timeout", "0.5", "--port", port, "anyone?")
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(b"no reply from", result.stderr)

    def test_bad_arguments_print_usage_and_exit_2(self):
        cases = [("server", "--port", "70000"), ("server", "--port", "abc"), ("server", "--host", ""),
                 ("server", "--bogus"), ("server", "extra"), ("server", "--timeout", "0"),
                 ("client", "--port", "-1"), ("client", "--port"), ("client", ""),
                 ("client", "x" * 1025)]
        for name, *args in cases:
            with self.subTest(program=name, args=args):
                result = run(STEP, name, *args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(b"Usage: " + name.encode(), result.stderr)

    def test_the_empty_message_is_refused_with_the_reason(self):
        result = run(STEP, "client", "")
        self.assertIn(b"deadlock", result.stderr)

    def test_help_prints_usage_and_exits_0(self):
        for name in ("server", "client"):
            result = run(STEP, name, "--help")
            self.assertEqual(result.returncode, 0)
            self.assertTrue(result.stdout.startswith(b"Usage: " + name.encode()), result.stdout)


if __name__ == "__main__":
    main()
