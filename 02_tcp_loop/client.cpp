// 02_tcp_loop/client.cpp - one phone call, many sentences: dial once, then send every line you
// type (or pipe in) and print each reply, until the end of input.
//
// What it teaches: the client's conversation loop (seed 002's 通信循环):
//     connect() once -> [read a line -> send() it -> recv() the whole reply] ... -> close()
// and two rules that keep both sides from waiting for each other forever:
//     - never send an empty message: send() of 0 bytes sends nothing, so the server never
//       answers and we would wait in recv() forever (seed 003's deadlock). Empty lines are
//       skipped.
//     - know how much reply to wait for: this server answers with exactly as many bytes as it
//       got, so we recv() until we have that many - not "one recv() and hope", which may return
//       only part of a reply, or the rest of the previous one.
// New since step 01: the loop over stdin lines; a reply read to a known length; no more than
// 64 KiB in flight at a time (so a huge line cannot fill both directions' buffers and stall
// both programs); the server hanging up mid-session reported in one line.
// Moved into common since step 01: socket() + connect() over each resolved address (sbs::dial),
// the send() and recv() loops (sbs::send_all and sbs::recv_exact, which retry partial
// transfers and EINTR) and SO_RCVTIMEO (sbs::set_receive_timeout).
// Partner: 02_tcp_loop/server.cpp.
//
// Run it (two terminals):
//     build/02_tcp_loop/server
//     build/02_tcp_loop/client                        # type lines; Ctrl-D ends the call
//     printf 'hello\n\nworld\n' | build/02_tcp_loop/client --quiet     # HELLO, then WORLD
// or call the same server with netcat instead of this client (type lines, Ctrl-D hangs up):
//     nc 127.0.0.1 9002
// What you should see: one narration line per send/recv, each reply on stdout as its own line,
// exit 0 at the end of input. If the server goes away mid-session: one line saying so, exit 1.
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/dial.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9002;
// Send at most this much before reading the answer to it. Bytes in flight sit in kernel
// buffers (ours, the server's); if we only sent and never read, the server's replies would fill
// them, the server would block in send(), stop reading, and then we would block in send() too.
constexpr std::size_t kMaxInFlight = 64 * 1024;

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    double timeout = 5;  // seconds to wait for each reply
    bool quiet = false;
};

// The server hung up, or the line broke, in the middle of the session.
[[noreturn]] void server_gone(const sbs::SocketAddress& peer, long long lines_done,
                              std::string_view why) {
    throw std::runtime_error(
        fmt::format("the server {} went away ({}) after {} line(s) - is it "
                    "still running?",
                    peer.to_string(), why, lines_done));
}

int call(const Options& options) {
    const sbs::Narrator narrator("client", options.quiet);

    // --- socket() + connect(): dial once, for the whole session. -------------------------------
    // sbs::dial is step 01's loop: try each address the name resolves to until one answers.
    sbs::Fd conn_fd = sbs::dial(options.host, options.port, narrator);
    sbs::SocketAddress peer;
    if (::getpeername(conn_fd.get(), peer.data(), peer.size_ptr()) == -1) {
        sbs::throw_errno("getpeername");
    }
    sbs::set_receive_timeout(conn_fd.get(), options.timeout);

    // A prompt only for a person at a terminal; when stdin or stdout is a pipe, stdout holds
    // the replies and nothing else.
    const bool interactive = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
    if (interactive) {
        narrator.say("type a line and press Enter; Ctrl-D hangs up");
    }

    // --- The conversation loop: one line out, its reply back. ----------------------------------
    long long lines_done = 0;
    std::string line;
    std::string reply;
    while (true) {
        if (interactive) {
            std::fputs(">>> ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) {
            break;  // end of input (Ctrl-D, or the end of the pipe)
        }
        if (line.empty()) {
            // An empty line would be a send() of 0 bytes: nothing goes out, the server never
            // answers, and recv() below would wait for a reply that cannot come. Skip it.
            narrator.say("(empty line skipped: sending 0 bytes would leave us both waiting)");
            continue;
        }

        // The line goes out without its '\n' (as the seed's input() does); long lines go in
        // pieces of at most kMaxInFlight bytes, each piece's echo read back before the next.
        reply.resize(line.size());
        for (std::size_t offset = 0; offset < line.size(); offset += kMaxInFlight) {
            const std::size_t piece = std::min(kMaxInFlight, line.size() - offset);
            try {
                sbs::send_all(conn_fd.get(), line.data() + offset, piece, "send");
            } catch (const std::system_error& error) {
                server_gone(peer, lines_done, error.what());
            }
            std::size_t got = 0;
            try {
                got = sbs::recv_exact(conn_fd.get(), reply.data() + offset, piece, "recv");
            } catch (const std::system_error& error) {
                if (error.code() == std::errc::timed_out) {
                    throw std::runtime_error(
                        fmt::format("recv: no reply from {} within {} s (--timeout)",
                                    peer.to_string(), options.timeout));
                }
                server_gone(peer, lines_done, error.what());
            }
            if (got < piece) {  // recv() returned 0 before the whole reply came: a hang-up
                server_gone(
                    peer, lines_done,
                    fmt::format("recv() -> 0 after {} of {} bytes", offset + got, line.size()));
            }
        }
        ++lines_done;
        narrator.say("send() -> {} bytes, recv() -> {} bytes: \"{}\"", line.size(), reply.size(),
                     sbs::printable(reply, 40));
        // The reply itself goes to stdout, one line per line sent, so `client --quiet` is a
        // filter: lines in, uppercased lines out.
        reply += '\n';
        std::fwrite(reply.data(), 1, reply.size(), stdout);
        std::fflush(stdout);
    }

    // --- close(): hang up. The server's recv() returns 0 and it goes back to accept(). ---------
    conn_fd.close();
    narrator.say("close() - hung up after {} line(s)", lines_done);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::ios::sync_with_stdio(false);  // stdin is read only through std::cin
    Options options;
    sbs::ArgParser args("client",
                        "Calls the step 02 server and sends each line of stdin (empty lines "
                        "skipped), printing each reply, until the end of input.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "give up waiting for a reply after this long (default 5)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] { return call(options); });
}
