// 01_tcp_basic/client.cpp - one phone call: dial the server, say one message, print the reply.
//
// What it teaches: the calls of every TCP client, in order, each checked where it is made:
//     socket()  buy a phone      connect()  dial (the kernel does the three-way handshake)
//     send()    talk             recv()     listen to the answer      close()  hang up
// A client needs no bind(): connect() picks a free local port for us.
// New in this step: everything. Nothing is hidden in common except resolving the host name into
// addresses (getaddrinfo, common/src/address.cpp), the Fd owner, narration, argument parsing
// and the one-line error report (see common/include/sbs/*.hpp).
// Partner: 01_tcp_basic/server.cpp.
//
// Run it (two terminals):
//     build/01_tcp_basic/server
//     build/01_tcp_basic/client hello, world          # prints HELLO, WORLD
// or answer it with netcat instead of our server (nc replies with its own input, then hangs up):
//     printf 'HI FROM NC' | nc -N -l 127.0.0.1 9001
//     build/01_tcp_basic/client hello
// What you should see: the client narrates socket, connect (with the local port the kernel
// chose), send, recv and close, prints the reply, and exits 0. With no server running it prints
// "connect 127.0.0.1:9001: Connection refused - is the server running?" and exits 1.
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9001;
constexpr std::size_t kMaxMessage = 1024;  // the server reads one recv() of at most 1024 bytes

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    double timeout = 5;  // seconds to wait for the reply
    bool quiet = false;
    std::vector<std::string> words;
};

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words) {
        text += (text.empty() ? "" : " ") + word;
    }
    return text;
}

int call(const Options& options) {
    const sbs::Narrator narrator("client", options.quiet);

    const std::string message = options.words.empty() ? "hello" : join(options.words);
    if (message.empty()) {
        // send() of 0 bytes sends nothing at all. The server would sit in recv() waiting for
        // our words while we sat in recv() waiting for its answer: both wait forever.
        throw sbs::UsageError(
            "an empty message cannot be sent: the server would wait for words that never come "
            "while we wait for its reply (a deadlock)");
    }
    if (message.size() > kMaxMessage) {
        throw sbs::UsageError(fmt::format(
            "the message is {} bytes; step 01's server reads at most {} in its one recv() "
            "(step 02's server has no such limit)",
            message.size(), kMaxMessage));
    }

    // --- socket() + connect(): buy a phone and dial. -------------------------------------------
    // A name such as "localhost" may have several addresses (IPv6 ::1 and IPv4 127.0.0.1):
    // try each in turn until one answers, as every well-behaved client does.
    const std::vector<sbs::ResolvedAddress> candidates =
        sbs::resolve(options.host, options.port, SOCK_STREAM, sbs::Purpose::connect);
    sbs::Fd conn_fd;
    int last_error = 0;
    std::string last_address;
    for (const sbs::ResolvedAddress& candidate : candidates) {
        sbs::Fd fd(::socket(candidate.family, candidate.socktype, candidate.protocol));
        if (!fd) {
            sbs::throw_errno("socket");
        }
        narrator.say("socket() -> fd {}", fd.get());
        // connect() sends SYN and blocks until the server's kernel answers SYN-ACK (then we send
        // ACK): the three-way handshake. The server need not have called accept() yet.
        if (::connect(fd.get(), candidate.address.data(), candidate.address.size()) == -1) {
            last_error = errno;
            last_address = candidate.address.to_string();
            narrator.say("connect({}) failed: {}", last_address, std::strerror(last_error));
            continue;  // fd closes itself here; try the next address
        }
        conn_fd = std::move(fd);
        break;
    }
    if (!conn_fd) {
        sbs::throw_error(last_error, fmt::format("connect {}", last_address));
    }
    sbs::SocketAddress own;
    sbs::SocketAddress peer;
    if (::getsockname(conn_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    if (::getpeername(conn_fd.get(), peer.data(), peer.size_ptr()) == -1) {
        sbs::throw_errno("getpeername");
    }
    narrator.say("connect() - connected to {} from {} (a port the kernel chose)", peer.to_string(),
                 own.to_string());

    // --- send(): talk. -------------------------------------------------------------------------
    // Keep sending until every byte is taken (send() may take fewer than offered).
    std::size_t sent_total = 0;
    while (sent_total < message.size()) {
        const ssize_t sent = ::send(conn_fd.get(), message.data() + sent_total,
                                    message.size() - sent_total, MSG_NOSIGNAL);
        if (sent == -1 && errno == EINTR) {
            continue;
        }
        if (sent == -1) {
            sbs::throw_errno(fmt::format("send to {}", peer.to_string()));
        }
        sent_total += static_cast<std::size_t>(sent);
    }
    narrator.say("send() -> {} bytes: \"{}\"", sent_total, sbs::printable(message));

    // --- recv(): listen to the answer. ---------------------------------------------------------
    // The server sends its reply and hangs up, so we read until recv() returns 0 (the hang-up):
    // the reply may arrive in one piece or several. SO_RCVTIMEO bounds the wait (the
    // setsockopt() call that server.cpp shows, here through common).
    sbs::set_receive_timeout(conn_fd.get(), options.timeout);
    std::string reply;
    char buffer[4096];
    while (true) {
        const ssize_t received = ::recv(conn_fd.get(), buffer, sizeof(buffer), 0);
        if (received == -1 && errno == EINTR) {
            continue;
        }
        if (received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::runtime_error(fmt::format("recv: no reply from {} within {} s (--timeout)",
                                                 peer.to_string(), options.timeout));
        }
        if (received == -1) {
            sbs::throw_errno(fmt::format("recv from {}", peer.to_string()));
        }
        if (received == 0) {
            narrator.say("recv() -> 0: the server hung up, so the reply is complete");
            break;
        }
        reply.append(buffer, static_cast<std::size_t>(received));
        narrator.say("recv() -> {} bytes", received);
    }

    // --- close(): hang up. ---------------------------------------------------------------------
    conn_fd.close();
    narrator.say("close() - hung up");

    // The reply itself goes to stdout as it came, so `client --quiet hi` prints just "HI".
    std::fwrite(reply.data(), 1, reply.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("client",
                        "Calls the step 01 server, sends one message (default "
                        "\"hello\"), prints the reply and hangs up.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "give up waiting for the reply after this long (default 5)");
    args.quiet_flag(options.quiet);
    args.positionals("MESSAGE", options.words, 0, 1000, "words to send, joined by spaces");
    return sbs::run_main(args, argc, argv, [&] { return call(options); });
}
