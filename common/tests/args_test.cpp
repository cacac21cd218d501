#include "sbs/args.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sbs/error.hpp"

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9001;
    bool quiet = false;
    double timeout = 5;
    long long backlog = 5;
    std::vector<std::string> words;
};

sbs::ArgParser parser_for(Options& options) {
    sbs::ArgParser args("server", "a test program");
    args.host_option(options.host);
    args.port_option(options.port);
    args.quiet_flag(options.quiet);
    args.option("--timeout", "SECONDS", options.timeout, 0.0, 3600.0, "receive timeout");
    args.option("--backlog", "N", options.backlog, 1, 4096, "accept queue length");
    args.positionals("WORD", options.words, 0, 3, "words");
    return args;
}

bool parse(sbs::ArgParser& args, std::vector<const char*> words) {
    words.insert(words.begin(), "server");
    return args.parse(static_cast<int>(words.size()), words.data());
}

}  // namespace

TEST_CASE("defaults survive an empty command line") {
    Options options;
    auto args = parser_for(options);
    CHECK(parse(args, {}));
    CHECK(options.host == "127.0.0.1");
    CHECK(options.port == 9001);
    CHECK_FALSE(options.quiet);
}

TEST_CASE("options take values in both spellings, and words are collected") {
    Options options;
    auto args = parser_for(options);
    CHECK(parse(args, {"--host", "::1", "--port=0", "--quiet", "--timeout", "0.5", "hello",
                       "--backlog", "16", "--", "--not-an-option"}));
    CHECK(options.host == "::1");
    CHECK(options.port == 0);
    CHECK(options.quiet);
    CHECK(options.timeout == doctest::Approx(0.5));
    CHECK(options.backlog == 16);
    CHECK(options.words == std::vector<std::string>{"hello", "--not-an-option"});
}

TEST_CASE("bad arguments are usage errors") {
    Options options;
    auto args = parser_for(options);
    CHECK_THROWS_AS(parse(args, {"--port", "70000"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--port", "abc"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--port"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--host", ""}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--bogus"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--quiet=yes"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--timeout", "-1"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--timeout", "nan"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"--backlog", "0"}), sbs::UsageError);
    CHECK_THROWS_AS(parse(args, {"a", "b", "c", "d"}), sbs::UsageError);
}

TEST_CASE("a program may take IP hosts only") {
    std::string host = "127.0.0.1";
    sbs::ArgParser args("server", "UDP only");
    args.host_option(host, sbs::ArgParser::Hosts::ip_only);
    CHECK(parse(args, {"--host", "::1"}));
    CHECK(host == "::1");
    CHECK_THROWS_AS(parse(args, {"--host", "/tmp/x.sock"}), sbs::UsageError);
    CHECK(args.help().find("unix") == std::string::npos);
}

TEST_CASE("--help is not an error and stops parsing") {
    Options options;
    auto args = parser_for(options);
    CHECK_FALSE(parse(args, {"--help", "--port", "70000"}));
}

TEST_CASE("the usage line lists every option") {
    Options options;
    const auto args = parser_for(options);
    CHECK(args.usage() ==
          "Usage: server [--host HOST] [--port PORT] [--quiet] [--timeout SECONDS] "
          "[--backlog N] [WORD]...");
    CHECK(args.help().find("(default 9001)") != std::string::npos);
}

TEST_CASE("run_main turns outcomes into exit codes 0, 1 and 2") {
    const char* good[] = {"server"};
    const char* bad[] = {"server", "--port", "x"};
    const char* help[] = {"server", "--help"};
    sbs::ArgParser args("server", "a test program");
    std::uint16_t port = 1;
    args.port_option(port);
    CHECK(sbs::run_main(args, 1, good, [] { return 0; }) == 0);
    CHECK(sbs::run_main(args, 1, good, []() -> int { throw std::runtime_error("boom"); }) == 1);
    CHECK(sbs::run_main(args, 3, bad, [] { return 0; }) == 2);
    CHECK(sbs::run_main(args, 2, help, [] { return 7; }) == 0);
}
