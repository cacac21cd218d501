"""Step 02 interop: our programs against peers we did not write (Python's socket, netcat)."""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import TIMEOUT, connect, main, require_tool, run, start_server  # noqa: E402
import unittest  # noqa: E402

STEP = "02_tcp_loop"


class WithPython(unittest.TestCase):
    def test_a_python_client_keeps_talking_on_one_connection(self):
        with start_server(STEP) as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
                for word in (b"one", b"two", b"three"):
                    sock.sendall(word)
                    reply = b""
                    while len(reply) < len(word):
                        reply += sock.recv(1024)
                    self.assertEqual(reply, word.upper())
            server.wait_for(r"recv\(\) -> 0: .* hung up")

    def test_our_client_talks_to_a_python_loop_server(self):
        """The seed's loop server, in Python: accept, then recv/send until recv returns b''."""
        heard = []
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(TIMEOUT)

            def serve_one_caller():
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    while data := conn.recv(1024):
                        heard.append(data)
                        conn.sendall(data.upper())

            server = threading.Thread(target=serve_one_caller)
            server.start()
            result = run(STEP, "client", "--quiet", "--port", listener.getsockname()[1],
                         input=b"hello\n\npython\n")
            server.join(TIMEOUT)
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        self.assertEqual(result.stdout, b"HELLO\nPYTHON\n")
        self.assertEqual(b"".join(heard), b"hellopython")

    def test_a_python_client_may_send_several_command_requests_at_once(self):
        with start_server(STEP, name="cmd_server") as server, connect(server.address) as sock:
            sock.sendall(b"seq 2\nfoo\nseq 3\n")  # three requests in one send(): still three
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            self.assertRegex(data, rb"^4 exit 0\n1\n2\n\d+ refused\n\"foo\" is not an allowed command[^\n]*\n"
                                   rb"6 exit 0\n1\n2\n3\n$")


class WithNetcat(unittest.TestCase):
    def test_nc_as_the_client(self):
        nc = require_tool("nc")
        with start_server(STEP) as server:
            result = subprocess.run([nc, "-N", "-w", "5", "127.0.0.1", str(server.port)],
                                    input=b"hello from nc\nsecond line\n", capture_output=True,
                                    timeout=TIMEOUT)
            self.assertEqual(result.stdout, b"HELLO FROM NC\nSECOND LINE\n")
            server.wait_for(r"recv\(\) -> 0: .* hung up")
            self.assertTrue(server.running)

    def test_nc_as_a_command_client(self):
        nc = require_tool("nc")
        with start_server(STEP, name="cmd_server") as server:
            result = subprocess.run([nc, "-N", "-w", "5", "127.0.0.1", str(server.port)],
                                    input=b"seq 3\n", capture_output=True, timeout=TIMEOUT)
            self.assertEqual(result.stdout, b"6 exit 0\n1\n2\n3\n")


if __name__ == "__main__":
    main()
