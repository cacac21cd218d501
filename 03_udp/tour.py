"""Datagrams: no connection, whole messages, and a client that must retry on its own."""

import signal


def tour(t):
    t.say("The server reads datagrams from anyone; each argument goes out as one datagram.")
    with t.server() as server:
        t.run("--port", server.port, "hello", "world")

        t.say("Each line of stdin is one datagram; an empty line is a real, empty datagram.")
        t.run("--quiet", "--port", server.port, input=b"one\n\nthree\n")

        t.say("Ctrl-C: the server stops, prints a summary and exits 0.")
        t.stop(server, signal.SIGINT)

    t.say("A buffer smaller than the datagram: MSG_TRUNC reports the real size, the rest is lost.")
    with t.server("--buffer", "16") as server:
        t.run("--port", server.port, "this datagram is longer than sixteen bytes")
        t.stop(server)

    t.say("Over IPv6, the same four calls.")
    with t.server("--host", "::1") as server:
        t.run("--host", "::1", "--port", server.port, "six")
        t.stop(server)

    t.say("Nobody listening: ICMP port unreachable -> ECONNREFUSED, retries, then exit 1.")
    with t.server("--quiet") as server:  # borrow a free port, then take the server down
        port = server.port
        t.stop(server)
    t.run("--port", port, "--timeout", "0.2", "--retries", "2", "anyone?", expect=1)
