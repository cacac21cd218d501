#include "sbs/dial.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "sbs/address.hpp"

namespace {

// A listening socket on 127.0.0.1 and a free port chosen by the kernel.
sbs::Fd listening(std::uint16_t& port) {
    sbs::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
    REQUIRE(fd.valid());
    const auto where = sbs::resolve("127.0.0.1", 0, SOCK_STREAM, sbs::Purpose::bind).front();
    REQUIRE(::bind(fd.get(), where.address.data(), where.address.size()) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    sbs::SocketAddress own;
    REQUIRE(::getsockname(fd.get(), own.data(), own.size_ptr()) == 0);
    port = own.port();
    return fd;
}

}  // namespace

TEST_CASE("dial connects to a listening socket, by address and by name") {
    std::uint16_t port = 0;
    const sbs::Fd listener = listening(port);
    const sbs::Narrator quiet("client", true);
    for (const char* host : {"127.0.0.1", "localhost"}) {
        const sbs::Fd conn = sbs::dial(host, port, quiet);
        CHECK(conn.valid());
        sbs::SocketAddress peer;
        REQUIRE(::getpeername(conn.get(), peer.data(), peer.size_ptr()) == 0);
        CHECK(peer.to_string() == "127.0.0.1:" + std::to_string(port));
    }
}

TEST_CASE("dial names the address that refused, for the hint") {
    std::uint16_t port = 0;
    { (void)listening(port); }  // the port was free a moment ago and nobody listens now
    const sbs::Narrator quiet("client", true);
    try {
        (void)sbs::dial("127.0.0.1", port, quiet);
        FAIL("dial should have failed");
    } catch (const std::system_error& error) {
        CHECK(error.code().value() == ECONNREFUSED);
        CHECK(std::string(error.what()) ==
              "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
    }
}
