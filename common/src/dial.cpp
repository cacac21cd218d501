#include "sbs/dial.hpp"

#include <fmt/core.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sbs/address.hpp"
#include "sbs/error.hpp"

namespace sbs {

Fd dial(std::string_view host, std::uint16_t port, const Narrator& narrator) {
    int last_error = 0;
    std::string last_address;
    for (const ResolvedAddress& candidate : resolve(host, port, SOCK_STREAM, Purpose::connect)) {
        Fd fd(::socket(candidate.family, candidate.socktype | SOCK_CLOEXEC, candidate.protocol));
        if (!fd) {
            throw_errno("socket");
        }
        if (::connect(fd.get(), candidate.address.data(), candidate.address.size()) == -1) {
            last_error = errno;
            last_address = candidate.address.to_string();
            narrator.say("connect({}) failed: {}", last_address, std::strerror(last_error));
            continue;  // fd closes itself; try the next address
        }
        SocketAddress own;
        if (::getsockname(fd.get(), own.data(), own.size_ptr()) == -1) {
            throw_errno("getsockname");
        }
        narrator.say("connect() - connected to {} from {} (fd {})", candidate.address.to_string(),
                     own.to_string(), fd.get());
        return fd;
    }
    throw_error(last_error, fmt::format("connect {}", last_address));
}

}  // namespace sbs
