// fd.hpp - a move-only owner for one file descriptor.
//
// Every socket in this repository lives in an sbs::Fd from the moment socket() or accept()
// returns it, so no error path, early return or exception can leak it. Copies are deleted:
// two owners would close the same number twice, and the second close() could hit a descriptor
// that the kernel has meanwhile handed to someone else.
#pragma once

#include <utility>

namespace sbs {

class Fd {
  public:
    Fd() = default;
    /// Takes ownership of `fd` (which may be -1, meaning "nothing owned").
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd() { reset(); }

    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }

    /// The descriptor number, for passing to system calls. Ownership stays here.
    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    /// Gives up ownership without closing; the caller must close the result.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

    /// Closes the owned descriptor now (if any) and takes `fd` instead.
    /// close() errors are ignored on purpose: on Linux the descriptor is released even when
    /// close() reports an error (EINTR included), so there is nothing left to retry.
    void reset(int fd = -1) noexcept;

    /// Hangs up now: the same as reset(), named for the phone-call stage it teaches.
    void close() noexcept { reset(); }

  private:
    int fd_ = -1;
};

}  // namespace sbs
