// 02_tcp_loop/server.cpp - a phone that keeps ringing: answer caller after caller, and talk
// with each one for as long as they like.
//
// What it teaches: the two loops of every simple TCP server (seed 002's 链接循环 / 通信循环):
//     connection loop:    accept() a caller -> talk -> close() -> accept() the next one
//     conversation loop:  recv() -> answer with send() -> recv() ... until recv() returns 0
// and what a long-lived server must survive: callers that hang up (recv() == 0), callers that
// slam the phone down (ECONNRESET) or vanish while we talk (EPIPE), a restart right after a
// live call (SO_REUSEADDR and TIME_WAIT), callers queueing while one is served (listen()'s
// backlog, visible with `ss -ltn`), and Ctrl-C (a signal handler that only sets a flag).
// The service: every byte a caller sends comes back in order, ASCII letters uppercased. It is a
// byte-stream service, so it works the same however TCP cuts the stream into recv() pieces.
// New since step 01: the two loops; setsockopt(SO_REUSEADDR) and --no-reuseaddr; --backlog;
// sigaction() without SA_RESTART, and accept()/recv() returning EINTR; a half-second wake-up
// (SO_RCVTIMEO on both sockets) so that a Ctrl-C is never lost; accept() filling in the
// caller's address itself.
// Moved into common since step 01: the send() loop (sbs::send_all retries partial sends and
// EINTR, with MSG_NOSIGNAL) and the SO_RCVTIMEO / SO_SNDTIMEO calls (sbs::set_receive_timeout,
// sbs::set_send_timeout). The signal handling written out below comes from
// common/include/sbs/signals.hpp in steps 03 and later.
// Partners: 02_tcp_loop/client.cpp (this server's client); cmd_server.cpp and cmd_client.cpp
// are the remote-command pair of this step.
//
// Run it (two terminals):
//     build/02_tcp_loop/server                        # 127.0.0.1:9002, until Ctrl-C
//     build/02_tcp_loop/client                        # type lines; each comes back uppercased
// or call it with netcat (type lines, Ctrl-D to hang up):
//     nc 127.0.0.1 9002
// What you should see: the server narrates each accept() with the caller's address, one line
// per recv()/send() pair, "recv() -> 0: the caller hung up", then waits for the next caller.
// Ctrl-C prints a summary (callers served, bytes) and exits 0.
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9002;
constexpr std::size_t kBufferSize = 1024;  // one recv() takes at most this many bytes
constexpr double kStopCheckSeconds = 0.5;  // how often a waiting accept()/recv() wakes up

struct Options {
    std::string host = "127.0.0.1";  // loopback: nothing outside this machine can call
    std::uint16_t port = kDefaultPort;
    long long backlog = 5;  // listen()'s queue of callers waiting to be answered
    bool reuse_address = true;
    double timeout = 60;  // seconds a caller may stay silent (or not read) before we hang up
    bool quiet = false;
};

// What the whole run did, for the summary printed at Ctrl-C.
struct Totals {
    long long callers = 0;
    long long bytes_in = 0;
    long long bytes_out = 0;
};

// --- Stopping on Ctrl-C (SIGINT) or `kill` (SIGTERM) -------------------------------------------
// A signal handler runs in the middle of whatever the program was doing, so it may only touch
// a `volatile sig_atomic_t` (or a lock-free atomic): no printing, no malloc, no locks. It
// records which signal came; the loops below look at it. Steps 03+ take these lines from
// common (sbs::install_stop_handlers / sbs::stop_requested).
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int signum) {
    stop_signal = signum;
}

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART, on purpose: with it, the kernel would silently restart a blocking accept()
    // or recv() after our handler ran, and the loop would never get to look at the flag.
    // Without it, the blocking call returns -1 with errno EINTR ("interrupted").
    action.sa_flags = 0;
    for (const int signum : {SIGINT, SIGTERM}) {
        if (::sigaction(signum, &action, nullptr) == -1) {
            sbs::throw_errno("sigaction");
        }
    }
}

const char* signal_name(int signum) {
    return signum == SIGINT ? "SIGINT (Ctrl-C)" : signum == SIGTERM ? "SIGTERM" : "a signal";
}

// The reply: ASCII letters uppercased, every other byte (digits, UTF-8, binary) unchanged.
char to_upper_ascii(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// --- The conversation loop: talk with one caller until they hang up. -------------------------
// Everything that can go wrong here is this caller's problem, not the server's: whatever
// happens, we narrate it and return to the connection loop for the next caller.
void converse(const sbs::Narrator& narrator, int conn_fd, const sbs::SocketAddress& peer,
              const Options& options, Totals& totals) {
    // recv() wakes up every half second (SO_RCVTIMEO: it fails with EAGAIN) to look at the stop
    // flag: see the connection loop in serve() for why. (With a --timeout shorter than that, it
    // wakes up after --timeout instead, so that the hang-up below comes on time.)
    // A caller who never speaks must not hold the line forever: we add up the time since they
    // last sent anything (a steady_clock, which no clock change can move) and hang up after
    // --timeout seconds. A caller who never READS our replies is stopped by SO_SNDTIMEO: a send()
    // blocked for --timeout seconds fails (sbs::send_all throws std::errc::timed_out).
    const double wake_up =
        options.timeout > 0 ? std::min(kStopCheckSeconds, options.timeout) : kStopCheckSeconds;
    sbs::set_receive_timeout(conn_fd, wake_up);
    sbs::set_send_timeout(conn_fd, options.timeout);
    using Clock = std::chrono::steady_clock;
    auto last_heard = Clock::now();

    char buffer[kBufferSize];
    while (true) {
        if (stop_signal != 0) {  // Ctrl-C while a caller is on the line: say goodbye
            narrator.say("{} arrived: hanging up on {}", signal_name(stop_signal),
                         peer.to_string());
            return;
        }
        // recv(): whatever has arrived, 1 to 1024 bytes - a piece of the stream, not a message.
        const ssize_t received = ::recv(conn_fd, buffer, sizeof(buffer), 0);
        if (received == -1 && errno == EINTR) {
            continue;  // a signal interrupted the wait: the check above decides what to do
        }
        if (received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // The half-second wake-up: nothing arrived. Silent for --timeout in all? Hang up.
            const std::chrono::duration<double> silent = Clock::now() - last_heard;
            if (options.timeout > 0 && silent.count() >= options.timeout) {
                narrator.warn("{} said nothing for {} s (--timeout): hanging up on them",
                              peer.to_string(), options.timeout);
                return;
            }
            continue;  // go round: look at the stop flag, then wait again
        }
        if (received == -1 && errno == ECONNRESET) {
            // The caller's kernel sent RST instead of FIN: the caller closed its socket with
            // our reply still unread, or with SO_LINGER set to 0. Nothing more will come.
            narrator.warn("recv() failed: {} - {} slammed the phone down (RST)",
                          std::strerror(errno), peer.to_string());
            return;
        }
        if (received == -1) {
            narrator.warn("recv() failed: {} - dropping {}", std::strerror(errno),
                          peer.to_string());
            return;
        }
        if (received == 0) {
            // recv() == 0 is not an empty message: it is the caller's FIN, "I hung up". (An
            // empty send() sends nothing at all, so 0 can mean nothing else.)
            narrator.say("recv() -> 0: {} hung up", peer.to_string());
            return;
        }

        last_heard = Clock::now();  // they spoke: the silence starts again from zero

        // send(): the same bytes back, uppercased. sbs::send_all loops until every byte is
        // taken; if the caller has vanished it throws (EPIPE or ECONNRESET) instead of the
        // SIGPIPE that would kill a server calling plain send()/write() without MSG_NOSIGNAL.
        // (It retries after EINTR, so a Ctrl-C while send() waits for a caller who does not
        // read takes effect when the send succeeds or times out, after --timeout at most.)
        const auto length = static_cast<std::size_t>(received);
        for (std::size_t i = 0; i < length; ++i) {
            buffer[i] = to_upper_ascii(buffer[i]);
        }
        totals.bytes_in += received;
        try {
            sbs::send_all(conn_fd, buffer, length, fmt::format("send to {}", peer.to_string()));
        } catch (const std::system_error& error) {
            if (error.code() == std::errc::timed_out) {
                // SO_SNDTIMEO expired: the caller is still there but has not read our replies
                // for --timeout seconds, so their receive buffer and our send buffer are full.
                narrator.warn("{} is not reading our replies (--timeout): hanging up",
                              peer.to_string());
            } else {  // EPIPE or ECONNRESET: the caller's socket is gone
                narrator.warn("{} - the caller vanished while we were talking", error.what());
            }
            return;
        }
        totals.bytes_out += received;
        narrator.say("recv() -> {} bytes, send() -> {} bytes: \"{}\"", length, length,
                     sbs::printable(std::string_view(buffer, length), 40));
    }
}

int serve(const Options& options) {
    const sbs::Narrator narrator("server", options.quiet);
    install_stop_handlers();

    const sbs::ResolvedAddress where =
        sbs::resolve(options.host, options.port, SOCK_STREAM, sbs::Purpose::bind).front();

    // --- socket(): buy a phone. ----------------------------------------------------------------
    sbs::Fd listen_fd(::socket(where.family, where.socktype, where.protocol));
    if (!listen_fd) {
        sbs::throw_errno("socket");
    }
    narrator.say("socket() -> fd {}", listen_fd.get());

    // --- setsockopt(SO_REUSEADDR): let a restarted server take its number back. ----------------
    // When a server closes a live connection first, that connection's end on the server
    // lingers for a while (FIN_WAIT_2, then TIME_WAIT; `ss -tano` shows a timer of about a
    // minute) so that late packets of the old call cannot be mistaken for a new one. The lingering
    // socket still holds our port, and bind() would fail with "Address already in use".
    // SO_REUSEADDR, set BEFORE bind(), lets us bind anyway; it never lets two servers LISTEN on one
    // port. Try --no-reuseaddr to see the failure (README, experiment 1).
    if (options.reuse_address) {
        const int on = 1;
        if (::setsockopt(listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
            sbs::throw_errno("setsockopt SO_REUSEADDR");
        }
        narrator.say("setsockopt(SO_REUSEADDR, 1) - a restart may reuse the port at once");
    } else {
        narrator.warn(
            "SO_REUSEADDR not set (--no-reuseaddr): bind() fails while an old "
            "connection on this port lingers");
    }

    // --- bind(): insert the SIM card. --------------------------------------------------------
    if (::bind(listen_fd.get(), where.address.data(), where.address.size()) == -1) {
        if (errno == EADDRINUSE && !options.reuse_address) {
            const int saved = errno;  // narration must not lose the error number
            narrator.warn(
                "a connection of an earlier server may still hold port {}: see "
                "`ss -tan 'sport = :{}'`",
                where.address.port(), where.address.port());
            errno = saved;
        }
        sbs::throw_errno(fmt::format("bind {}", where.address.to_string()));
    }
    narrator.say("bind({})", where.address.to_string());
    const sbs::UnixSocketFile socket_file(where.address);  // a unix socket's file goes at exit

    // --- listen(): stand by, with a queue. -------------------------------------------------
    // The kernel completes the handshake with callers by itself and puts each finished
    // connection in the accept queue until we accept() it. While we talk to one caller, the
    // others wait there: `ss -ltn` shows the queue's length as Recv-Q and the backlog as
    // Send-Q. When the queue is full, Linux ignores new callers' handshakes, and their
    // connect() waits and retries (README, experiment 2). Step 05 serves callers at once.
    if (::listen(listen_fd.get(), static_cast<int>(options.backlog)) == -1) {
        sbs::throw_errno("listen");
    }
    sbs::SocketAddress own;
    if (::getsockname(listen_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.announce("listen() - listening on {}", own.to_string());  // shown even with --quiet
    narrator.say("backlog {}: up to {} callers can wait in the accept queue", options.backlog,
                 options.backlog + 1);  // Linux queues one more than the backlog

    // --- The connection loop: accept() caller after caller. ------------------------------------
    // It ends only when a signal has set stop_signal. A signal arriving while accept() blocks
    // makes it return EINTR (no SA_RESTART), and the check at the top ends the loop.
    // But there is a race: the signal can land AFTER the loop has looked at the flag and BEFORE
    // accept() has started to wait. The handler sets the flag, nothing is interrupted (nothing
    // was blocked yet), and accept() then sleeps until the next caller - forever, if none comes.
    // That gap is only a few instructions wide, yet a reviewer's script hit it in 8 of 300 runs,
    // and in 180 of 300 with the server pinned to one CPU. So accept() must not sleep for long:
    // SO_RCVTIMEO on the listening socket (Linux's accept() honours it, as recv() does) makes it
    // fail with EAGAIN every half second, and the loop looks at the flag again. A lost signal
    // now costs at most half a second. Closing the gap for good takes waiting and unblocking
    // the signal in one call (ppoll() with a signal mask) or turning signals into a file
    // descriptor (signalfd(), a self-pipe): tools of later steps.
    sbs::set_receive_timeout(listen_fd.get(), kStopCheckSeconds);
    Totals totals;
    bool said_waiting = false;  // narrate "waiting" once per wait, not at every wake-up
    while (stop_signal == 0) {
        if (!said_waiting) {
            narrator.say("accept() - waiting for a caller...");
            said_waiting = true;
        }
        sbs::SocketAddress peer;  // accept() fills in the caller's address (and its size)
        sbs::Fd conn_fd(::accept(listen_fd.get(), peer.data(), peer.size_ptr()));
        if (!conn_fd) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;  // a signal, or the half-second wake-up: the loop looks at the flag
            }
            if (errno == ECONNABORTED || errno == EPROTO) {
                // The caller gave up while waiting in the queue: the next one may be fine.
                narrator.warn("accept() failed: {} - waiting for the next caller",
                              std::strerror(errno));
                continue;
            }
            sbs::throw_errno("accept");
        }
        narrator.say("accept() -> fd {}, caller {}", conn_fd.get(), peer.to_string());
        said_waiting = false;
        ++totals.callers;

        converse(narrator, conn_fd.get(), peer, options, totals);

        // --- close(): hang up on this caller, then go back to accept(). ------------------
        conn_fd.close();
        narrator.say("close() - hung up on {}", peer.to_string());
    }

    // --- Stop: close the phone and say what we did. --------------------------------------------
    listen_fd.close();
    narrator.say("close() - stopped listening");
    narrator.announce("{}: stopped. {} caller(s) served, {} bytes received, {} bytes sent.",
                      signal_name(stop_signal), totals.callers, totals.bytes_in, totals.bytes_out);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    bool no_reuse_address = false;
    sbs::ArgParser args("server",
                        "Answers TCP callers one after another; sends every byte back with "
                        "ASCII letters uppercased. Ctrl-C stops it.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--backlog", "N", options.backlog, 0, 4096,
                "length of the accept queue passed to listen() (default 5)");
    args.flag("--no-reuseaddr", no_reuse_address,
              "do not set SO_REUSEADDR (to see bind() fail after a restart)");
    args.option("--timeout", "SECONDS", options.timeout, 0, 86400,
                "hang up on a caller silent (or not reading) this long; 0 = never (default 60)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] {
        options.reuse_address = !no_reuse_address;
        return serve(options);
    });
}
