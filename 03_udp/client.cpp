// 03_udp/client.cpp - post letters, not phone calls: send each message as one datagram, wait a
// little for the answer, send again if none comes, and print each answer.
//
// What it teaches: a UDP client has no connection to make and no hang-up, and nothing tells it
// that a datagram was lost. So it does what every UDP client must do itself:
//     socket(SOCK_DGRAM)  put up a mailbox
//     connect()           write the server's address on every envelope in advance (no packet
//                         is sent) and throw away letters from anyone else
//     send()              post one datagram: one send() is one message, whole
//     recv()              wait for the answer, but only --timeout seconds (SO_RCVTIMEO)
//     ... no answer?      post it again, at most --retries times, then give up and exit 1
// connect() on a UDP socket also lets the kernel report an ICMP "port unreachable" from the
// server's machine as ECONNREFUSED: we say "nobody is listening" instead of merely waiting.
// New since step 02: SOCK_DGRAM, connect() without a connection, timeouts and retries, the
// empty datagram (an empty line is a real message here; step 02's TCP client had to skip it).
// Moved into common since step 02: nothing new; SO_RCVTIMEO (shown inline in step 01) is
// sbs::set_receive_timeout(), and resolving --host, Fd, narration and arguments are as before.
// Partner: 03_udp/server.cpp.
//
// Run it (two terminals):
//     build/03_udp/server
//     build/03_udp/client hello world                  # two datagrams: prints HELLO and WORLD
//     printf 'one\n\nthree\n' | build/03_udp/client     # three datagrams, the middle one empty
// or answer it with netcat instead of our server (nc prints what it got; type a reply + Enter):
//     nc -u -l 127.0.0.1 9003
//     build/03_udp/client --timeout 30 hi
// What you should see: socket, connect (with the port the kernel chose for us), then for each
// message send and recv, the reply on its own line, exit 0. With no server: "nobody is
// listening" after each try, then one error line and exit 1 after about 4 s (1 s x 4 tries).
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9003;
constexpr std::size_t kMaxDatagram = 65535;  // any reply fits (see server.cpp)

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    double timeout = 1;     // seconds to wait for each reply
    long long retries = 3;  // extra tries after the first: 4 datagrams at most per message
    bool quiet = false;
    std::vector<std::string> messages;
};

using Clock = std::chrono::steady_clock;

// Discards whatever is already waiting on the socket before a new message goes out: a late
// reply to an earlier try (it was only slow, not lost) would otherwise be taken for the reply
// to the next message. MSG_DONTWAIT: look, but never block. A pending ECONNREFUSED from an
// earlier try is consumed here too. (This narrows the window; only a number in each message
// that the reply echoes closes it - exercise 3 in the README.)
void discard_late_replies(int fd, std::vector<char>& buffer, const sbs::Narrator& narrator) {
    while (true) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n >= 0) {
            narrator.say(
                "recv() -> {} bytes that arrived late (a reply to an earlier try, or a duplicate): "
                "discarded",
                n);
            continue;
        }
        if (errno == EINTR || errno == ECONNREFUSED) {
            continue;
        }
        return;  // EAGAIN: nothing (more) waiting
    }
}

// Sends one message as one datagram and waits for its reply, trying again after each
// --timeout without one. Returns the reply; throws when every try went unanswered.
std::string exchange(int fd, const std::string& message, std::vector<char>& buffer,
                     const sbs::SocketAddress& server, const Options& options,
                     const sbs::Narrator& narrator) {
    const long long tries = 1 + options.retries;
    bool refused = false;  // did ICMP port unreachable come back for any try?
    discard_late_replies(fd, buffer, narrator);

    for (long long attempt = 1; attempt <= tries; ++attempt) {
        // --- send(): post one datagram. ----------------------------------------------------------
        // On a connect()ed UDP socket send() needs no address (sendto(fd, ..., nullptr, 0) is
        // the same call). It is all or nothing: one send() is one datagram, never a partial send.
        ssize_t sent = 0;
        do {
            sent = ::send(fd, message.data(), message.size(), 0);
        } while (sent == -1 && (errno == EINTR || errno == ECONNREFUSED));
        // (ECONNREFUSED here is left over from an EARLIER datagram and this one was not sent;
        // the error is cleared by reporting it, so sending again works.)
        if (sent == -1 && errno == EMSGSIZE) {
            throw std::runtime_error(fmt::format(
                "send {} bytes: {} - one UDP datagram carries at most 65,507 bytes over IPv4 "
                "(65,527 over IPv6); larger data needs TCP or splitting (step 04)",
                message.size(), std::strerror(errno)));
        }
        if (sent == -1) {
            sbs::throw_errno(fmt::format("send to {}", server.to_string()));
        }
        narrator.say("send() -> {} bytes: \"{}\"  (one datagram, try {} of {})", sent,
                     sbs::printable(message), attempt, tries);

        // --- recv(): wait for the answer, but not forever. ---------------------------------------
        // UDP does not tell us that a datagram (ours or the reply) was lost: silence is all we
        // get. So the wait is bounded: SO_RCVTIMEO makes recv() fail with EAGAIN when the rest
        // of this try's --timeout has passed.
        const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout);
        while (true) {
            const std::chrono::duration<double> left = deadline - Clock::now();
            if (left.count() <= 0) {
                break;
            }
            // At least 1 ms: a zero SO_RCVTIMEO would mean "wait forever".
            sbs::set_receive_timeout(fd, left.count() < 0.001 ? 0.001 : left.count());
            const ssize_t received = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (received >= 0) {
                // Only the server can have sent it: connect() made the kernel drop datagrams
                // from every other address. 0 bytes is an empty datagram, not a hang-up.
                const std::string reply(buffer.data(), static_cast<std::size_t>(received));
                narrator.say("recv() -> {} bytes from {}: \"{}\"", received, server.to_string(),
                             sbs::printable(reply));
                return reply;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;  // this try's time is up
            }
            if (errno == ECONNREFUSED) {
                // The server's machine answered our datagram with ICMP "port unreachable": no
                // socket is bound to that port. Only a connect()ed UDP socket hears about it.
                // The server may still be starting (UDP has no connection, so either side may
                // start first): wait out this try, then post the datagram again.
                refused = true;
                narrator.say(
                    "recv() -> ECONNREFUSED: nobody is listening on {} (ICMP port "
                    "unreachable came back)",
                    server.to_string());
                continue;
            }
            sbs::throw_errno(fmt::format("recv from {}", server.to_string()));
        }
        if (attempt < tries) {
            narrator.say("no reply within {} s: sending it again", options.timeout);
        }
    }
    throw std::runtime_error(fmt::format(
        "no reply from {} after {} tries of {} s each (--retries {}, --timeout {}) - {}",
        server.to_string(), tries, options.timeout, options.retries, options.timeout,
        refused ? "nobody is listening there (ICMP port unreachable): is the server running?"
                : "the datagrams or the replies were lost, or the server is not answering"));
}

int post(const Options& options) {
    const sbs::Narrator narrator("client", options.quiet);

    // --- socket(SOCK_DGRAM) + connect(): a mailbox for one server. -------------------------------
    // A name may have several addresses (localhost: ::1 and 127.0.0.1). TCP's connect() tries
    // each with a handshake; UDP's connect() sends nothing, so it cannot tell which one has a
    // server behind it. We take the first, as the server's bind() does.
    const sbs::ResolvedAddress server =
        sbs::resolve(options.host, options.port, SOCK_DGRAM, sbs::Purpose::connect).front();
    sbs::Fd fd(::socket(server.family, server.socktype, server.protocol));
    if (!fd) {
        sbs::throw_errno("socket");
    }
    narrator.say("socket(SOCK_DGRAM) -> fd {}", fd.get());

    // connect() on UDP makes no call and sends no packet. It only (1) sets the default
    // destination, so send() needs no address, (2) binds us to a free local port now, and
    // (3) makes the kernel drop datagrams from any other address and report ICMP errors about
    // our datagrams (ECONNREFUSED). Without it, recvfrom() would hand us a datagram from
    // anyone who guessed our port, and we would have to compare its address with the server's.
    if (::connect(fd.get(), server.address.data(), server.address.size()) == -1) {
        sbs::throw_errno(fmt::format("connect {}", server.address.to_string()));
    }
    sbs::SocketAddress own;
    if (::getsockname(fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.say(
        "connect({}) - no packet sent: replies are accepted from there only; we are {} (a port "
        "the kernel chose)",
        server.address.to_string(), own.to_string());

    // --- one datagram per message: the arguments, or else the lines of stdin. --------------------
    // The reply goes to stdout as it came, one per line, so `client --quiet hi` prints just
    // "HI". An empty message is sent as an empty datagram: UDP delivers it (TCP cannot).
    std::vector<char> buffer(kMaxDatagram);  // on the heap: 64 KiB is a lot for the stack
    const auto send_and_print = [&](const std::string& message) {
        const std::string reply =
            exchange(fd.get(), message, buffer, server.address, options, narrator);
        std::fwrite(reply.data(), 1, reply.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);  // in order with the narration, even into a pipe
    };
    if (!options.messages.empty()) {
        for (const std::string& message : options.messages) {
            send_and_print(message);
        }
    } else {
        if (::isatty(STDIN_FILENO) == 1) {
            narrator.say("type messages, one datagram per line (Ctrl-D to end)");
        }
        std::string line;
        while (std::getline(std::cin, line)) {
            send_and_print(line);
        }
    }

    // --- close(): take the mailbox down. ---------------------------------------------------------
    // No goodbye is sent: there is nobody to hang up on.
    fd.close();
    narrator.say("close()");
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("client",
                        "Sends each MESSAGE (or each line of stdin) as one UDP datagram to the "
                        "step 03 server and prints each reply, retrying when none comes.");
    args.host_option(options.host, sbs::ArgParser::Hosts::ip_only);  // AF_UNIX: an exercise
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.01, 3600,
                "wait this long for each reply before sending again (default 1)");
    args.option("--retries", "N", options.retries, 0, 100,
                "send a message again at most N times when no reply comes (default 3)");
    args.quiet_flag(options.quiet);
    args.positionals("MESSAGE", options.messages, 0, 1000,
                     "messages to send, one datagram each (none: read lines from stdin)");
    return sbs::run_main(args, argc, argv, [&] { return post(options); });
}
