#include "sbs/address.hpp"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "sbs/error.hpp"

namespace sbs {

SocketAddress::SocketAddress() noexcept : storage_{}, length_(sizeof(storage_)) {}

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept
    : storage_{}, length_(length) {
    if (length_ > sizeof(storage_)) {
        length_ = sizeof(storage_);
    }
    std::memcpy(&storage_, address, length_);
}

sockaddr* SocketAddress::data() noexcept {
    return reinterpret_cast<sockaddr*>(&storage_);
}
const sockaddr* SocketAddress::data() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
}
int SocketAddress::family() const noexcept {
    return storage_.ss_family;
}

std::uint16_t SocketAddress::port() const noexcept {
    switch (family()) {
        case AF_INET:
            return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
        case AF_INET6:
            return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
        default:
            return 0;
    }
}

std::string SocketAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    switch (family()) {
        case AF_INET: {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&storage_);
            inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
            return fmt::format("{}:{}", text, port());
        }
        case AF_INET6: {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
            return fmt::format("[{}]:{}", text, port());
        }
        case AF_UNIX: {
            const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
            const std::size_t path_length = length_ - offsetof(sockaddr_un, sun_path);
            if (length_ <= offsetof(sockaddr_un, sun_path) || path_length == 0) {
                return "unix:(unnamed)";  // a client socket that never called bind()
            }
            if (un->sun_path[0] == '\0') {  // Linux "abstract" name: no file on disk
                return fmt::format("unix:@{}", std::string_view(un->sun_path + 1, path_length - 1));
            }
            return fmt::format(
                "unix:{}", std::string_view(un->sun_path, ::strnlen(un->sun_path, path_length)));
        }
        default:
            return fmt::format("(address family {})", family());
    }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
    return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

bool is_unix_path(std::string_view host) noexcept {
    return host.starts_with("unix:") || host.find('/') != std::string_view::npos;
}

namespace {

ResolvedAddress unix_address(std::string_view host, int socktype) {
    std::string_view path = host.starts_with("unix:") ? host.substr(5) : host;
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(un.sun_path)) {
        throw std::invalid_argument(fmt::format("unix socket path must be 1..{} bytes, got {}",
                                                sizeof(un.sun_path) - 1, path.size()));
    }
    std::memcpy(un.sun_path, path.data(), path.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return ResolvedAddress{AF_UNIX, socktype, 0,
                           SocketAddress(reinterpret_cast<const sockaddr*>(&un), length)};
}

}  // namespace

std::vector<ResolvedAddress> resolve(std::string_view host, std::uint16_t port, int socktype,
                                     Purpose purpose) {
    if (host.empty()) {
        throw std::invalid_argument("empty host: give an address such as 127.0.0.1");
    }
    if (is_unix_path(host)) {
        return {unix_address(host, socktype)};
    }

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;  // IPv4 or IPv6, whichever the name has
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICSERV | (purpose == Purpose::bind ? AI_PASSIVE : 0);
    const std::string host_text(host);
    const std::string port_text = std::to_string(port);
    addrinfo* list = nullptr;
    if (const int rc = ::getaddrinfo(host_text.c_str(), port_text.c_str(), &hints, &list);
        rc != 0) {
        if (rc == EAI_SYSTEM) {
            throw_errno(fmt::format("getaddrinfo {}", host));
        }
        throw std::system_error(rc, gai_category(), fmt::format("getaddrinfo {}", host));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);

    std::vector<ResolvedAddress> result;
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        result.push_back(ResolvedAddress{ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                                         SocketAddress(ai->ai_addr, ai->ai_addrlen)});
    }
    return result;
}

UnixSocketFile::UnixSocketFile(const SocketAddress& bound) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(bound.data());
    if (bound.family() == AF_UNIX && bound.size() > offsetof(sockaddr_un, sun_path) &&
        un->sun_path[0] != '\0') {
        path_ = std::string(
            un->sun_path, ::strnlen(un->sun_path, bound.size() - offsetof(sockaddr_un, sun_path)));
    }
}

UnixSocketFile::~UnixSocketFile() {
    if (!path_.empty()) {
        ::unlink(path_.c_str());
    }
}

std::uint16_t parse_port(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
        throw UsageError(
            fmt::format("port must be a number from 0 to 65535 (0 = any free port), "
                        "got '{}'",
                        text));
    }
    return static_cast<std::uint16_t>(value);
}

void check_host(std::string_view host) {
    if (host.empty()) {
        throw UsageError("host must not be empty (try 127.0.0.1)");
    }
    if (host.find_first_of(" \t\r\n") != std::string_view::npos) {
        throw UsageError(fmt::format("host must not contain spaces, got '{}'", host));
    }
}

}  // namespace sbs
