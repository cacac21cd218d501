"""A server that keeps answering: caller after caller, line after line, until Ctrl-C.

Also the safe remote-command service: an allowlist, no shell, limits, and a length line per reply.
"""

import signal


def tour(t):
    t.say("The server loops: one caller sends three lines (the empty one is skipped), "
          "another comes after it; Ctrl-C prints the summary.")
    with t.server() as server:
        t.run("--port", server.port, input=b"hello\n\nsecond line\n")
        t.run("--port", server.port, "--quiet", input=b"next caller\n")
        t.stop(server, signal.SIGINT)

    t.say("Remote commands: only allowlisted ones run, started without a shell; "
          "the injection attempt is refused and runs nothing.")
    with t.server("--time-limit", "0.5", name="cmd_server") as server:
        t.run("--port", server.port, name="cmd_client",
              input=b"whoami\nseq 3\ndate; rm -rf ~\nsleep 5\n")
        t.stop(server, signal.SIGTERM)
