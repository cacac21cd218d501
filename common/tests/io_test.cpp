#include "sbs/io.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

#include "sbs/fd.hpp"

namespace {

struct Pair {
    sbs::Fd a;
    sbs::Fd b;
};

Pair stream_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    return {sbs::Fd(fds[0]), sbs::Fd(fds[1])};
}

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
    }
    return data;
}

// Interrupts this process with SIGALRM every 200 microseconds while alive. The handler is
// installed without SA_RESTART, so blocking send() and recv() calls really are interrupted:
// they return EINTR, or a partial count if some bytes had already moved.
std::atomic<int> alarms{0};
extern "C" void count_alarm(int) {
    alarms.fetch_add(1, std::memory_order_relaxed);
}

class AlarmStorm {
  public:
    AlarmStorm() {
        struct sigaction action {};
        action.sa_handler = count_alarm;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: let the calls see EINTR
        REQUIRE(::sigaction(SIGALRM, &action, &previous_) == 0);
        itimerval timer{};
        timer.it_interval.tv_usec = 200;
        timer.it_value.tv_usec = 200;
        REQUIRE(::setitimer(ITIMER_REAL, &timer, nullptr) == 0);
    }
    ~AlarmStorm() {
        itimerval off{};
        ::setitimer(ITIMER_REAL, &off, nullptr);
        ::sigaction(SIGALRM, &previous_, nullptr);
    }
    AlarmStorm(const AlarmStorm&) = delete;
    AlarmStorm& operator=(const AlarmStorm&) = delete;

  private:
    struct sigaction previous_ {};
};

// Reads everything from `fd` in small pieces, slowly enough that the sender's buffer fills.
std::string slow_read_all(int fd) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    ::pthread_sigmask(SIG_BLOCK, &block, nullptr);  // the alarms are for the sender
    std::string got;
    char chunk[997];
    for (int round = 0;; ++round) {
        const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            break;
        }
        got.append(chunk, static_cast<std::size_t>(n));
        if (round % 64 == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
    }
    return got;
}

}  // namespace

TEST_CASE("send_all delivers every byte through a tiny send buffer despite signals") {
    Pair pair = stream_pair();
    const int tiny = 4096;
    REQUIRE(::setsockopt(pair.a.get(), SOL_SOCKET, SO_SNDBUF, &tiny, sizeof(tiny)) == 0);
    const std::string data = pattern(4 * 1024 * 1024);

    std::string received;
    std::thread reader([&] { received = slow_read_all(pair.b.get()); });
    alarms = 0;
    {
        const AlarmStorm storm;
        sbs::send_all(pair.a.get(), data);
    }
    ::shutdown(pair.a.get(), SHUT_WR);
    reader.join();

    CHECK(alarms.load() > 0);  // the transfer really was interrupted
    REQUIRE(received.size() == data.size());
    CHECK(received == data);
}

TEST_CASE("recv_exact gathers a message that arrives in many small pieces despite signals") {
    Pair pair = stream_pair();
    const std::string data = pattern(256 * 1024);
    std::thread writer([&] {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGALRM);
        ::pthread_sigmask(SIG_BLOCK, &block, nullptr);
        for (std::size_t at = 0; at < data.size(); at += 1000) {
            const std::size_t n = std::min<std::size_t>(1000, data.size() - at);
            REQUIRE(::send(pair.b.get(), data.data() + at, n, MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(n));
        }
    });
    std::string buffer(data.size(), '\0');
    std::size_t got = 0;
    {
        const AlarmStorm storm;
        got = sbs::recv_exact(pair.a.get(), buffer.data(), buffer.size());
    }
    writer.join();
    CHECK(got == data.size());
    CHECK(buffer == data);
}

TEST_CASE("recv_exact reports a hang-up mid-message as a short count, not an error") {
    Pair pair = stream_pair();
    REQUIRE(::send(pair.b.get(), "abc", 3, 0) == 3);
    pair.b.close();  // the peer vanishes after 3 of the 10 bytes
    char buffer[10];
    CHECK(sbs::recv_exact(pair.a.get(), buffer, sizeof(buffer)) == 3);
    CHECK(std::string(buffer, 3) == "abc");
}

TEST_CASE("recv_exact returns 0 when the peer hangs up before sending anything") {
    Pair pair = stream_pair();
    pair.b.close();
    char buffer[4];
    CHECK(sbs::recv_exact(pair.a.get(), buffer, sizeof(buffer)) == 0);
}

TEST_CASE("send_all to a vanished peer throws EPIPE instead of raising SIGPIPE") {
    Pair pair = stream_pair();
    pair.b.close();
    // With SIGPIPE at its default action, a plain send() would kill this test process.
    REQUIRE((::signal(SIGPIPE, SIG_DFL) != SIG_ERR));
    try {
        sbs::send_all(pair.a.get(), "anyone there?", "send to the vanished peer");
        FAIL("send_all should have thrown");
    } catch (const std::system_error& error) {
        CHECK(error.code().value() == EPIPE);
        CHECK(std::string(error.what()).starts_with("send to the vanished peer: "));
    }
}

TEST_CASE("an expired receive timeout is reported as timed_out") {
    Pair pair = stream_pair();
    sbs::set_receive_timeout(pair.a.get(), 0.05);
    char buffer[1];
    try {
        (void)sbs::recv_exact(pair.a.get(), buffer, 1);
        FAIL("recv_exact should have timed out");
    } catch (const std::system_error& error) {
        CHECK(error.code() == std::errc::timed_out);
    }
}
