#include "sbs/fd.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

int fresh_fd() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[1]);
    return fds[0];
}

}  // namespace

static_assert(!std::is_copy_constructible_v<sbs::Fd>, "two owners would close twice");
static_assert(!std::is_copy_assignable_v<sbs::Fd>);
static_assert(std::is_nothrow_move_constructible_v<sbs::Fd>);
static_assert(std::is_nothrow_move_assignable_v<sbs::Fd>);

TEST_CASE("an Fd closes its descriptor when it goes out of scope") {
    const int raw = fresh_fd();
    {
        const sbs::Fd owner(raw);
        CHECK(owner.valid());
        CHECK(owner.get() == raw);
        CHECK(is_open(raw));
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("moving an Fd transfers ownership and empties the source") {
    const int raw = fresh_fd();
    sbs::Fd first(raw);
    sbs::Fd second(std::move(first));
    CHECK_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): that is the point
    CHECK(second.get() == raw);
    CHECK(is_open(raw));
    first.reset();  // resetting the moved-from owner must not close the moved descriptor
    CHECK(is_open(raw));
}

TEST_CASE("move-assigning an Fd closes the descriptor it owned before") {
    const int old_raw = fresh_fd();
    const int new_raw = fresh_fd();
    sbs::Fd target(old_raw);
    sbs::Fd source(new_raw);
    target = std::move(source);
    CHECK_FALSE(is_open(old_raw));
    CHECK(is_open(new_raw));
    CHECK(target.get() == new_raw);
    CHECK_FALSE(source.valid());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("release gives the descriptor away without closing it") {
    const int raw = fresh_fd();
    int released = -1;
    {
        sbs::Fd owner(raw);
        released = owner.release();
        CHECK_FALSE(owner.valid());
    }
    CHECK(released == raw);
    CHECK(is_open(raw));
    ::close(raw);
}

TEST_CASE("close() hangs up at once and leaves an empty owner") {
    const int raw = fresh_fd();
    sbs::Fd owner(raw);
    owner.close();
    CHECK_FALSE(owner);
    CHECK_FALSE(is_open(raw));
}
