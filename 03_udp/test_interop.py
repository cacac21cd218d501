"""Step 03 interop: our UDP programs against peers we did not write (Python's socket, netcat)."""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import TIMEOUT, main, require_tool, run, start_server  # noqa: E402
from udp_harness import free_udp_port, replies  # noqa: E402
import unittest  # noqa: E402

STEP = "03_udp"


class WithPython(unittest.TestCase):
    def test_a_python_client_gets_its_datagram_back_in_uppercase(self):
        with start_server(STEP) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.sendto(b"from python", ("127.0.0.1", server.port))
            reply, sender = sock.recvfrom(65535)
            self.assertEqual((reply, sender), (b"FROM PYTHON", ("127.0.0.1", server.port)))
            server.wait_for(rf'recvfrom\(\) -> 11 bytes from 127\.0\.0\.1:{sock.getsockname()[1]}: "from python"')

    def test_a_connected_python_client_works_too(self):
        with start_server(STEP, "--host", "::1") as server, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(("::1", server.port))
            sock.send(b"six")
            self.assertEqual(sock.recv(100), b"SIX")

    def test_our_client_talks_to_a_python_udp_server(self):
        heard = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as python_server:
            python_server.bind(("127.0.0.1", 0))
            python_server.settimeout(TIMEOUT)

            def answer_twice():
                for _ in range(2):
                    data, sender = python_server.recvfrom(65535)
                    heard.append(data)
                    python_server.sendto(b"python got " + data, sender)

            answerer = threading.Thread(target=answer_twice)
            answerer.start()
            result = run(STEP, "client", "--port", python_server.getsockname()[1], "hello python", "bye")
            answerer.join(TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(heard, [b"hello python", b"bye"])
        self.assertEqual(replies(result.stdout), [b"python got hello python", b"python got bye"])


class WithNetcat(unittest.TestCase):
    def test_nc_u_as_the_client(self):
        nc = require_tool("nc")
        with start_server(STEP) as server:
            # -w1: after stdin ends, wait 1 s for the reply, then quit (UDP has no hang-up).
            result = subprocess.run([nc, "-u", "-w1", "127.0.0.1", str(server.port)],
                                    input=b"hello from nc", capture_output=True, timeout=TIMEOUT)
            self.assertEqual(result.stdout, b"HELLO FROM NC")
            server.wait_for(r'recvfrom\(\) -> 13 bytes from 127\.0\.0\.1:\d+: "hello from nc"')

    def test_nc_u_as_the_server(self):
        nc = require_tool("nc")
        port = free_udp_port()
        # nc -u -l waits for the first datagram, then sends what it reads on stdin to its sender.
        listener = subprocess.Popen([nc, "-u", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            listener.stdin.write(b"HI FROM NC")
            listener.stdin.flush()  # kept open: at end of input nc would stop
            # Until nc has bound its port our datagrams are refused: the retries cover that.
            result = run(STEP, "client", "--port", port, "--timeout", "0.3", "--retries", "20", "hello nc")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(replies(result.stdout), [b"HI FROM NC"])
        finally:
            listener.kill()
            listener.wait()
            heard = listener.stdout.read()
            for stream in (listener.stdin, listener.stdout, listener.stderr):
                stream.close()
        self.assertTrue(heard.startswith(b"hello nc"), heard)


if __name__ == "__main__":
    main()
