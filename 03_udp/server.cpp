// 03_udp/server.cpp - letters, not phone calls: take each datagram out of the mailbox and post
// it back to its sender in uppercase, for as long as letters arrive.
//
// What it teaches: a UDP server has no connection to accept, so it is four calls, not seven:
//     socket(SOCK_DGRAM)  put up a mailbox        bind()    paint the address on it
//     recvfrom()          take out the next letter (the envelope says who sent it)
//     sendto()            post the answer to the address on that envelope
// There is no listen(), no accept(), no per-caller socket and no hang-up: ONE socket serves
// every sender, and each recvfrom() returns exactly ONE datagram, whole, as it was sent
// (message boundaries are kept, unlike TCP's byte stream) - or cut short, if our buffer is
// smaller than the datagram: MSG_TRUNC below shows that.
// New since step 02: SOCK_DGRAM, recvfrom()/sendto() with the sender's address, MSG_TRUNC, the
// empty datagram (a real message in UDP, where recv() == 0 meant "hung up" in TCP).
// Moved into common since step 02: the Ctrl-C handling that step 02 wrote inline with
// sigaction() (a handler that sets a flag, no SA_RESTART so that a blocking recvfrom() returns
// EINTR) is sbs::install_stop_handlers() / sbs::stop_requested() / sbs::stop_signal_name() in
// common/include/sbs/signals.hpp; SO_RCVTIMEO, shown inline in step 01, is
// sbs::set_receive_timeout(). Resolving --host, Fd, narration and arguments are as in step 01.
// Partner: 03_udp/client.cpp.
//
// Run it (two terminals):
//     build/03_udp/server                                 # waits for datagrams on 127.0.0.1:9003
//     build/03_udp/client hello world                     # two datagrams: prints HELLO, WORLD
// or write to it with netcat instead of our client (-w1: wait 1 s for the reply, then quit):
//     printf 'hello from nc' | nc -u -w1 127.0.0.1 9003   # prints HELLO FROM NC
// and see MSG_TRUNC with a buffer too small for the datagram:
//     build/03_udp/server --buffer 1024
//     python3 -c 'print("x" * 2000)' | build/03_udp/client   # 1024 X come back, 976 bytes lost
// What you should see: one line per datagram with its sender's address and size, one line per
// reply; the server keeps serving whatever senders do until Ctrl-C, then prints a summary and
// exits 0.
#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"
#include "sbs/signals.hpp"

namespace {

constexpr std::uint16_t kDefaultPort = 9003;
// The UDP header's 16-bit length field caps a datagram at 65,535 bytes including the 8-byte
// header; IPv4's own 20-byte header leaves 65,507 bytes of payload (IPv6: 65,527). A buffer of
// 65,535 bytes therefore holds any datagram whole.
constexpr long long kMaxDatagram = 65535;
// How often the loop wakes up to check for Ctrl-C even when no datagram comes (see below).
constexpr double kStopCheckSeconds = 0.5;

struct Options {
    std::string host = "127.0.0.1";  // loopback: nothing outside this machine can write to us
    std::uint16_t port = kDefaultPort;
    long long buffer_size = kMaxDatagram;  // bytes one recvfrom() may take
    bool quiet = false;
};

// The reply: ASCII letters uppercased, every other byte (digits, UTF-8, binary) unchanged.
// std::toupper would depend on the locale; a byte service should not.
char to_upper_ascii(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// What the summary at Ctrl-C reports.
struct Tally {
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    std::uint64_t answered = 0;
    std::uint64_t truncated = 0;
};

int serve(const Options& options) {
    const sbs::Narrator narrator("server", options.quiet);

    // Ctrl-C and SIGTERM set a flag and interrupt recvfrom() with EINTR (sigaction without
    // SA_RESTART, as step 02 showed). Installed before the "listening on" line, so that nobody
    // who has read that line can kill us with the default action instead.
    sbs::install_stop_handlers();

    // Where to receive: 127.0.0.1:9003, [::1]:9003, ... SOCK_DGRAM asks for UDP addresses.
    const sbs::ResolvedAddress where =
        sbs::resolve(options.host, options.port, SOCK_DGRAM, sbs::Purpose::bind).front();

    // --- socket(SOCK_DGRAM): put up a mailbox. ---------------------------------------------------
    // SOCK_DGRAM instead of SOCK_STREAM: this socket sends and receives whole datagrams
    // (letters), each on its own, with no connection and no delivery or ordering guarantee.
    sbs::Fd fd(::socket(where.family, where.socktype, where.protocol));
    if (!fd) {
        sbs::throw_errno("socket");
    }
    narrator.say("socket(SOCK_DGRAM) -> fd {}  (a mailbox: no connection will ever be made)",
                 fd.get());

    // --- bind(): paint the address on the mailbox. -----------------------------------------------
    // Senders need to know where to post their datagrams. After bind() the kernel delivers
    // every datagram addressed to this port to this socket, from anyone: there is no listen()
    // and no accept(), because there are no calls to answer, only letters to read.
    if (::bind(fd.get(), where.address.data(), where.address.size()) == -1) {
        sbs::throw_errno(fmt::format("bind {}", where.address.to_string()));
    }
    sbs::SocketAddress own;  // with --port 0, which port did the kernel choose?
    if (::getsockname(fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.announce("bind() - listening on {} (no listen()/accept() for UDP)", own.to_string());

    // A signal that lands after the loop has checked the flag but before recvfrom() starts
    // waiting would be missed, and the server would sleep until the next datagram. Waking up
    // every half second (SO_RCVTIMEO: recvfrom() fails with EAGAIN) bounds that. Later steps
    // close the window for good (waiting with ppoll() and a signal mask, or a signalfd).
    sbs::set_receive_timeout(fd.get(), kStopCheckSeconds);

    // The buffer lives on the heap: 64 KiB is too big to put on the stack casually.
    std::vector<char> buffer(static_cast<std::size_t>(options.buffer_size));
    Tally tally;

    // --- the loop: recvfrom() a letter, sendto() the answer. -------------------------------------
    while (!sbs::stop_requested()) {
        // recvfrom() takes exactly one datagram and fills `sender` with its return address.
        // MSG_TRUNC (Linux): return the datagram's REAL length even when it is longer than our
        // buffer. The bytes that did not fit are discarded by the kernel: a later recvfrom()
        // never sees them, because it reads the next datagram. That is the price of boundaries.
        sbs::SocketAddress sender;  // fresh each time: its length is a value-result argument
        const ssize_t received = ::recvfrom(fd.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                            sender.data(), sender.size_ptr());
        if (received == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;  // a signal (check the flag) or the half-second wake-up: go round again
        }
        if (received == -1) {
            sbs::throw_errno("recvfrom");  // only a bug can get here (e.g. a bad buffer)
        }
        const auto length = static_cast<std::size_t>(received);
        const std::size_t kept = length < buffer.size() ? length : buffer.size();
        const std::string_view datagram(buffer.data(), kept);
        ++tally.datagrams;
        tally.bytes += length;
        if (length == 0) {
            // Not a hang-up: UDP has no connection to hang up. It is a datagram with no bytes
            // in it, and it deserves an answer like any other.
            narrator.say("recvfrom() -> 0 bytes from {}: an empty datagram (a real message in UDP)",
                         sender.to_string());
        } else if (length > kept) {
            ++tally.truncated;
            narrator.say("recvfrom() -> {} bytes from {}, {} kept: \"{}\"", length,
                         sender.to_string(), kept, sbs::printable(datagram));
            narrator.warn(
                "MSG_TRUNC: the datagram was {} bytes but the buffer holds {}: the other {} "
                "bytes are gone for good (UDP never delivers the rest of a datagram later)",
                length, kept, length - kept);
        } else {
            narrator.say("recvfrom() -> {} bytes from {}: \"{}\"", length, sender.to_string(),
                         sbs::printable(datagram));
        }

        // --- sendto(): post the answer to the address on the envelope. ---------------------------
        // One sendto() is one datagram: the whole reply or nothing (no partial sends to loop
        // over, unlike send() on TCP). A failure concerns this one sender only (for example a
        // local firewall rule), so it is reported and the server carries on serving the others.
        // (Bound to 0.0.0.0 on a machine with several addresses, the reply may leave from
        // another address than the one the sender wrote to, and a strict client would drop it:
        // IP_PKTINFO fixes that, beyond this step. Bound to one address, as by default, the
        // replies always leave from it.)
        std::string reply(datagram);
        for (char& c : reply) {
            c = to_upper_ascii(c);
        }
        ssize_t sent = 0;
        do {
            sent = ::sendto(fd.get(), reply.data(), reply.size(), 0, sender.data(), sender.size());
        } while (sent == -1 && errno == EINTR);  // interrupted before anything was sent: again
        if (sent == -1) {
            narrator.warn("sendto({}) failed: {} - skipping this sender", sender.to_string(),
                          std::strerror(errno));
            continue;
        }
        ++tally.answered;
        narrator.say("sendto({}) -> {} bytes: \"{}\"", sender.to_string(), sent,
                     sbs::printable(reply));
        // If that sender has already gone, its kernel answers with ICMP "port unreachable".
        // This socket is not connect()ed, so Linux does not report that error to us at all:
        // nothing a sender does can make our next recvfrom() fail.
    }

    // --- close(): take the mailbox down. ---------------------------------------------------------
    // Datagrams that arrive from now on are dropped by the kernel, silently: senders learn of it
    // only through ICMP port unreachable (a connect()ed client sees ECONNREFUSED) or a timeout.
    fd.close();
    narrator.say("{}: close() - no more datagrams", sbs::stop_signal_name());
    narrator.announce("summary: datagrams received {} ({} bytes), answered {}, truncated {}",
                      tally.datagrams, tally.bytes, tally.answered, tally.truncated);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("server",
                        "Receives UDP datagrams from anyone and sends each one back to its "
                        "sender in uppercase, until Ctrl-C.");
    args.host_option(options.host, sbs::ArgParser::Hosts::ip_only);  // AF_UNIX: an exercise
    args.port_option(options.port);
    args.option("--buffer", "BYTES", options.buffer_size, 1, kMaxDatagram,
                "bytes one recvfrom() can take (default 65535: any datagram); try 1024 to see "
                "MSG_TRUNC cut a larger datagram");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] { return serve(options); });
}
