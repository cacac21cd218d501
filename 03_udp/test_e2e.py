"""Step 03 end to end: the real UDP server and client, started on port 0, posting datagrams."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import EXIT_FAILURE, EXIT_USAGE, TIMEOUT, Program, main, program, run, start_server  # noqa: E402
from udp_harness import ask, free_udp_port, replies, udp_socket, upper_ascii  # noqa: E402
import unittest  # noqa: E402

STEP = "03_udp"
LARGEST_IPV4 = 65507  # 65,535 - 20 (IPv4 header) - 8 (UDP header)
LARGEST_IPV6 = 65527  # 65,535 - 8: the IPv6 header is not counted in its payload length


def stop(server, signum=signal.SIGINT) -> int:
    server.signal(signum)
    return server.finish()


class Datagrams(unittest.TestCase):
    def test_each_argument_comes_back_in_uppercase_as_its_own_datagram(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--port", server.port, "hello,", "world")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(replies(result.stdout), [b"HELLO,", b"WORLD"])
            # Two sendto()s, two recvfrom()s: the boundaries between messages are kept.
            server.wait_for(r'recvfrom\(\) -> 6 bytes from 127\.0\.0\.1:\d+: "hello,"')
            server.wait_for(r'sendto\(127\.0\.0\.1:\d+\) -> 6 bytes: "HELLO,"')
            server.wait_for(r'recvfrom\(\) -> 5 bytes from 127\.0\.0\.1:\d+: "world"')
            self.assertEqual(stop(server), 0)

    def test_each_line_of_stdin_is_one_datagram_and_an_empty_line_is_an_empty_datagram(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--quiet", "--port", server.port, input=b"one\n\nthree")
            self.assertEqual((result.returncode, result.stdout, result.stderr), (0, b"ONE\n\nTHREE\n", b""))
            server.wait_for(r"recvfrom\(\) -> 0 bytes from .*: an empty datagram")
            self.assertEqual(stop(server), 0)

    def test_quiet_prints_only_the_address_the_replies_and_the_summary(self):
        with start_server(STEP, "--quiet") as server:
            result = run(STEP, "client", "--quiet", "--port", server.port, "abc")
            self.assertEqual((result.returncode, result.stdout, result.stderr), (0, b"ABC\n", b""))
            self.assertEqual(stop(server), 0)
            self.assertEqual(server.stdout.splitlines(), [
                f"server: bind() - listening on {server.address} (no listen()/accept() for UDP)",
                "server: summary: datagrams received 1 (3 bytes), answered 1, truncated 0"])

    def test_bytes_other_than_ascii_letters_come_back_unchanged(self):
        message = bytes(range(256)) + "ü€".encode()
        with start_server(STEP) as server:
            self.assertEqual(ask(server.address, message), upper_ascii(message))

    def test_the_largest_ipv4_datagram_comes_back_whole(self):
        message = b"abc" * (LARGEST_IPV4 // 3) + b"z" * (LARGEST_IPV4 % 3)
        with start_server(STEP) as server:
            self.assertEqual(ask(server.address, message), upper_ascii(message))
            server.wait_for(rf"recvfrom\(\) -> {LARGEST_IPV4} bytes")
            server.wait_for(rf"sendto\(.*\) -> {LARGEST_IPV4} bytes")

    def test_the_largest_ipv6_datagram_comes_back_whole(self):
        message = b"q" * LARGEST_IPV6
        with start_server(STEP, "--host", "::1") as server:
            self.assertTrue(server.address.startswith("[::1]:"), server.address)
            self.assertEqual(ask(server.address, message), b"Q" * LARGEST_IPV6)

    def test_our_client_carries_the_largest_datagram_both_ways(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--quiet", "--port", server.port, input=b"m" * LARGEST_IPV4 + b"\n")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, b"M" * LARGEST_IPV4 + b"\n")

    def test_the_empty_datagram_is_answered_with_an_empty_one(self):
        with start_server(STEP) as server:
            self.assertEqual(ask(server.address, b""), b"")
            server.wait_for(r"recvfrom\(\) -> 0 bytes from 127\.0\.0\.1:\d+: an empty datagram")
            server.wait_for(r"sendto\(127\.0\.0\.1:\d+\) -> 0 bytes")
            result = run(STEP, "client", "--port", server.port, "")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(b'recv() -> 0 bytes from', result.stdout)

    def test_a_buffer_too_small_cuts_the_datagram_and_msg_trunc_tells_the_real_size(self):
        with start_server(STEP, "--buffer", "1024") as server:
            self.assertEqual(ask(server.address, b"x" * 2000), b"X" * 1024)
            server.wait_for(r"recvfrom\(\) -> 2000 bytes from .*, 1024 kept")
            server.wait_for(r"MSG_TRUNC: the datagram was 2000 bytes but the buffer holds 1024: "
                            r"the other 976 bytes are gone")
            self.assertEqual(ask(server.address, b"next"), b"NEXT")  # the rest never turns up
            self.assertEqual(stop(server), 0)
            self.assertIn("truncated 1", server.stdout)

    def test_datagrams_from_two_senders_interleaved_each_go_back_to_their_own_sender(self):
        rounds = 50
        with start_server(STEP) as server:
            first, target = udp_socket(server.address)
            second, _ = udp_socket(server.address)
            with first, second:
                for i in range(rounds):  # all sent before any reply is read
                    first.sendto(b"first-%d" % i, target)
                    second.sendto(b"second-%d" % i, target)
                got_first = [first.recvfrom(100)[0] for _ in range(rounds)]
                got_second = [second.recvfrom(100)[0] for _ in range(rounds)]
            # UDP promises no order; loopback keeps it, but the specification is "each reply to
            # its own sender", so compare as sets of messages.
            self.assertEqual(sorted(got_first), sorted(b"FIRST-%d" % i for i in range(rounds)))
            self.assertEqual(sorted(got_second), sorted(b"SECOND-%d" % i for i in range(rounds)))
            self.assertEqual(stop(server), 0)
            self.assertIn(f"datagrams received {2 * rounds} ", server.stdout)

    def test_nothing_a_sender_does_stops_the_server(self):
        with start_server(STEP, "--buffer", "100") as server:
            # A sender that vanishes before its reply: our sendto() makes its kernel answer
            # ICMP port unreachable, which an unconnected socket never reports.
            gone, target = udp_socket(server.address)
            gone.sendto(b"vanishing", target)
            gone.close()
            server.wait_for(r'sendto\(.*\) -> 9 bytes: "VANISHING"')
            # Binary junk, an empty datagram, a datagram too big for the buffer.
            for junk in (b"\x00\xff\r\n" * 10, b"", b"j" * 5000):
                ask(server.address, junk)
            self.assertEqual(ask(server.address, b"still there?"), b"STILL THERE?")
            self.assertTrue(server.running)
            self.assertEqual(stop(server), 0)

    def test_ctrl_c_prints_a_summary_and_exits_0(self):
        with start_server(STEP) as server:
            ask(server.address, b"abcd")
            ask(server.address, b"ef")
            self.assertEqual(stop(server, signal.SIGINT), 0)
            self.assertIn("SIGINT: close() - no more datagrams", server.stdout)
            self.assertIn("summary: datagrams received 2 (6 bytes), answered 2, truncated 0", server.stdout)

    def test_sigterm_stops_it_cleanly_too(self):
        with start_server(STEP) as server:
            self.assertEqual(stop(server, signal.SIGTERM), 0)
            self.assertIn("SIGTERM: close()", server.stdout)

    def test_a_datagram_over_ipv6(self):
        with start_server(STEP, "--host", "::1") as server:
            result = run(STEP, "client", "--host", "::1", "--port", server.port, "six")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"connect({server.address})".encode(), result.stdout)
            self.assertEqual(replies(result.stdout), [b"SIX"])
            server.wait_for(r'recvfrom\(\) -> 3 bytes from \[::1\]:\d+: "six"')

    def test_a_datagram_to_localhost_by_name(self):
        with start_server(STEP, "--host", "localhost") as server:
            result = run(STEP, "client", "--host", "localhost", "--port", server.port, "name")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(replies(result.stdout), [b"NAME"])


class WhenNobodyAnswers(unittest.TestCase):
    def test_with_no_server_the_client_says_nobody_is_listening_and_exits_1(self):
        port = free_udp_port()
        result = run(STEP, "client", "--port", port, "--timeout", "0.2", "--retries", "2", "anyone?")
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertEqual(result.stdout.count(b"ECONNREFUSED: nobody is listening"), 3, result.stdout)
        self.assertIn(f"no reply from 127.0.0.1:{port} after 3 tries".encode(), result.stderr)
        self.assertIn(b"nobody is listening there (ICMP port unreachable)", result.stderr)

    def test_with_the_default_timeout_and_retries_the_client_gives_up_within_five_seconds(self):
        port = free_udp_port()
        started = time.monotonic()
        result = run(STEP, "client", "--port", port, "hello?")
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, EXIT_FAILURE)
        self.assertIn(b"try 4 of 4", result.stdout)  # 1 try + 3 retries, 1 s each
        self.assertGreater(elapsed, 3.5)
        self.assertLess(elapsed, 5.0 if TIMEOUT <= 10 else 8.0)

    def test_a_silent_server_gets_every_try_and_the_client_exits_1(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
            mute.bind(("127.0.0.1", 0))
            mute.settimeout(TIMEOUT)
            result = run(STEP, "client", "--port", mute.getsockname()[1], "--timeout", "0.2",
                         "--retries", "2", "hello?")
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(b"after 3 tries", result.stderr)
            self.assertIn(b"were lost, or the server is not answering", result.stderr)
            self.assertNotIn(b"nobody is listening", result.stderr)
            self.assertEqual([mute.recv(100) for _ in range(3)], [b"hello?"] * 3)

    def test_a_lost_datagram_is_sent_again_and_the_reply_still_arrives(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as lossy:
            lossy.bind(("127.0.0.1", 0))
            lossy.settimeout(TIMEOUT)

            def drop_the_first_then_answer():
                lossy.recvfrom(100)  # "lost": never answered
                data, sender = lossy.recvfrom(100)
                lossy.sendto(data.upper(), sender)

            answerer = threading.Thread(target=drop_the_first_then_answer)
            answerer.start()
            result = run(STEP, "client", "--port", lossy.getsockname()[1], "--timeout", "0.3", "again")
            answerer.join(TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"no reply within 0.3 s: sending it again", result.stdout)
        self.assertIn(b"try 2 of 4", result.stdout)
        self.assertEqual(replies(result.stdout), [b"AGAIN"])

    def test_a_server_started_after_the_client_still_answers(self):
        # UDP has no connection: either side may start first, as long as a retry is left.
        port = free_udp_port()
        argv = [program(STEP, "client"), "--port", port, "--timeout", "0.3", "--retries", "20", "early"]
        with Program(argv) as client:
            client.wait_for(r"ECONNREFUSED: nobody is listening")
            with start_server(STEP, "--port", str(port)):
                self.assertEqual(client.finish(), 0, client.describe())
                self.assertIn("EARLY\n", client.stdout)

    def test_replies_from_any_other_address_are_ignored(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as real, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as impostor:
            real.bind(("127.0.0.1", 0))
            real.settimeout(TIMEOUT)

            def impostor_first_then_the_real_reply():
                data, client_address = real.recvfrom(100)
                impostor.sendto(b"FAKE", client_address)  # same machine, another port: dropped
                real.sendto(b"REAL", client_address)

            answerer = threading.Thread(target=impostor_first_then_the_real_reply)
            answerer.start()
            result = run(STEP, "client", "--port", real.getsockname()[1], "--retries", "0", "who?")
            answerer.join(TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(b"FAKE", result.stdout)
        self.assertEqual(replies(result.stdout), [b"REAL"])


class WhenThingsGoWrong(unittest.TestCase):
    def test_a_datagram_too_large_for_udp_is_refused_with_the_reason(self):
        with start_server(STEP) as server:
            result = run(STEP, "client", "--port", server.port, input=b"x" * (LARGEST_IPV4 + 1))
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(b"send 65508 bytes: Message too long - one UDP datagram carries at most 65,507",
                          result.stderr)

    def test_a_port_in_use_is_explained(self):
        with start_server(STEP) as first:
            result = run(STEP, "server", "--port", first.port)
            self.assertEqual(result.returncode, EXIT_FAILURE)
            self.assertIn(f"bind 127.0.0.1:{first.port}: Address already in use".encode(), result.stderr)

    def test_bad_arguments_print_usage_and_exit_2(self):
        cases = [("server", "--port", "70000"), ("server", "--buffer", "0"), ("server", "--buffer", "65536"),
                 ("server", "--host", "/tmp/sbs.sock"), ("server", "extra"), ("server", "--bogus"),
                 ("client", "--timeout", "0"), ("client", "--retries", "-1"), ("client", "--retries", "x"),
                 ("client", "--host", "unix:/tmp/sbs.sock", "hi"), ("client", "--port")]
        for name, *args in cases:
            with self.subTest(program=name, args=args):
                result = run(STEP, name, *args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertIn(b"Usage: " + name.encode(), result.stderr)

    def test_help_prints_usage_and_exits_0(self):
        for name in ("server", "client"):
            result = run(STEP, name, "--help")
            self.assertEqual(result.returncode, 0)
            self.assertTrue(result.stdout.startswith(b"Usage: " + name.encode()), result.stdout)


if __name__ == "__main__":
    main()
