#include "sbs/args.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <string_view>

#include "sbs/address.hpp"
#include "sbs/error.hpp"

namespace sbs {

ArgParser::ArgParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void ArgParser::flag(std::string name, bool& out, std::string help) {
    options_.push_back(
        {std::move(name), "", std::move(help), [&out](const std::string&) { out = true; }});
}

void ArgParser::option(std::string name, std::string metavar, std::string help,
                       std::function<void(const std::string&)> set) {
    options_.push_back({std::move(name), std::move(metavar), std::move(help), std::move(set)});
}

void ArgParser::option(std::string name, std::string metavar, std::string& out, std::string help) {
    option(std::move(name), std::move(metavar), std::move(help),
           [&out](const std::string& value) { out = value; });
}

void ArgParser::option(std::string name, std::string metavar, long long& out, long long min,
                       long long max, std::string help) {
    option(name, std::move(metavar), std::move(help), [&out, name, min, max](const std::string& v) {
        long long value = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || value < min ||
            value > max) {
            throw UsageError(fmt::format("{} must be a whole number from {} to {}, got '{}'", name,
                                         min, max, v));
        }
        out = value;
    });
}

void ArgParser::option(std::string name, std::string metavar, double& out, double min, double max,
                       std::string help) {
    option(name, std::move(metavar), std::move(help), [&out, name, min, max](const std::string& v) {
        double value = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || !(value >= min) ||
            !(value <= max)) {
            throw UsageError(
                fmt::format("{} must be a number from {} to {}, got '{}'", name, min, max, v));
        }
        out = value;
    });
}

void ArgParser::host_option(std::string& out, Hosts accepted) {
    const bool unix_ok = accepted == Hosts::ip_or_unix_path;
    option("--host", "HOST",
           fmt::format("address to use: IPv4, IPv6 (::1){} (default {})",
                       unix_ok ? ", a name, or a unix socket path" : " or a name", out),
           [&out, unix_ok](const std::string& value) {
               check_host(value);
               if (!unix_ok && is_unix_path(value)) {
                   throw UsageError(fmt::format(
                       "--host takes an IP address or a name here, not a unix socket path: '{}'",
                       value));
               }
               out = value;
           });
}

void ArgParser::port_option(std::uint16_t& out) {
    option("--port", "PORT", fmt::format("TCP/UDP port, 0 = any free port (default {})", out),
           [&out](const std::string& value) { out = parse_port(value); });
}

void ArgParser::quiet_flag(bool& out) {
    flag("--quiet", out,
         "no narration: print only results (such as the listening address) and errors");
}

void ArgParser::positionals(std::string metavar, std::vector<std::string>& out, std::size_t min,
                            std::size_t max, std::string help) {
    positional_metavar_ = std::move(metavar);
    positional_help_ = std::move(help);
    positionals_ = &out;
    positional_min_ = min;
    positional_max_ = max;
}

const ArgParser::Option* ArgParser::find(std::string_view name) const {
    for (const Option& option : options_) {
        if (option.name == name) {
            return &option;
        }
    }
    return nullptr;
}

bool ArgParser::parse(int argc, const char* const argv[]) {
    std::vector<std::string> words;
    bool options_ended = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (options_ended || !arg.starts_with("--")) {
            words.emplace_back(arg);
            continue;
        }
        if (arg == "--") {
            options_ended = true;
            continue;
        }
        if (arg == "--help") {
            fmt::print("{}", help());
            std::fflush(stdout);
            return false;
        }
        const std::size_t equals = arg.find('=');
        const std::string_view name = arg.substr(0, equals);
        const Option* option = find(name);
        if (option == nullptr) {
            throw UsageError(fmt::format("unknown option '{}'", name));
        }
        if (option->metavar.empty()) {
            if (equals != std::string_view::npos) {
                throw UsageError(fmt::format("{} takes no value", name));
            }
            option->set("");
            continue;
        }
        std::string value;
        if (equals != std::string_view::npos) {
            value = std::string(arg.substr(equals + 1));
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw UsageError(fmt::format("{} needs a value ({})", name, option->metavar));
        }
        option->set(value);
    }

    if (positionals_ == nullptr) {
        if (!words.empty()) {
            throw UsageError(fmt::format("unexpected argument '{}'", words.front()));
        }
        return true;
    }
    if (words.size() < positional_min_) {
        throw UsageError(fmt::format("missing {}", positional_metavar_));
    }
    if (words.size() > positional_max_) {
        throw UsageError(fmt::format("too many arguments: '{}'", words[positional_max_]));
    }
    *positionals_ = std::move(words);
    return true;
}

std::string ArgParser::usage() const {
    std::string line = "Usage: " + program_;
    for (const Option& option : options_) {
        line += option.metavar.empty() ? fmt::format(" [{}]", option.name)
                                       : fmt::format(" [{} {}]", option.name, option.metavar);
    }
    if (positionals_ != nullptr) {
        line += positional_min_ > 0 ? fmt::format(" {}", positional_metavar_)
                                    : fmt::format(" [{}]", positional_metavar_);
        if (positional_max_ > 1) {
            line += "...";
        }
    }
    return line;
}

std::string ArgParser::help() const {
    std::string text = usage() + "\n\n" + summary_ + "\n\n";
    std::vector<std::pair<std::string, std::string>> rows;
    for (const Option& option : options_) {
        rows.emplace_back(option.metavar.empty() ? option.name : option.name + " " + option.metavar,
                          option.help);
    }
    if (positionals_ != nullptr) {
        rows.emplace_back(positional_metavar_, positional_help_);
    }
    rows.emplace_back("--help", "print this help and exit");
    std::size_t width = 0;
    for (const auto& row : rows) {
        width = std::max(width, row.first.size());
    }
    for (const auto& [left, right] : rows) {
        text += fmt::format("  {:<{}}  {}\n", left, width, right);
    }
    return text;
}

int run_main(ArgParser& args, int argc, const char* const argv[],
             const std::function<int()>& body) {
    try {
        if (!args.parse(argc, argv)) {
            return 0;  // --help
        }
    } catch (const UsageError& error) {
        fmt::print(stderr, "{}: error: {}\n{}\nTry '{} --help' for more.\n", args.program(),
                   error.what(), args.usage(), args.program());
        return kExitUsage;
    }
    try {
        return body();
    } catch (const UsageError& error) {  // a bad argument found late (e.g. an empty message)
        std::fflush(stdout);
        fmt::print(stderr, "{}: error: {}\n{}\n", args.program(), error.what(), args.usage());
        return kExitUsage;
    } catch (const std::exception& error) {
        return report_failure(args.program(), error);
    }
}

}  // namespace sbs
