"""The tour: runs every step's programs end to end and shows what they say.

Each step folder may hold a tour.py with a function `tour(t)` that uses the Tour object below
to start its server, run its client, and check the exit codes. The tour stops at the first step
that misbehaves and exits 1; otherwise 0. Usage: python3 testing/tour.py [STEP-PREFIX...]
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sbs_harness  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BOLD = "\033[1m" if sys.stdout.isatty() else ""
PLAIN = "\033[0m" if sys.stdout.isatty() else ""


class TourError(Exception):
    pass


class TourServer:
    """A server started by the tour; killed on leaving the `with` block if still running."""

    def __init__(self, process: subprocess.Popen, address: str):
        self.process = process
        self.address = address
        self.port = int(address.rsplit(":", 1)[1]) if not address.startswith("unix:") else 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return False


class Tour:
    """What a step's tour() may do: each call shows the command, then the program's output.

    Every program the tour starts writes its stdout and stderr into ONE shared pipe, so their
    lines appear in the order they were really written (each line is one write(), and writes
    to a pipe smaller than PIPE_BUF never mix).
    """

    def __init__(self, step: str):
        self.step = step
        self._read_end, self._write_end = os.pipe()
        self._lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        with os.fdopen(self._read_end, "rb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                print(f"    {line}", flush=True)
                with self._changed:
                    self._lines.append(line)
                    self._changed.notify_all()

    def _wait_for(self, pattern: str, since: int, timeout: float) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines[since:]:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TourError(f"no line matching {pattern!r} within {timeout}s")
                self._changed.wait(remaining)

    def _settle(self) -> None:
        """Lets the pump print what is already in the pipe before the next command is shown."""
        time.sleep(0.05)  # cosmetic only: nothing is synchronised on this

    def say(self, text: str) -> None:
        self._settle()
        print(f"\n  {BOLD}# {text}{PLAIN}", flush=True)

    def _show(self, argv) -> None:
        self._settle()
        shown = " ".join(str(a) for a in argv).replace(str(sbs_harness.BUILD_DIR), "build")
        print(f"  $ {shown}", flush=True)

    def server(self, *args, name: str = "server") -> TourServer:
        """Starts the step's server on a free port (in the background) and waits until it listens."""
        argv = [sbs_harness.program(self.step, name), *map(str, args)]
        if "--port" not in args:
            argv += ["--port", "0"]
        self._show(argv + ["&"])
        with self._changed:
            since = len(self._lines)
        process = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                   stdout=self._write_end, stderr=self._write_end)
        try:
            match = self._wait_for(r"^\w+: .*listening on (\S+)", since, sbs_harness.TIMEOUT)
        except TourError:
            process.kill()
            process.wait()
            raise
        return TourServer(process, match.group(1))

    def run(self, *args, name: str = "client", input: bytes | None = None, expect: int = 0) -> None:
        """Runs one of the step's programs to completion and checks its exit code."""
        argv = [sbs_harness.program(self.step, name), *map(str, args)]
        if input is not None:  # shown as a command a student can paste: printf 'a\nb\n' | ...
            escaped = input.decode("utf-8", "replace").encode("unicode_escape").decode()
            argv_shown = ["printf", "'" + escaped.replace("'", "'\\''") + "'", "|", *argv]
        self._show(argv if input is None else argv_shown)
        process = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                                   stdout=self._write_end, stderr=self._write_end)
        try:
            process.communicate(input or b"", timeout=sbs_harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise TourError(f"{name} still running after {sbs_harness.TIMEOUT}s") from None
        self._settle()
        print(f"    (exit {process.returncode})", flush=True)
        if process.returncode != expect:
            raise TourError(f"{name} exited {process.returncode}, expected {expect}")

    def finish(self, server: TourServer, expect: int = 0) -> None:
        """Waits for a server to exit by itself and checks its exit code."""
        try:
            code = server.process.wait(timeout=sbs_harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TourError(f"server still running after {sbs_harness.TIMEOUT}s") from None
        self._settle()
        print(f"    (server exit {code})", flush=True)
        if code != expect:
            raise TourError(f"server exited {code}, expected {expect}")

    def stop(self, server: TourServer, signum=signal.SIGINT, expect: int = 0) -> None:
        """Sends a signal (Ctrl-C by default) to a server and checks its exit code."""
        self._settle()
        print(f"  $ kill -{signal.Signals(signum).name[3:]} %server", flush=True)
        server.process.send_signal(signum)
        self.finish(server, expect)


def main(prefixes: list[str]) -> int:
    steps = sorted(p.parent for p in ROOT.glob("[0-9][0-9]_*/tour.py"))
    steps = [s for s in steps if not prefixes or any(s.name.startswith(p) for p in prefixes)]
    if not steps:
        print("tour: no step matches", prefixes, file=sys.stderr)
        return 2
    for step in steps:
        spec = importlib.util.spec_from_file_location(f"tour_{step.name}", step / "tour.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n{BOLD}=== {step.name}: {module.__doc__.strip().splitlines()[0]}{PLAIN}", flush=True)
        try:
            module.tour(Tour(step.name))
        except (TourError, AssertionError) as error:
            print(f"\ntour: {step.name} misbehaved: {error}", file=sys.stderr)
            return 1
    print(f"\n{BOLD}tour: {len(steps)} step(s) ran as expected.{PLAIN}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
