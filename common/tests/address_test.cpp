#include "sbs/address.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "sbs/error.hpp"

TEST_CASE("ports parse from 0 to 65535 and nothing else") {
    CHECK(sbs::parse_port("0") == 0);
    CHECK(sbs::parse_port("9001") == 9001);
    CHECK(sbs::parse_port("65535") == 65535);
    CHECK_THROWS_AS((void)sbs::parse_port("70000"), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port("65536"), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port("abc"), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port(""), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port("-1"), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port("90 01"), sbs::UsageError);
    CHECK_THROWS_AS((void)sbs::parse_port("9001x"), sbs::UsageError);
}

TEST_CASE("a bad port is explained in the error message") {
    try {
        (void)sbs::parse_port("70000");
        FAIL("expected a UsageError");
    } catch (const sbs::UsageError& error) {
        CHECK(std::string(error.what()).find("0 to 65535") != std::string::npos);
        CHECK(std::string(error.what()).find("'70000'") != std::string::npos);
    }
}

TEST_CASE("an empty host is refused") {
    CHECK_THROWS_AS(sbs::check_host(""), sbs::UsageError);
    CHECK_THROWS_AS(sbs::check_host("127.0.0.1 "), sbs::UsageError);
    CHECK_NOTHROW(sbs::check_host("::1"));
    CHECK_THROWS_AS((void)sbs::resolve("", 9001, SOCK_STREAM, sbs::Purpose::connect),
                    std::invalid_argument);
}

TEST_CASE("IPv4 addresses resolve and print as host:port") {
    const auto found = sbs::resolve("127.0.0.1", 9001, SOCK_STREAM, sbs::Purpose::connect);
    REQUIRE(found.size() == 1);
    CHECK(found[0].family == AF_INET);
    CHECK(found[0].socktype == SOCK_STREAM);
    CHECK(found[0].address.port() == 9001);
    CHECK(found[0].address.to_string() == "127.0.0.1:9001");
}

TEST_CASE("IPv6 addresses print in brackets") {
    const auto found = sbs::resolve("::1", 9001, SOCK_DGRAM, sbs::Purpose::bind);
    REQUIRE(found.size() == 1);
    CHECK(found[0].family == AF_INET6);
    CHECK(found[0].socktype == SOCK_DGRAM);
    CHECK(found[0].address.to_string() == "[::1]:9001");
}

TEST_CASE("names resolve through getaddrinfo") {
    const auto found = sbs::resolve("localhost", 80, SOCK_STREAM, sbs::Purpose::connect);
    REQUIRE_FALSE(found.empty());
    for (const auto& candidate : found) {
        const std::string text = candidate.address.to_string();
        CHECK((text == "127.0.0.1:80" || text == "[::1]:80"));
    }
}

TEST_CASE("an unknown numeric-looking host fails with a getaddrinfo error") {
    try {
        (void)sbs::resolve("300.1.2.3.4", 1, SOCK_STREAM, sbs::Purpose::connect);
        FAIL("expected a resolution failure");
    } catch (const std::system_error& error) {
        CHECK(std::string(error.what()).starts_with("getaddrinfo 300.1.2.3.4: "));
        CHECK_FALSE(sbs::hint_for(error).empty());
    }
}

TEST_CASE("unix socket paths become AF_UNIX addresses") {
    CHECK(sbs::is_unix_path("/tmp/x.sock"));
    CHECK(sbs::is_unix_path("./x.sock"));
    CHECK(sbs::is_unix_path("unix:x.sock"));
    CHECK_FALSE(sbs::is_unix_path("localhost"));
    CHECK_FALSE(sbs::is_unix_path("::1"));

    const auto found = sbs::resolve("/tmp/sbs.sock", 0, SOCK_STREAM, sbs::Purpose::bind);
    REQUIRE(found.size() == 1);
    CHECK(found[0].family == AF_UNIX);
    CHECK(found[0].address.to_string() == "unix:/tmp/sbs.sock");
    CHECK(
        sbs::resolve("unix:rel.sock", 0, SOCK_STREAM, sbs::Purpose::bind)[0].address.to_string() ==
        "unix:rel.sock");
    CHECK_THROWS_AS(
        (void)sbs::resolve("/" + std::string(200, 'x'), 0, SOCK_STREAM, sbs::Purpose::bind),
        std::invalid_argument);
}

TEST_CASE("an unnamed unix socket prints as such") {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    const sbs::SocketAddress unnamed(reinterpret_cast<const sockaddr*>(&un), sizeof(sa_family_t));
    CHECK(unnamed.to_string() == "unix:(unnamed)");
}

TEST_CASE("addresses compare equal by value") {
    const auto a = sbs::resolve("127.0.0.1", 5, SOCK_DGRAM, sbs::Purpose::connect)[0].address;
    const auto b = sbs::resolve("127.0.0.1", 5, SOCK_DGRAM, sbs::Purpose::connect)[0].address;
    const auto c = sbs::resolve("127.0.0.1", 6, SOCK_DGRAM, sbs::Purpose::connect)[0].address;
    CHECK(a == b);
    CHECK_FALSE(a == c);
}

TEST_CASE("UnixSocketFile removes the socket file that bind() created") {
    const std::string path = "/tmp/sbs-unit-" + std::to_string(::getpid()) + ".sock";
    const auto where = sbs::resolve(path, 0, SOCK_STREAM, sbs::Purpose::bind).front();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::bind(fd, where.address.data(), where.address.size()) == 0);
    {
        const sbs::UnixSocketFile file(where.address);
        CHECK(::access(path.c_str(), F_OK) == 0);
    }
    CHECK(::access(path.c_str(), F_OK) == -1);
    ::close(fd);
}
