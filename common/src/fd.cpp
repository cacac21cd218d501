#include "sbs/fd.hpp"

#include <unistd.h>

namespace sbs {

void Fd::reset(int fd) noexcept {
    if (fd_ >= 0 && fd_ != fd) {
        ::close(fd_);  // errors ignored: see the comment in fd.hpp
    }
    fd_ = fd;
}

}  // namespace sbs
