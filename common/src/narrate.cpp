#include "sbs/narrate.hpp"

#include <fmt/color.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace sbs {

namespace {

bool stdout_wants_colour() {
    return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
}

fmt::terminal_color colour_for(std::string_view role) {
    if (role == "server") {
        return fmt::terminal_color::cyan;
    }
    if (role == "client") {
        return fmt::terminal_color::green;
    }
    return fmt::terminal_color::magenta;
}

std::mutex output_mutex;  // one whole line at a time, even from several threads

}  // namespace

Narrator::Narrator(std::string role, bool quiet)
    : role_(std::move(role)), quiet_(quiet), colour_(stdout_wants_colour()) {}

void Narrator::emit(Tone tone, std::string_view line) const {
    std::string text;
    if (colour_) {
        text = fmt::format(fmt::fg(colour_for(role_)), "{}:", role_);
        text += ' ';
        text += tone == Tone::warning
                    ? fmt::format(fmt::fg(fmt::terminal_color::yellow) | fmt::emphasis::bold, "{}",
                                  line)
                    : std::string(line);
    } else {
        text = fmt::format("{}: {}{}", role_, tone == Tone::warning ? "note: " : "", line);
    }
    text += '\n';
    const std::lock_guard lock(output_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);  // line by line, even into a pipe
}

std::string printable(std::string_view bytes, std::size_t limit) {
    std::string out;
    const std::size_t shown = bytes.size() < limit ? bytes.size() : limit;
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\\':
                out += "\\\\";
                break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    out += static_cast<char>(c);
                } else {
                    out += fmt::format("\\x{:02x}", c);
                }
        }
    }
    if (shown < bytes.size()) {
        out += fmt::format("... ({} bytes in all)", bytes.size());
    }
    return out;
}

}  // namespace sbs
