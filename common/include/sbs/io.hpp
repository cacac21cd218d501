// io.hpp - moving bytes through a stream socket without losing any (UNP's writen/readn).
//
// send() may send fewer bytes than asked and recv() may return fewer than wanted: TCP is a
// byte stream, and the kernel hands over whatever fits or whatever has arrived. A signal can
// interrupt either call (EINTR). Step 01 writes those loops by hand; later steps call these.
#pragma once

#include <cstddef>
#include <string_view>

namespace sbs {

/// Sends all `length` bytes, looping over partial sends and retrying on EINTR. Uses
/// MSG_NOSIGNAL, so a peer that has gone away raises EPIPE (thrown as std::system_error
/// "send: Broken pipe") instead of killing the process with SIGPIPE. If a send timeout
/// (SO_SNDTIMEO) expires, throws std::system_error with std::errc::timed_out.
void send_all(int fd, const void* data, std::size_t length, std::string_view what = "send");
inline void send_all(int fd, std::string_view bytes, std::string_view what = "send") {
    send_all(fd, bytes.data(), bytes.size(), what);
}

/// Receives exactly `length` bytes unless the peer hangs up first, looping over short reads and
/// retrying on EINTR. Returns the number of bytes received: `length`, or fewer only at end of
/// stream (0 = the peer hung up before sending anything; between 0 and `length` = it hung up
/// mid-message). Errors throw std::system_error (e.g. "recv: Connection reset by peer"); an
/// expired receive timeout (SO_RCVTIMEO) throws with std::errc::timed_out.
[[nodiscard]] std::size_t recv_exact(int fd, void* buffer, std::size_t length,
                                     std::string_view what = "recv");

/// Sets SO_RCVTIMEO so that a blocking recv() gives up after `seconds` (0 = wait forever).
void set_receive_timeout(int fd, double seconds);
/// Sets SO_SNDTIMEO so that a blocking send() gives up after `seconds` (0 = wait forever).
void set_send_timeout(int fd, double seconds);

}  // namespace sbs
