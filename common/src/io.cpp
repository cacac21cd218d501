#include "sbs/io.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cmath>
#include <system_error>

#include "sbs/error.hpp"

namespace sbs {

void send_all(int fd, const void* data, std::size_t length, std::string_view what) {
    const char* next = static_cast<const char*>(data);
    std::size_t left = length;
    while (left > 0) {
        // MSG_NOSIGNAL: a vanished peer becomes an EPIPE error here, not a fatal SIGPIPE.
        const ssize_t sent = ::send(fd, next, left, MSG_NOSIGNAL);
        if (sent == -1) {
            if (errno == EINTR) {
                continue;  // a signal arrived before anything was sent: just try again
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw std::system_error(std::make_error_code(std::errc::timed_out),
                                        std::string(what));
            }
            throw_errno(what);
        }
        next += sent;  // a partial send is normal: send the rest
        left -= static_cast<std::size_t>(sent);
    }
}

std::size_t recv_exact(int fd, void* buffer, std::size_t length, std::string_view what) {
    char* next = static_cast<char*>(buffer);
    std::size_t got = 0;
    while (got < length) {
        const ssize_t n = ::recv(fd, next + got, length - got, 0);
        if (n == 0) {
            break;  // end of stream: the peer hung up
        }
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw std::system_error(std::make_error_code(std::errc::timed_out),
                                        std::string(what));
            }
            throw_errno(what);
        }
        got += static_cast<std::size_t>(n);
    }
    return got;
}

namespace {

void set_timeout(int fd, int option, double seconds, const char* what) {
    timeval tv{};
    double whole = 0;
    const double fraction = std::modf(seconds, &whole);
    tv.tv_sec = static_cast<time_t>(whole);
    tv.tv_usec = static_cast<suseconds_t>(fraction * 1e6);
    if (::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv)) == -1) {
        throw_errno(what);
    }
}

}  // namespace

void set_receive_timeout(int fd, double seconds) {
    set_timeout(fd, SO_RCVTIMEO, seconds, "setsockopt SO_RCVTIMEO");
}

void set_send_timeout(int fd, double seconds) {
    set_timeout(fd, SO_SNDTIMEO, seconds, "setsockopt SO_SNDTIMEO");
}

}  // namespace sbs
