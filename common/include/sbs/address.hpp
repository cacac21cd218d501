// address.hpp - socket addresses: resolving names, and printing addresses for people.
//
// Step 01 teaches socket/bind/listen/accept/connect; turning "localhost" or "::1" into the
// bytes those calls want is getaddrinfo()'s job, and it lives here from the start so that every
// step speaks IPv4, IPv6 and AF_UNIX alike. Addresses print as 127.0.0.1:9001, [::1]:9001 or
// unix:/tmp/sbs.sock.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sbs {

/// Any kind of socket address (IPv4, IPv6, AF_UNIX), stored by value.
class SocketAddress {
  public:
    /// An empty address with room for any family: ready to be filled by accept(),
    /// recvfrom(), getsockname() or getpeername() through data() and size_ptr().
    SocketAddress() noexcept;
    /// Copies `length` bytes of `address`.
    SocketAddress(const sockaddr* address, socklen_t length) noexcept;

    [[nodiscard]] sockaddr* data() noexcept;
    [[nodiscard]] const sockaddr* data() const noexcept;
    [[nodiscard]] socklen_t size() const noexcept { return length_; }
    /// For calls that take a value-result length: in, the room available; out, the bytes used.
    [[nodiscard]] socklen_t* size_ptr() noexcept { return &length_; }
    [[nodiscard]] int family() const noexcept;

    /// "127.0.0.1:9001", "[::1]:9001", "unix:/path", "unix:@abstract" or "unix:(unnamed)".
    [[nodiscard]] std::string to_string() const;
    /// The port number (host byte order), or 0 for AF_UNIX.
    [[nodiscard]] std::uint16_t port() const noexcept;

    friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

  private:
    sockaddr_storage storage_;
    socklen_t length_;
};

/// One result of resolve(): what socket() and bind()/connect() need.
struct ResolvedAddress {
    int family = 0;    ///< AF_INET, AF_INET6 or AF_UNIX: socket()'s first argument
    int socktype = 0;  ///< SOCK_STREAM or SOCK_DGRAM: socket()'s second argument
    int protocol = 0;  ///< socket()'s third argument
    SocketAddress address;
};

/// What the address is for: bind() on a server (AI_PASSIVE) or connect()/sendto() on a client.
enum class Purpose { bind, connect };

/// True when `host` names an AF_UNIX path: it starts with "unix:" or contains a '/'.
[[nodiscard]] bool is_unix_path(std::string_view host) noexcept;

/// Resolves `host` and `port` with getaddrinfo() ("127.0.0.1", "::1", "localhost", ...), or
/// builds an AF_UNIX address when is_unix_path(host) (the port is then ignored). Returns the
/// candidates in the resolver's order, at least one. Throws std::system_error (gai_category)
/// when the name does not resolve, std::invalid_argument for an empty host or a unix path that
/// does not fit in sockaddr_un.
[[nodiscard]] std::vector<ResolvedAddress> resolve(std::string_view host, std::uint16_t port,
                                                   int socktype, Purpose purpose);

/// Removes the file that bind() creates for an AF_UNIX socket, when it goes out of scope, so the
/// next run can bind the same path. Create it right after a successful bind(); for IPv4/IPv6
/// addresses it does nothing.
class UnixSocketFile {
  public:
    explicit UnixSocketFile(const SocketAddress& bound);
    ~UnixSocketFile();
    UnixSocketFile(const UnixSocketFile&) = delete;
    UnixSocketFile& operator=(const UnixSocketFile&) = delete;

  private:
    std::string path_;  // empty: nothing to remove
};

/// Parses a port number "0".."65535" (0 = let the kernel choose). Throws UsageError otherwise.
[[nodiscard]] std::uint16_t parse_port(std::string_view text);

/// Checks a --host value (non-empty, no spaces). Throws UsageError otherwise.
void check_host(std::string_view host);

}  // namespace sbs
