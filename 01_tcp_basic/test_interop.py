"""Step 01 interop: our programs against peers we did not write (Python's socket, netcat)."""

import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing"))
from sbs_harness import TIMEOUT, connect, free_tcp_port, main, recv_until_eof, require_tool, run, start_server  # noqa: E402
import unittest  # noqa: E402

STEP = "01_tcp_basic"


class WithPython(unittest.TestCase):
    def test_a_python_client_gets_its_message_in_uppercase(self):
        with start_server(STEP) as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
                sock.sendall(b"from python")
                self.assertEqual(recv_until_eof(sock), b"FROM PYTHON")
            self.assertEqual(server.finish(), 0)

    def test_our_client_talks_to_a_python_server(self):
        heard = []
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(TIMEOUT)

            def answer_once():
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    heard.append(conn.recv(1024))
                    conn.sendall(b"python says hi")

            answerer = threading.Thread(target=answer_once)
            answerer.start()
            result = run(STEP, "client", "--port", listener.getsockname()[1], "hello", "python")
            answerer.join(TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(heard, [b"hello python"])
        self.assertEqual(result.stdout.splitlines()[-1], b"python says hi")


class WithNetcat(unittest.TestCase):
    def test_nc_as_the_client(self):
        nc = require_tool("nc")
        with start_server(STEP) as server:
            result = subprocess.run([nc, "-N", "-w", "5", "127.0.0.1", str(server.port)],
                                    input=b"hello from nc", capture_output=True, timeout=TIMEOUT)
            self.assertEqual(result.stdout, b"HELLO FROM NC")
            self.assertEqual(server.finish(), 0)

    def test_nc_as_the_server(self):
        nc = require_tool("nc")
        port = free_tcp_port()
        listener = subprocess.Popen([nc, "-N", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            listener.stdin.write(b"HI FROM NC")
            listener.stdin.close()  # nc sends this to whoever calls, then shuts down its side
            deadline = time.monotonic() + TIMEOUT
            while True:  # nc needs a moment to listen: retry while the call is refused
                result = run(STEP, "client", "--port", port, "hello", "nc")
                if b"Connection refused" not in result.stderr or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.splitlines()[-1], b"HI FROM NC")
            listener.wait(timeout=TIMEOUT)
            self.assertEqual(listener.stdout.read(), b"hello nc")
        finally:
            listener.kill()
            listener.wait()
            listener.stdout.close()
            listener.stderr.close()


if __name__ == "__main__":
    main()
