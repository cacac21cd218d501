// error.hpp - the one error idiom of this repository.
//
// A failed system call throws std::system_error whose message names the call and its argument:
//     if (bind(fd, ...) == -1) sbs::throw_errno(fmt::format("bind {}", address));
// what() then reads "bind 127.0.0.1:9001: Address already in use". main() catches it once
// (sbs::run_main does that) and prints one line, with a hint for the errors beginners meet.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace sbs {

/// Throws std::system_error for the current errno, with `what` naming the call and its argument.
[[noreturn]] void throw_errno(std::string_view what);

/// The same for an explicit error number (e.g. from getsockopt(SO_ERROR)).
[[noreturn]] void throw_error(int error_number, std::string_view what);

/// The error category of getaddrinfo()'s EAI_* codes (messages from gai_strerror).
const std::error_category& gai_category();

/// Bad command-line arguments: main() prints the message and the usage line and exits 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Exit codes shared by every program: 0 success, 1 failure at run time, 2 bad arguments.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// A short beginner hint for a failure, or "" (e.g. ECONNREFUSED -> "is the server running?").
std::string hint_for(const std::system_error& error);

/// Prints "ROLE: error: WHAT - HINT" as one line on stderr and returns kExitFailure.
int report_failure(std::string_view role, const std::exception& error);

}  // namespace sbs
