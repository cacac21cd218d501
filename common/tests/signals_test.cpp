#include "sbs/signals.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

TEST_CASE("a stop signal interrupts a blocking recv and raises the flag") {
    sbs::install_stop_handlers();
    CHECK_FALSE(sbs::stop_requested());
    CHECK(std::strcmp(sbs::stop_signal_name(), "") == 0);

    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    // A child process sends SIGTERM every 20 ms (for 5 s at most) until we kill it: whenever
    // our recv() below starts blocking, the next signal interrupts it.
    const pid_t self = ::getpid();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        for (int i = 0; i < 250; ++i) {
            ::kill(self, SIGTERM);
            ::usleep(20 * 1000);
        }
        ::_exit(0);
    }
    char byte = 0;
    const ssize_t n = ::recv(fds[0], &byte, 1, 0);
    const int error = errno;
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    CHECK(n == -1);
    CHECK(error == EINTR);
    CHECK(sbs::stop_requested());
    CHECK(std::strcmp(sbs::stop_signal_name(), "SIGTERM") == 0);
    ::close(fds[0]);
    ::close(fds[1]);
}
