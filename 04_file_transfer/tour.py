"""Files of any size over a byte stream: a length header marks where each message ends.

The tour shows the sticky-packets lesson, then uploads, lists and downloads a file with its
SHA-256, lets the server refuse hostile names and carry on, and stops it with Ctrl-C.
"""

import hashlib
import shutil
import signal
import tempfile
from pathlib import Path


def tour(t):
    work = Path(tempfile.mkdtemp(prefix="sbs-tour-04-"))
    try:
        t.say("TCP keeps no message boundaries: two send()s in one recv(), one send() in many.")
        t.run("--size", "1000000", name="sticky_demo")

        original = work / "notes.txt"
        original.write_bytes(b"".join(b"line %d of the notes\n" % i for i in range(20000)))
        root = work / "served"
        t.say(f"Serve {root} (created if missing); upload a file, list, download it back.")
        t.say(f"Python's hashlib says: {hashlib.sha256(original.read_bytes()).hexdigest()}")
        with t.server("--root", root) as server:
            t.run("--port", server.port, "put", original)
            t.run("--port", server.port, "ls")
            t.run("--port", server.port, "get", "notes.txt", work / "copy.txt")

            t.say("Hostile names are refused with a reason; the server carries on.")
            t.run("--port", server.port, "get", "../../etc/passwd", work / "x", expect=1)
            (root / "escape").symlink_to("/etc/hostname")
            t.run("--port", server.port, "get", "escape", work / "x", expect=1)
            t.run("--port", server.port, "put", original, expect=1)  # exists, no --overwrite

            t.say("Ctrl-C: the server stops between calls and prints a summary.")
            t.stop(server, signal.SIGINT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
