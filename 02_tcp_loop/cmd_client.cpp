// 02_tcp_loop/cmd_client.cpp - asks cmd_server to run commands, one per line of stdin, and
// prints each command's output whole.
//
// What it teaches: reading a reply whose length is announced. cmd_server answers every
// request with a header line "LENGTH OUTCOME\n" (e.g. "29 exit 0\n") and then exactly LENGTH
// bytes, so the client reads the header, then recv()s until it has LENGTH bytes: a 588,895-byte
// `seq 1 100000` arrives whole, and the next reply starts exactly where it ends.
// --no-framing does what seed 001's client did: ONE recv() of up to 1024 bytes per command.
// Against `cmd_server --no-framing` it shows the bug: a long output is cut, and its rest is
// printed as the answer to the NEXT command (README, experiment 3).
// New since step 01: a loop over stdin lines; a length-prefixed reply; checking that length
// before trusting it (a broken or hostile server could announce 10 GB).
// Moved into common since step 01: sbs::dial (socket + connect, trying each address),
// sbs::send_all, sbs::recv_exact, sbs::set_receive_timeout.
// Partner: 02_tcp_loop/cmd_server.cpp.
//
// Run it (two terminals):
//     build/02_tcp_loop/cmd_server
//     printf 'date\nwhoami\nuname -a\n' | build/02_tcp_loop/cmd_client
//     printf 'date; rm -rf ~\n' | build/02_tcp_loop/cmd_client        # refused, nothing runs
// What you should see: each command's output on stdout; narration of each header ("<- 29
// bytes, exit 0"); refusals with their reason. Exit 0 at the end of input, 1 if the server
// goes away.
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
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

constexpr std::uint16_t kDefaultPort = 19002;
constexpr std::size_t kMaxHeader = 128;              // "LENGTH OUTCOME\n" is short
constexpr std::size_t kMaxReply = 64 * 1024 * 1024;  // refuse to believe more than this
constexpr std::size_t kUnframedBuffer = 1024;        // the seed's recv(1024)
constexpr std::size_t kServerMaxRequest = 256;       // cmd_server hangs up on a longer request line

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    double timeout = 10;  // seconds to wait for a reply: longer than the server's time limit
    bool framing = true;
    bool quiet = false;
};

// The server closed the connection (or reset it). It may have stopped - or it may have hung up
// on us on purpose: cmd_server hangs up after refusing a request line of kServerMaxRequest bytes
// or more (it cannot tell where such a request ends). Closing with our unread bytes still in its
// buffer makes its kernel send RST, which can destroy the refusal before we read it, so the
// hint has to come from what we sent.
[[noreturn]] void server_gone(const sbs::SocketAddress& peer, std::string_view why,
                              bool sent_over_long_request) {
    if (sent_over_long_request) {
        throw std::runtime_error(fmt::format(
            "the server {} went away ({}) - it may have hung up on us: cmd_server refuses a "
            "request line of {} bytes or more and hangs up",
            peer.to_string(), why, kServerMaxRequest));
    }
    throw std::runtime_error(
        fmt::format("the server {} went away ({}) - is it still running?", peer.to_string(), why));
}

// Reads the header line one byte per recv(), so not one byte of the body is read by mistake.
// Returns "" if the server hung up before a whole header came.
std::string recv_header(int conn_fd) {
    std::string header;
    while (header.size() < kMaxHeader) {
        char c = 0;
        if (sbs::recv_exact(conn_fd, &c, 1, "recv header") == 0) {
            return "";
        }
        if (c == '\n') {
            return header;
        }
        header += c;
    }
    throw std::runtime_error(
        fmt::format("no header line within {} bytes: is this a "
                    "cmd_server without --no-framing?",
                    kMaxHeader));
}

// "29 exit 0" -> length 29, outcome "exit 0". Anything else is a protocol error.
std::size_t parse_header(const std::string& header, std::string& outcome) {
    std::size_t length = 0;
    const char* end = header.data() + header.size();
    const auto [after, ec] = std::from_chars(header.data(), end, length);
    if (ec != std::errc{} || after == header.data() || after == end || *after != ' ') {
        throw std::runtime_error(fmt::format(
            "malformed reply header \"{}\" (expected \"LENGTH OUTCOME\")", sbs::printable(header)));
    }
    if (length > kMaxReply) {
        throw std::runtime_error(fmt::format(
            "the server announces {} bytes; this client accepts at most {}", length, kMaxReply));
    }
    outcome.assign(after + 1, end);
    return length;
}

int call(const Options& options) {
    const sbs::Narrator narrator("cmd_client", options.quiet);

    // --- socket() + connect(), trying each address of the name (sbs::dial, from step 01). ---
    sbs::Fd conn_fd = sbs::dial(options.host, options.port, narrator);
    sbs::SocketAddress peer;
    if (::getpeername(conn_fd.get(), peer.data(), peer.size_ptr()) == -1) {
        sbs::throw_errno("getpeername");
    }
    if (!options.framing) {
        narrator.say("NO FRAMING: one recv() per command, like seed 001");
    }
    sbs::set_receive_timeout(conn_fd.get(), options.timeout);
    const bool interactive = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;

    // --- The conversation loop: a request line out, a reply in. --------------------------------
    std::string line;
    bool sent_over_long_request = false;  // for the hint when the server hangs up
    while (true) {
        if (interactive) {
            std::fputs("cmd> ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) {
            break;
        }
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;  // nothing to run (and in --no-framing mode, no reply would come)
        }
        sent_over_long_request = sent_over_long_request || line.size() >= kServerMaxRequest;
        try {
            sbs::send_all(conn_fd.get(), line + "\n", "send");
        } catch (const std::system_error& error) {
            server_gone(peer, error.what(), sent_over_long_request);
        }

        std::string body;
        std::string outcome;
        try {
            if (options.framing) {
                // Framed: the header says how much, recv_exact() loops until it has that much.
                const std::string header = recv_header(conn_fd.get());
                if (header.empty()) {
                    server_gone(peer, "recv() -> 0 before the reply", sent_over_long_request);
                }
                body.resize(parse_header(header, outcome));
                if (sbs::recv_exact(conn_fd.get(), body.data(), body.size(), "recv") <
                    body.size()) {
                    server_gone(peer, "recv() -> 0 in the middle of a reply",
                                sent_over_long_request);
                }
            } else {
                // Unframed: one recv() and hope it is the whole reply - and only this reply.
                body.resize(kUnframedBuffer);
                ssize_t n = 0;
                do {
                    n = ::recv(conn_fd.get(), body.data(), body.size(), 0);
                } while (n == -1 && errno == EINTR);
                if (n == -1) {
                    sbs::throw_errno("recv");
                }
                if (n == 0) {
                    server_gone(peer, "recv() -> 0", sent_over_long_request);
                }
                body.resize(static_cast<std::size_t>(n));
                outcome = "unknown (no framing)";
            }
        } catch (const std::system_error& error) {
            if (error.code() == std::errc::timed_out) {
                throw std::runtime_error(fmt::format("no reply from {} within {} s (--timeout)",
                                                     peer.to_string(), options.timeout));
            }
            server_gone(peer, error.what(), sent_over_long_request);
        }

        if (outcome == "exit 0" || !options.framing) {
            narrator.say("\"{}\" <- {} bytes, {}: \"{}\"", sbs::printable(line), body.size(),
                         outcome, sbs::printable(body, 40));
        } else {
            narrator.warn("\"{}\" <- {} bytes, {}", sbs::printable(line), body.size(), outcome);
        }
        std::fwrite(body.data(), 1, body.size(), stdout);  // the output, exactly as it came
        if (!options.framing && (body.empty() || body.back() != '\n')) {
            std::fputc('\n', stdout);  // keep the next reply on its own line
        }
        std::fflush(stdout);
    }

    conn_fd.close();
    narrator.say("close() - hung up");
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::ios::sync_with_stdio(false);
    Options options;
    bool no_framing = false;
    sbs::ArgParser args("cmd_client",
                        "Sends each line of stdin to cmd_server as a command request and "
                        "prints each command's output.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "give up waiting for a reply after this long (default 10)");
    args.flag("--no-framing", no_framing,
              "read each reply with one recv(1024), as seed 001 did (for cmd_server "
              "--no-framing)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] {
        options.framing = !no_framing;
        return call(options);
    });
}
