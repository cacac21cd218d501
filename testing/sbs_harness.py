"""The end-to-end test harness: start the real programs, talk to them, never hang.

Every test starts the built binaries with --port 0, reads the server's line
"listening on HOST:PORT", and talks to it over real sockets. Every wait has a deadline
(TIMEOUT seconds, longer under sanitizers), so a broken server fails a test in seconds instead
of hanging CI. Output is collected line by line by reader threads, so a test can wait for a
line of narration (a condition), never for a fixed time.

Only the Python standard library is used.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

BUILD_DIR = Path(os.environ.get("SBS_BUILD_DIR", Path(__file__).resolve().parent.parent / "build"))
# Sanitizer builds are several times slower; SBS_TEST_TIMEOUT stretches every deadline.
TIMEOUT = float(os.environ.get("SBS_TEST_TIMEOUT", "10"))

EXIT_FAILURE = 1
EXIT_USAGE = 2


def program(step: str, name: str) -> Path:
    """The path of a built program, e.g. program("01_tcp_basic", "server")."""
    path = BUILD_DIR / step / name
    if not path.exists():
        raise AssertionError(f"{path} is not built (run the build first)")
    return path


class Program:
    """A running program whose stdout and stderr are collected line by line.

    Use as a context manager: on exit the program is killed if it is still running, so a
    failing test never leaves a process behind.
    """

    def __init__(self, argv, *, stdin=subprocess.DEVNULL, echo=None, env=None):
        self.argv = [str(a) for a in argv]
        self._process = subprocess.Popen(
            self.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self._lines: list[str] = []
        self._errors: list[str] = []
        self._cursor = 0
        self._changed = threading.Condition()
        self._echo = echo
        self._readers = [
            threading.Thread(target=self._read, args=(self._process.stdout, self._lines), daemon=True),
            threading.Thread(target=self._read, args=(self._process.stderr, self._errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self._echo is not None:
                self._echo(line)
            with self._changed:
                sink.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stdin(self):
        return self._process.stdin

    @property
    def pid(self) -> int:
        return self._process.pid

    def describe(self) -> str:
        with self._changed:
            out = "\n".join(self._lines)
            err = "\n".join(self._errors)
        return f"$ {' '.join(self.argv)}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        """Waits for a stdout line matching `pattern` (after the last line matched so far)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(self._cursor, len(self._lines)):
                    match = regex.search(self._lines[index])
                    if match:
                        self._cursor = index + 1
                        return match
                self._cursor = len(self._lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._process.poll() is not None and not self._readers_alive()):
                    break
                self._changed.wait(min(remaining, 0.1))
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s\n{self.describe()}")

    def _readers_alive(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def finish(self, timeout: float = TIMEOUT) -> int:
        """Waits for the program to exit and returns its exit code (fails the test on timeout)."""
        try:
            code = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout}s\n{self.describe()}") from None
        for reader in self._readers:
            reader.join(timeout)
        return code

    def signal(self, signum) -> None:
        self._process.send_signal(signum)

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    @property
    def stdout(self) -> str:
        with self._changed:
            return "\n".join(self._lines) + ("\n" if self._lines else "")

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(self._errors) + ("\n" if self._errors else "")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        if self._process.stdin:
            self._process.stdin.close()
        for stream in (self._process.stdout, self._process.stderr):
            stream.close()
        return False


class Server(Program):
    """A server started on a free port; `address` is what it printed after 'listening on'."""

    def __init__(self, argv, **kwargs):
        super().__init__(argv, **kwargs)
        try:
            self.address = self.wait_for(r"listening on (\S+)").group(1)
        except AssertionError:
            self.kill()
            raise

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


def start_server(step: str, *args, name: str = "server", port_zero: bool = True, **kwargs) -> Server:
    """Starts <build>/<step>/<name> with --port 0 (unless port_zero=False) and the given args."""
    argv = [program(step, name), *args]
    if port_zero and "--port" not in args:
        argv += ["--port", "0"]
    return Server(argv, **kwargs)


def run(step: str, name: str, *args, input: bytes | None = None, timeout: float = TIMEOUT):
    """Runs a program to completion; returns CompletedProcess with bytes stdout/stderr."""
    argv = [str(program(step, name)), *map(str, args)]
    try:
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"{' '.join(argv)} still running after {timeout}s\n"
                             f"stdout: {error.stdout!r}\nstderr: {error.stderr!r}") from None


def split_address(address: str):
    """'127.0.0.1:9001' -> (AF_INET, ('127.0.0.1', 9001)); '[::1]:9' -> AF_INET6;
    'unix:/p' -> (AF_UNIX, '/p')."""
    if address.startswith("unix:"):
        return socket.AF_UNIX, address[len("unix:"):]
    host, port = address.rsplit(":", 1)
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def connect(address: str, timeout: float = TIMEOUT) -> socket.socket:
    """A TCP (or AF_UNIX stream) connection to a server's printed address."""
    family, target = split_address(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(target)
    return sock


def recv_until_eof(sock: socket.socket, limit: int = 64 * 1024 * 1024) -> bytes:
    """Everything the peer sends until it hangs up (bounded by the socket's timeout)."""
    chunks = []
    total = 0
    while total <= limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def free_tcp_port() -> int:
    """A port that was free a moment ago, for tests that need a server we did not write."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def temp_dir(test: unittest.TestCase) -> Path:
    """A fresh directory removed when the test ends (short path: AF_UNIX paths are <108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="sbs-"))
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def require_tool(name: str) -> str:
    """The path of an external tool (nc, ...), or skip the test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise unittest.SkipTest(f"{name} is not installed")
    return path


def main() -> None:
    """Runs the named tests; exits 0 on success, 77 when everything was skipped, 1 on failure."""
    program_ = unittest.main(module="__main__", exit=False, verbosity=2)
    result = program_.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0)
