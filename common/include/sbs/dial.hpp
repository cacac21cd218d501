// dial.hpp - a TCP client's first two calls, socket() and connect(), as step 01 teaches them.
//
// A name such as "localhost" may resolve to several addresses (::1 and 127.0.0.1); a
// well-behaved client tries each in turn until one answers. Step 01's client.cpp writes that
// loop out; later clients call sbs::dial().
#pragma once

#include <cstdint>
#include <string_view>

#include "sbs/fd.hpp"
#include "sbs/narrate.hpp"

namespace sbs {

/// Resolves `host` (an IPv4/IPv6 address, a name, or a unix socket path), then socket() and
/// connect() to each address in turn until one answers. Narrates each failed try and the
/// connection ("connect() - connected to 127.0.0.1:9002 from 127.0.0.1:53122"). The socket is
/// created with SOCK_CLOEXEC, so programs a client may start never inherit it. If no address
/// answers, throws std::system_error "connect ADDRESS: REASON" for the last address tried.
[[nodiscard]] Fd dial(std::string_view host, std::uint16_t port, const Narrator& narrator);

}  // namespace sbs
