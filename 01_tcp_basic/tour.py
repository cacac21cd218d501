"""One phone call: connect, one message, an uppercase reply, hang up."""


def tour(t):
    t.say("The server answers one call; the client says one message and prints the reply.")
    with t.server() as server:
        t.run("--port", server.port, "hello,", "world")
        t.finish(server)

    t.say("Nobody answers: the client explains and exits 1.")
    with t.server() as server:  # borrow a free port, then hang the server up
        port = server.port
        t.run("--port", port, "bye", "--quiet")
        t.finish(server)
    t.run("--port", port, "hello?", expect=1)
