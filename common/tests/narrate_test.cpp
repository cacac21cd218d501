#include "sbs/narrate.hpp"

#include <doctest/doctest.h>

#include <system_error>

#include "sbs/error.hpp"

TEST_CASE("printable shows control and binary bytes as escapes") {
    CHECK(sbs::printable("hello") == "hello");
    CHECK(sbs::printable("a\nb\t\\") == "a\\nb\\t\\\\");
    CHECK(sbs::printable(std::string_view("\x00\xff", 2)) == "\\x00\\xff");
    CHECK(sbs::printable("abcdef", 3) == "abc... (6 bytes in all)");
}

TEST_CASE("errors name the call, and beginners get a hint") {
    const std::system_error refused(ECONNREFUSED, std::generic_category(),
                                    "connect 127.0.0.1:9001");
    CHECK(std::string(refused.what()) == "connect 127.0.0.1:9001: Connection refused");
    CHECK(sbs::hint_for(refused) == "is the server running?");
    const std::system_error in_use(EADDRINUSE, std::generic_category(), "bind");
    CHECK(sbs::hint_for(in_use).find("--port 0") != std::string::npos);
    const std::system_error odd(EDOM, std::generic_category(), "x");
    CHECK(sbs::hint_for(odd).empty());
}

TEST_CASE("a hint depends on the call that failed, not only on the error") {
    const std::system_error no_socket_file(ENOENT, std::generic_category(), "connect /tmp/s.sock");
    CHECK(sbs::hint_for(no_socket_file).find("is the server running?") != std::string::npos);
    const std::system_error no_file(ENOENT, std::generic_category(), "open notes.txt");
    CHECK(sbs::hint_for(no_file).empty());
    const std::system_error low_port(EACCES, std::generic_category(), "bind 0.0.0.0:80");
    CHECK(sbs::hint_for(low_port).find("need root") != std::string::npos);
    const std::system_error unreadable(EACCES, std::generic_category(), "open /etc/shadow");
    CHECK(sbs::hint_for(unreadable).empty());
}
