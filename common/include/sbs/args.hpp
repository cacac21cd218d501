// args.hpp - the few command-line flags every program takes, parsed the same way everywhere.
//
//     sbs::ArgParser args("server", "answer one caller, uppercase its message, hang up");
//     args.host_option(options.host);
//     args.port_option(options.port);
//     args.quiet_flag(options.quiet);
//     return sbs::run_main(args, argc, argv, [&] { return serve(options); });
//
// Options are "--name VALUE" or "--name=VALUE"; "--" ends them. --help prints the usage and
// exits 0; a bad argument prints "ROLE: error: ...", the usage line, and exits 2.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sbs {

class ArgParser {
  public:
    /// `program` names the binary (and the narration role), `summary` says what it does.
    ArgParser(std::string program, std::string summary);

    /// --NAME with no value: sets `out` to true.
    void flag(std::string name, bool& out, std::string help);
    /// --NAME VALUE, handed to `set`, which throws UsageError for a bad value.
    void option(std::string name, std::string metavar, std::string help,
                std::function<void(const std::string&)> set);
    /// --NAME TEXT.
    void option(std::string name, std::string metavar, std::string& out, std::string help);
    /// --NAME N, an integer in [min, max].
    void option(std::string name, std::string metavar, long long& out, long long min, long long max,
                std::string help);
    /// --NAME SECONDS, a decimal number of seconds in [min, max].
    void option(std::string name, std::string metavar, double& out, double min, double max,
                std::string help);

    /// Which addresses --host accepts.
    enum class Hosts { ip_or_unix_path, ip_only };
    /// The standard --host (IPv4, IPv6, a name, or - unless ip_only - an AF_UNIX path), --port
    /// and --quiet.
    void host_option(std::string& out, Hosts accepted = Hosts::ip_or_unix_path);
    void port_option(std::uint16_t& out);
    void quiet_flag(bool& out);

    /// Words that are not options, between `min` and `max` of them.
    void positionals(std::string metavar, std::vector<std::string>& out, std::size_t min,
                     std::size_t max, std::string help);

    /// Parses the command line. Returns false when --help was asked for (and printed).
    /// Throws UsageError for anything it cannot accept.
    bool parse(int argc, const char* const argv[]);

    [[nodiscard]] const std::string& program() const noexcept { return program_; }
    /// "Usage: server [--host HOST] [--port PORT] [--quiet]"
    [[nodiscard]] std::string usage() const;
    /// The usage line, the summary and one line per option.
    [[nodiscard]] std::string help() const;

  private:
    struct Option {
        std::string name;
        std::string metavar;  // empty for a flag
        std::string help;
        std::function<void(const std::string&)> set;
    };
    const Option* find(std::string_view name) const;

    std::string program_;
    std::string summary_;
    std::vector<Option> options_;
    std::string positional_metavar_;
    std::string positional_help_;
    std::vector<std::string>* positionals_ = nullptr;
    std::size_t positional_min_ = 0;
    std::size_t positional_max_ = 0;
};

/// The body of every main(): parses the arguments (help -> exit 0; bad ones -> usage, exit 2),
/// then runs `body`, turning any exception into one line on stderr and exit code 1.
int run_main(ArgParser& args, int argc, const char* const argv[], const std::function<int()>& body);

}  // namespace sbs
