// narrate.hpp - programs that say what they are doing, in the phone-call vocabulary.
//
//     server: accept() -> fd 4, caller 127.0.0.1:53122
//
// Each line is prefixed by the role, written whole and flushed at once (so it shows up line by
// line even when stdout is a pipe, and lines from several threads never interleave), coloured
// only when stdout is a terminal (and NO_COLOR is unset), and silenced by --quiet.
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace sbs {

class Narrator {
  public:
    explicit Narrator(std::string role, bool quiet = false);

    /// One line of narration on stdout (nothing when quiet).
    template <typename... Args>
    void say(fmt::format_string<Args...> format, Args&&... args) const {
        if (!quiet_) {
            emit(Tone::plain, fmt::format(format, std::forward<Args>(args)...));
        }
    }
    /// One highlighted line on stdout: something the student should notice (nothing when quiet).
    template <typename... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) const {
        if (!quiet_) {
            emit(Tone::warning, fmt::format(format, std::forward<Args>(args)...));
        }
    }

    /// A line that is a result rather than narration, printed even when quiet: e.g. the
    /// server's "listening on 127.0.0.1:40123", which tells whoever started it with --port 0
    /// where to call.
    template <typename... Args>
    void announce(fmt::format_string<Args...> format, Args&&... args) const {
        emit(Tone::plain, fmt::format(format, std::forward<Args>(args)...));
    }

    [[nodiscard]] const std::string& role() const noexcept { return role_; }
    [[nodiscard]] bool quiet() const noexcept { return quiet_; }

  private:
    enum class Tone { plain, warning };
    void emit(Tone tone, std::string_view line) const;

    std::string role_;
    bool quiet_;
    bool colour_;
};

/// Makes a byte string printable on one line: printable ASCII as is, the rest as \n, \xff...
/// At most `limit` bytes are shown, then "... (N bytes in all)".
[[nodiscard]] std::string printable(std::string_view bytes, std::size_t limit = 64);

}  // namespace sbs
