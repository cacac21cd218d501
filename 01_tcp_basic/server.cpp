// 01_tcp_basic/server.cpp - one phone call: answer one caller, say its message back in
// uppercase, hang up.
//
// What it teaches: the seven calls of every TCP server, in order, each checked where it is made:
//     socket()  buy a phone          bind()  insert the SIM card     listen()  stand by
//     accept()  answer a call        recv()  listen to the caller    send()    talk back
//     close()   hang up
// New in this step: everything. Nothing is hidden in common except
//     - resolving "127.0.0.1" / "::1" / "localhost" / a unix path into a socket address
//       (getaddrinfo, in common/src/address.cpp) and printing addresses,
//     - the Fd owner that closes a socket on every path, narration, argument parsing, and the
//       one-line error report in main (common/include/sbs/*.hpp say how).
// Partner: 01_tcp_basic/client.cpp.
//
// Run it (two terminals):
//     build/01_tcp_basic/server                       # waits for one caller on 127.0.0.1:9001
//     build/01_tcp_basic/client hello, world          # prints HELLO, WORLD
// or call it with netcat instead of our client:
//     printf 'hello from nc' | nc 127.0.0.1 9001
// What you should see: the server narrates each call (socket, bind, listen, accept with the
// caller's address, recv, send, close), then exits 0. It serves exactly one call; step 02 loops.
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/narrate.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9001;
constexpr std::size_t kBufferSize = 1024;  // one recv() takes at most this many bytes

struct Options {
    std::string host = "127.0.0.1";  // loopback: nothing outside this machine can call
    std::uint16_t port = kDefaultPort;
    double timeout = 5;  // seconds a caller may stay silent
    bool quiet = false;
};

// The reply: ASCII letters uppercased, every other byte (digits, UTF-8, binary) unchanged.
// std::toupper would depend on the locale; a byte service should not.
char to_upper_ascii(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

int serve(const Options& options) {
    const sbs::Narrator narrator("server", options.quiet);

    // Where to answer: the address to bind, e.g. 127.0.0.1:9001, [::1]:9001, unix:/tmp/s.sock.
    const sbs::ResolvedAddress where =
        sbs::resolve(options.host, options.port, SOCK_STREAM, sbs::Purpose::bind).front();

    // --- socket(): buy a phone. ----------------------------------------------------------------
    // A new socket is just a descriptor: no address, no connection yet.
    sbs::Fd listen_fd(::socket(where.family, where.socktype, where.protocol));
    if (!listen_fd) {
        sbs::throw_errno("socket");
    }
    narrator.say("socket() -> fd {}  (a phone, not yet connected to anything)", listen_fd.get());

    // --- bind(): insert the SIM card. --------------------------------------------------------
    // Gives the socket the address callers will dial. Fails with "Address already in use" if
    // another socket holds it (step 02 explains SO_REUSEADDR and TIME_WAIT).
    if (::bind(listen_fd.get(), where.address.data(), where.address.size()) == -1) {
        sbs::throw_errno(fmt::format("bind {}", where.address.to_string()));
    }
    narrator.say("bind({})", where.address.to_string());
    const sbs::UnixSocketFile socket_file(where.address);  // a unix socket's file goes at exit

    // --- listen(): stand by for calls. ---------------------------------------------------------
    // From here on the kernel answers the three-way handshake by itself and queues finished
    // connections until we accept() them. The backlog (1) is the length of that queue.
    if (::listen(listen_fd.get(), 1) == -1) {
        sbs::throw_errno("listen");
    }

    // getsockname(): which address did we get? With --port 0 the kernel chose the port, and
    // this line is how a student (or a test) learns it.
    sbs::SocketAddress own;
    if (::getsockname(listen_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.announce("listen() - listening on {}", own.to_string());  // shown even with --quiet

    // --- accept(): answer a call. --------------------------------------------------------------
    // Blocks until a caller has connected, then returns a NEW socket for this one conversation.
    // listen_fd keeps standing by for others; conn_fd is the line to this caller.
    sbs::Fd conn_fd(::accept(listen_fd.get(), nullptr, nullptr));
    while (!conn_fd && errno == EINTR) {  // a signal woke us before a caller came: wait again
        conn_fd.reset(::accept(listen_fd.get(), nullptr, nullptr));
    }
    if (!conn_fd) {
        sbs::throw_errno("accept");
    }
    // getpeername(): who is calling? (accept() could fill this in too; this call shows how to
    // ask any connected socket.) A unix-socket client that never bound shows as "(unnamed)".
    sbs::SocketAddress peer;
    if (::getpeername(conn_fd.get(), peer.data(), peer.size_ptr()) == -1) {
        sbs::throw_errno("getpeername");
    }
    narrator.say("accept() -> fd {}, caller {}", conn_fd.get(), peer.to_string());

    // A caller who never speaks must not keep us on the line forever: the socket option
    // SO_RCVTIMEO makes a blocking recv() give up after --timeout seconds with EAGAIN.
    timeval patience{};
    patience.tv_sec = static_cast<time_t>(options.timeout);
    patience.tv_usec =
        static_cast<suseconds_t>((options.timeout - static_cast<double>(patience.tv_sec)) * 1e6);
    if (::setsockopt(conn_fd.get(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)) == -1) {
        sbs::throw_errno("setsockopt SO_RCVTIMEO");
    }

    // --- recv(): listen to the caller. ---------------------------------------------------------
    // recv() returns as soon as SOME bytes have arrived: 1 byte, or up to the buffer size.
    // It is one read of a byte stream, not one message.
    char buffer[kBufferSize];
    ssize_t received = 0;
    do {
        received = ::recv(conn_fd.get(), buffer, sizeof(buffer), 0);
    } while (received == -1 && errno == EINTR);  // interrupted by a signal: listen again
    if (received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        narrator.say("the caller said nothing for {} s: hanging up on them", options.timeout);
        conn_fd.close();
        throw std::runtime_error(fmt::format("recv: caller {} sent nothing within {} s (--timeout)",
                                             peer.to_string(), options.timeout));
    }
    if (received == -1) {
        sbs::throw_errno(fmt::format("recv from {}", peer.to_string()));
    }
    if (received == 0) {
        // recv() == 0 is not an empty message: it means the caller hung up (sent FIN).
        narrator.say("recv() -> 0: the caller hung up without saying anything");
        narrator.say("close() - hanging up");
        return 0;
    }
    const auto length = static_cast<std::size_t>(received);
    const std::string message(buffer, length);
    narrator.say("recv() -> {} bytes: \"{}\"", length, sbs::printable(message));
    if (length == sizeof(buffer)) {
        narrator.warn(
            "the buffer is full ({} bytes): more may be waiting in the kernel. One recv() is "
            "not one message - step 04 shows how to find where a message ends.",
            sizeof(buffer));
    }

    // --- send(): talk back. --------------------------------------------------------------------
    // send() may take fewer bytes than offered (the kernel's send buffer was full, or a signal
    // arrived), so keep sending the rest. MSG_NOSIGNAL: if the caller has vanished we want an
    // EPIPE error here, not a SIGPIPE that silently kills the server.
    std::string reply = message;
    for (char& c : reply) {
        c = to_upper_ascii(c);
    }
    std::size_t sent_total = 0;
    while (sent_total < reply.size()) {
        const ssize_t sent = ::send(conn_fd.get(), reply.data() + sent_total,
                                    reply.size() - sent_total, MSG_NOSIGNAL);
        if (sent == -1 && errno == EINTR) {
            continue;
        }
        if (sent == -1) {
            sbs::throw_errno(fmt::format("send to {}", peer.to_string()));
        }
        sent_total += static_cast<std::size_t>(sent);
    }
    narrator.say("send() -> {} bytes: \"{}\"", sent_total, sbs::printable(reply));

    // --- close(): hang up. ---------------------------------------------------------------------
    // Closing the connected socket sends FIN: the caller's recv() returns 0 once it has read
    // our reply. (If bytes the caller sent are still unread - see the note above - the kernel
    // sends RST instead, and the caller may see "Connection reset by peer".) Then we stop
    // listening too: this server takes exactly one call.
    conn_fd.close();
    narrator.say("close() - hung up on {}", peer.to_string());
    listen_fd.close();
    narrator.say("close() - stopped listening. One call served; goodbye.");
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("server",
                        "Answers one TCP caller: receives one message, sends it back "
                        "in uppercase, hangs up and exits.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "hang up on a caller silent this long (default 5)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] { return serve(options); });
}
