// 04_file_transfer/sticky_demo.cpp - "sticky packets" (粘包): TCP is a byte stream, so one
// send() is not one recv(). Shown with real sockets, then fixed with a length header.
//
// What it teaches: the receiver sees a stream of bytes, never the sender's send() calls.
//   1. two send()s of 5 bytes can come out of ONE recv() as 10 bytes: where does the first end?
//   2. one send() of 4 MiB comes out of MANY recv()s of whatever had arrived;
//   3. the fix every protocol uses: put the length in front (a header), then read exactly that.
// New since step 03: nothing but the lesson. Moved into common: resolving, Fd, narration,
// recv_exact (used in part 3, the fix), argument parsing.
// Partner: protocol.hpp, which applies part 3 to files (a 16-byte header).
//
// Run it (one terminal; it talks to itself over 127.0.0.1):
//     build/04_file_transfer/sticky_demo
//     build/04_file_transfer/sticky_demo --size 100000000     # one send() of 100 MB
// What you should see: "recv() -> 10 bytes: "HELLOWORLD"" for the two sends; a list of recv()
// sizes adding up to the one large send; then HELLO and WORLD read back apart thanks to their
// length headers. The exact recv() sizes change from run to run: that is the point.
#include <fmt/core.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

struct Options {
    long long size = 4 * 1024 * 1024;  // the one large send() of part 2
    bool quiet = false;
};

// A connected pair over loopback: the "sender" end and the "receiver" end.
struct Connection {
    sbs::Fd sender;
    sbs::Fd receiver;
};

Connection connect_to_ourselves(const sbs::Narrator& narrator) {
    const sbs::ResolvedAddress where =
        sbs::resolve("127.0.0.1", 0, SOCK_STREAM, sbs::Purpose::bind).front();
    sbs::Fd listen_fd(::socket(where.family, where.socktype | SOCK_CLOEXEC, where.protocol));
    if (!listen_fd) {
        sbs::throw_errno("socket");
    }
    if (::bind(listen_fd.get(), where.address.data(), where.address.size()) == -1 ||
        ::listen(listen_fd.get(), 1) == -1) {
        sbs::throw_errno("bind/listen 127.0.0.1:0");
    }
    sbs::SocketAddress own;
    if (::getsockname(listen_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    Connection connection;
    connection.sender.reset(::socket(where.family, where.socktype | SOCK_CLOEXEC, where.protocol));
    if (!connection.sender) {
        sbs::throw_errno("socket");
    }
    // connect() completes against the listen queue; accept() then hands us the other end.
    if (::connect(connection.sender.get(), own.data(), own.size()) == -1) {
        sbs::throw_errno(fmt::format("connect {}", own.to_string()));
    }
    connection.receiver.reset(::accept(listen_fd.get(), nullptr, nullptr));
    if (!connection.receiver) {
        sbs::throw_errno("accept");
    }
    narrator.say("a TCP connection to ourselves over {}: one end sends, the other receives",
                 own.to_string());
    return connection;
}

// Waits (at most 2 s) until the kernel holds `bytes` unread bytes for this socket. A receiver
// that was busy elsewhere for a moment finds exactly this: everything sent meanwhile, queued.
void wait_until_queued(int fd, int bytes) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int queued = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd readable{fd, POLLIN, 0};
        if (::poll(&readable, 1, 100) == -1 && errno != EINTR) {
            sbs::throw_errno("poll");
        }
        if (::ioctl(fd, FIONREAD, &queued) == -1) {  // how many bytes wait to be recv()ed?
            sbs::throw_errno("ioctl FIONREAD");
        }
        if (queued >= bytes) {
            return;
        }
    }
}

ssize_t recv_some(int fd, char* buffer, std::size_t length) {
    ssize_t received = 0;
    do {
        received = ::recv(fd, buffer, length, 0);
    } while (received == -1 && errno == EINTR);
    if (received == -1) {
        sbs::throw_errno("recv");
    }
    return received;
}

int demonstrate(const Options& options) {
    const sbs::Narrator narrator("sticky_demo", options.quiet);

    // --- 1. two send()s, one recv() ---------------------------------------------------------
    narrator.say("1. two send()s of 5 bytes each, then one recv() with room for 1024");
    {
        Connection c = connect_to_ourselves(narrator);
        sbs::send_all(c.sender.get(), "HELLO");
        narrator.say("send() -> 5 bytes: \"HELLO\"");
        sbs::send_all(c.sender.get(), "WORLD");
        narrator.say("send() -> 5 bytes: \"WORLD\"");
        wait_until_queued(c.receiver.get(), 10);
        char buffer[1024];
        const ssize_t received = recv_some(c.receiver.get(), buffer, sizeof(buffer));
        narrator.say("recv() -> {} bytes: \"{}\"", received,
                     sbs::printable({buffer, static_cast<std::size_t>(received)}));
        narrator.say("   two messages glued together: nothing says where HELLO ends");
    }

    // --- 2. one send(), many recv()s -------------------------------------------------------
    const auto size = static_cast<std::size_t>(options.size);
    narrator.say("2. one send() of {} bytes, received with recv() into a 64 KiB buffer", size);
    {
        Connection c = connect_to_ourselves(narrator);
        // The sender runs in a thread: its one send() blocks until the receiver has made room
        // in the socket buffers, so the receiver must be reading at the same time.
        std::thread sender([fd = c.sender.get(), size] {
            const std::string big(size, 'x');
            const ssize_t sent = ::send(fd, big.data(), big.size(), MSG_NOSIGNAL);  // ONE call
            (void)sent;  // the receiver reports what arrived; a failure shows as a short total
            ::shutdown(fd, SHUT_WR);
        });
        std::vector<char> buffer(64 * 1024);
        std::vector<std::size_t> pieces;
        std::size_t total = 0;
        while (true) {
            const ssize_t received = recv_some(c.receiver.get(), buffer.data(), buffer.size());
            if (received == 0) {
                break;  // the sender's FIN: the stream is over
            }
            pieces.push_back(static_cast<std::size_t>(received));
            total += static_cast<std::size_t>(received);
        }
        sender.join();
        std::string sizes;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            if (i == 8 && pieces.size() > 12) {
                sizes += fmt::format(" ... ({} more) ...", pieces.size() - 12);
                i = pieces.size() - 4;
            }
            sizes += fmt::format(" {}", pieces[i]);
        }
        narrator.say("recv() sizes:{}", sizes);
        narrator.say("   {} bytes in {} recv()s: the one send() arrived in pieces", total,
                     pieces.size());
    }

    // --- 3. the fix: a length header in front of every message ------------------------------
    narrator.say("3. the fix: send a 4-byte big-endian length before each message");
    {
        Connection c = connect_to_ourselves(narrator);
        for (const std::string message : {"HELLO", "WORLD"}) {
            const auto n = static_cast<std::uint32_t>(message.size());
            const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                    static_cast<char>(n >> 8), static_cast<char>(n)};
            sbs::send_all(c.sender.get(), std::string(header, 4) + message);
            narrator.say("send() -> 4 + {} bytes: length {}, then \"{}\"", n, n, message);
        }
        wait_until_queued(c.receiver.get(), 18);  // both glued together again, on purpose
        for (int i = 1; i <= 2; ++i) {
            unsigned char header[4];  // read EXACTLY the header, however many recv()s it takes
            if (sbs::recv_exact(c.receiver.get(), header, sizeof(header)) != sizeof(header)) {
                throw std::runtime_error("the sender hung up early");
            }
            const std::uint32_t length = (std::uint32_t{header[0]} << 24) |
                                         (std::uint32_t{header[1]} << 16) |
                                         (std::uint32_t{header[2]} << 8) | header[3];
            std::string message(length, '\0');  // fine here: we trust ourselves (see protocol.cpp)
            if (sbs::recv_exact(c.receiver.get(), message.data(), length) != length) {
                throw std::runtime_error("the sender hung up early");
            }
            narrator.say("message {}: header says {} bytes -> \"{}\"", i, length, message);
        }
        narrator.say("   the boundaries are back: the header tells the receiver where to stop");
    }
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("sticky_demo",
                        "Shows that TCP keeps no message boundaries (sticky packets), then "
                        "fixes it with a length header.");
    args.option("--size", "BYTES", options.size, 1, 1LL << 30,
                "size of the one large send() (default 4194304)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] { return demonstrate(options); });
}
