#include "sbs/error.hpp"

#include <fmt/core.h>
#include <netdb.h>

#include <cerrno>
#include <cstdio>

namespace sbs {

void throw_errno(std::string_view what) {
    throw_error(errno, what);
}

void throw_error(int error_number, std::string_view what) {
    throw std::system_error(error_number, std::generic_category(), std::string(what));
}

namespace {

class GaiCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "getaddrinfo"; }
    std::string message(int code) const override { return ::gai_strerror(code); }
};

}  // namespace

const std::error_category& gai_category() {
    static const GaiCategory category;
    return category;
}

std::string hint_for(const std::system_error& error) {
    if (error.code().category() == gai_category()) {
        return "check the --host name or address";
    }
    if (error.code().category() != std::generic_category() &&
        error.code().category() != std::system_category()) {
        return "";
    }
    // The failed call is the first word of the message: "connect 127.0.0.1:9001: ...".
    const std::string_view what = error.what();
    const std::string_view call = what.substr(0, what.find_first_of(" :"));
    switch (error.code().value()) {
        case ECONNREFUSED:
            return "is the server running?";
        case ENOENT:  // only connect() to an AF_UNIX path: for a file, the message says enough
            return call == "connect" ? "is the server running? (no socket file at that path)" : "";
        case EADDRINUSE:
            return "is another program using this address? Try another --port, or --port 0 "
                   "(for a unix path, remove the stale socket file)";
        case EACCES:
            return call == "bind" ? "ports below 1024 need root: use a higher --port" : "";
        case EADDRNOTAVAIL:
            return "that address does not belong to this machine";
        case ETIMEDOUT:
            return "nothing arrived in time";
        case ECONNRESET:
        case EPIPE:
            return "the peer closed the connection";
        case EHOSTUNREACH:
        case ENETUNREACH:
            return "check the --host address";
        default:
            return "";
    }
}

int report_failure(std::string_view role, const std::exception& error) {
    std::string hint;
    if (const auto* system_error = dynamic_cast<const std::system_error*>(&error)) {
        hint = hint_for(*system_error);
    }
    std::string line = fmt::format("{}: error: {}", role, error.what());
    if (!hint.empty()) {
        line += " - " + hint;
    }
    std::fflush(stdout);  // narration first, then the error, in the order they happened
    fmt::print(stderr, "{}\n", line);
    return kExitFailure;
}

}  // namespace sbs
