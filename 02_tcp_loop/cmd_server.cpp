// 02_tcp_loop/cmd_server.cpp - a remote-command service made safe: a caller names a command,
// the server runs it and sends back its output - but only commands from a fixed list, with
// checked arguments, never through a shell, with a time limit and an output cap.
//
// What it teaches: seed 001's server ran whatever text arrived with a shell
// (commands.getstatusoutput(data)). Anyone who can connect then owns the machine:
// "date; rm -rf ~" is two commands to a shell. This server shows the safe shape:
//     1. an allowlist: the request's first word must name one of a few commands, and each
//        command's arguments are checked (numbers in a range, a fixed flag);
//     2. no shell: posix_spawn() starts the program itself with the words as its arguments
//        (argv), so ';', '|', '$(...)' are just characters, never syntax;
//     3. limits: stdin is /dev/null, the environment is minimal, output is cut at --max-output
//        bytes and the command is killed after --time-limit seconds;
//     4. framing: each reply is one header line "LENGTH OUTCOME\n" and then exactly LENGTH
//        bytes, so a long output arrives whole and never mixes with the next reply.
//        --no-framing sends the bare output, as the seed did, to show what goes wrong.
// New since step 01: the connection and conversation loops (as in server.cpp), pipe2(),
// posix_spawn() (the fork()+exec() pair in one call), poll() to wait with a deadline (for a
// command's output, and for a whole request line), kill() and waitpid() (with WNOHANG, so that
// the time limit holds until the command has really ended), SOCK_CLOEXEC.
// Moved into common: besides step 01's helpers, sbs::send_all / sbs::recv_exact,
// sbs::set_receive_timeout / sbs::set_send_timeout, and the Ctrl-C handling that server.cpp
// writes out inline (sbs::install_stop_handlers).
// Partner: 02_tcp_loop/cmd_client.cpp.
//
// Run it (two terminals):
//     build/02_tcp_loop/cmd_server                    # 127.0.0.1:19002, until Ctrl-C
//     printf 'date\nwhoami\nseq 1 5\n' | build/02_tcp_loop/cmd_client
// or with netcat (type "date", "uname -a", "seq 3"; anything refused lists what is allowed):
//     nc 127.0.0.1 19002
// What you should see: for each request, the server narrates the check, posix_spawn() with the
// child's pid, how many bytes the command wrote and how it ended; refused requests say why and
// run nothing. The client prints each command's output.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"
#include "sbs/signals.hpp"

namespace {

// 9002 belongs to the uppercase server; this service takes 19002 so both can run at once.
constexpr std::uint16_t kDefaultPort = 19002;
constexpr std::size_t kMaxRequest = 256;     // a request line longer than this is refused
constexpr long long kMaxSeq = 100000;        // `seq 1 100000` writes 588,895 bytes
constexpr long long kMaxSleepSeconds = 10;   // `sleep` exists to show the time limit
constexpr int kStopCheckMilliseconds = 500;  // how often a wait wakes up to look at Ctrl-C

struct Options {
    std::string host = "127.0.0.1";  // loopback: only programs on this machine can ask
    std::uint16_t port = kDefaultPort;
    double time_limit = 2;               // seconds a command may run
    long long max_output = 1024 * 1024;  // bytes of output sent back at most
    bool framing = true;
    double timeout = 60;  // seconds a caller may stay silent
    bool quiet = false;
};

// --- The allowlist: the only programs this server will ever start. ----------------------------
// Absolute paths: the program started is exactly this file, whatever PATH says.
struct AllowedCommand {
    std::string_view name;
    const char* path;
    std::string_view usage;
};
constexpr AllowedCommand kAllowlist[] = {
    {"date", "/usr/bin/date", "date"},
    {"uptime", "/usr/bin/uptime", "uptime"},
    {"whoami", "/usr/bin/whoami", "whoami"},
    {"uname", "/usr/bin/uname", "uname [-a]"},
    {"seq", "/usr/bin/seq", "seq [FIRST] LAST (whole numbers 1..100000)"},
    {"sleep", "/usr/bin/sleep", "sleep SECONDS (0..10)"},
};

std::string allowlist_text() {
    std::string text = "allowed: ";
    for (const AllowedCommand& command : kAllowlist) {
        text += fmt::format("{}{}", &command == kAllowlist ? "" : ", ", command.usage);
    }
    return text;
}

// "123" with only digits (no sign, no spaces, no hex, no exponent) and within [min, max].
bool is_number_in(std::string_view word, long long min, long long max) {
    if (word.empty() || word.size() > 6 || word.find_first_not_of("0123456789") != word.npos) {
        return false;
    }
    long long value = 0;
    std::from_chars(word.data(), word.data() + word.size(), value);  // cannot fail: 1-6 digits
    return value >= min && value <= max;
}

// The request's words, split at spaces and tabs. No quoting, no escapes, no variables:
// there is no shell here, and nothing in this request language needs one.
std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::size_t start = line.find_first_not_of(" \t");
    while (start != std::string_view::npos) {
        const std::size_t end = line.find_first_of(" \t", start);
        words.emplace_back(line.substr(start, end - start));
        start = line.find_first_not_of(" \t", end);
    }
    return words;
}

// Checks a request against the allowlist. Returns the command to run, or nullptr with the
// reason in `refusal`. Each command has its own argument rule: an allowed program can still do
// harm with the wrong arguments (`date -s` sets the clock, `seq 1 999999999999` never ends).
const AllowedCommand* check_request(const std::vector<std::string>& words, std::string& refusal) {
    if (words.empty()) {
        refusal = "empty request - " + allowlist_text();
        return nullptr;
    }
    const AllowedCommand* found = nullptr;
    for (const AllowedCommand& command : kAllowlist) {
        if (words[0] == command.name) {
            found = &command;
        }
    }
    if (found == nullptr) {
        refusal = fmt::format("\"{}\" is not an allowed command - {}", sbs::printable(words[0]),
                              allowlist_text());
        return nullptr;
    }
    const std::vector<std::string> arguments(words.begin() + 1, words.end());
    bool ok = false;
    if (found->name == "uname") {
        ok = arguments.empty() || (arguments.size() == 1 && arguments[0] == "-a");
    } else if (found->name == "seq") {
        ok = !arguments.empty() && arguments.size() <= 2;
        for (const std::string& argument : arguments) {
            ok = ok && is_number_in(argument, 1, kMaxSeq);
        }
    } else if (found->name == "sleep") {
        ok = arguments.size() == 1 && is_number_in(arguments[0], 0, kMaxSleepSeconds);
    } else {
        ok = arguments.empty();  // date, uptime, whoami: no arguments at all
    }
    if (!ok) {
        refusal = fmt::format("bad arguments for {} - usage: {}", found->name, found->usage);
        return nullptr;
    }
    return found;
}

// What running a command produced: its output (stdout and stderr, in the order written) and a
// one-line outcome for the header, e.g. "exit 0" or "killed: over the time limit of 2 s".
struct Outcome {
    std::string output;
    std::string outcome;
};

// --- Running one command: pipe, spawn, read with a deadline, reap. ------------------------
Outcome run_command(const sbs::Narrator& narrator, const AllowedCommand& command,
                    const std::vector<std::string>& words, const Options& options) {
    // pipe2(): a one-way channel. The child writes its output into write_end; we read
    // read_end. O_CLOEXEC: neither end leaks into the child except as the stdout/stderr we
    // give it on purpose (dup2 below makes copies without the flag).
    int pipe_ends[2];
    if (::pipe2(pipe_ends, O_CLOEXEC) == -1) {
        sbs::throw_errno("pipe2");
    }
    sbs::Fd read_end(pipe_ends[0]);
    sbs::Fd write_end(pipe_ends[1]);

    // What the child gets: stdin from /dev/null (it cannot wait for input), stdout and stderr
    // into the pipe, its own process group (so we can kill it and anything it starts), default
    // signal handling and an empty signal mask, and a minimal environment.
    // Each posix_spawn* call returns 0 or an error number; the first error stops the rest.
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);  // on Linux these two cannot fail
    posix_spawnattr_init(&attributes);
    sigset_t no_signals;
    sigset_t default_signals;
    sigemptyset(&no_signals);
    sigemptyset(&default_signals);
    sigaddset(&default_signals, SIGINT);
    sigaddset(&default_signals, SIGTERM);
    sigaddset(&default_signals, SIGPIPE);
    int error = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (error == 0) {
        error = posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    }
    if (error == 0) {
        error = posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    }
    if (error == 0) {
        // Then close every fd from 3 up in the child (glibc 2.34+; the actions run in order):
        // even one opened without O_CLOEXEC, by us or whoever started us, never reaches a command.
        error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    }
    if (error == 0) {
        error = posix_spawnattr_setsigmask(&attributes, &no_signals);
    }
    if (error == 0) {
        error = posix_spawnattr_setsigdefault(&attributes, &default_signals);
    }
    if (error == 0) {
        error = posix_spawnattr_setpgroup(&attributes, 0);
    }
    if (error == 0) {
        error = posix_spawnattr_setflags(
            &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }

    // argv: the checked words, one argument each - exactly what the program sees. No shell
    // ever reads them, so "date;" could only ever be a file name or a bad argument.
    std::vector<char*> argv;
    for (const std::string& word : words) {
        argv.push_back(const_cast<char*>(word.c_str()));
    }
    argv.push_back(nullptr);
    char path_variable[] = "PATH=/usr/bin:/bin";
    char locale_variable[] = "LC_ALL=C";  // the same output format for every caller
    char* environment[] = {path_variable, locale_variable, nullptr};

    // posix_spawn(): fork() + exec() in one call. The classic pair would be
    //     pid = fork(); if (pid == 0) { dup2(...); execve(path, argv, env); _exit(127); }
    // posix_spawn does the same with fewer ways to get it wrong (nothing runs between fork and
    // exec in our code). It returns an error number instead of setting errno.
    pid_t pid = 0;
    if (error == 0) {
        error = ::posix_spawn(&pid, command.path, &actions, &attributes, argv.data(), environment);
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        sbs::throw_error(error, fmt::format("posix_spawn {}", command.path));
    }
    narrator.say("posix_spawn({}) -> child pid {}", command.path, pid);
    // Our copy of the write end must go, or read() would never see end-of-file: a pipe reports
    // EOF only when EVERY write end is closed.
    write_end.close();

    // Read the output until EOF, the cap, or the deadline. poll() waits for "readable" with a
    // timeout (read() on a pipe has none); step 06 uses it to watch many sockets at once.
    // The deadline covers the whole run, reading AND waiting for the exit below.
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.time_limit));
    const auto cap = static_cast<std::size_t>(options.max_output);
    Outcome result;
    std::string killed_because;
    char buffer[16384];
    while (killed_because.empty()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            killed_because = fmt::format("over the time limit of {} s", options.time_limit);
            break;
        }
        pollfd watch{read_end.get(), POLLIN, 0};
        const int ready = ::poll(&watch, 1, static_cast<int>(left.count()));
        if (ready == -1 && errno == EINTR) {
            if (sbs::stop_requested()) {
                killed_because = "the server is stopping";
            }
            continue;
        }
        if (ready == -1) {
            killed_because = fmt::format("poll failed: {}", std::strerror(errno));
            break;
        }
        if (ready == 0) {
            continue;  // the deadline passed: the check at the top says so
        }
        const ssize_t n = ::read(read_end.get(), buffer, sizeof(buffer));
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            killed_because = fmt::format("read failed: {}", std::strerror(errno));
            break;
        }
        if (n == 0) {
            break;  // end of file: every write end is closed (usually: the command is done)
        }
        const auto room = cap - result.output.size();
        result.output.append(buffer, std::min(static_cast<std::size_t>(n), room));
        if (static_cast<std::size_t>(n) > room) {
            killed_because = fmt::format("output over {} bytes (--max-output), cut", cap);
        }
    }
    if (!killed_because.empty()) {
        ::kill(-pid, SIGKILL);  // the whole process group: the command and anything it started
        narrator.warn("kill(-{}, SIGKILL) - {}", pid, killed_because);
    }

    // waitpid(): collect the child's exit status. Without it the finished child stays a
    // "zombie" in the process table for as long as the server runs.
    // End of file does not prove the command has ended: a program may close its stdout and
    // stderr and keep running. A plain waitpid() would then wait for it with no limit, and
    // this one-at-a-time server would hang. So we ask with WNOHANG ("has it ended? don't
    // wait") every 10 ms until the deadline, then kill the group. (Linux's pidfd_open() gives a
    // child an fd that poll() can wait on; a short sleep is simpler and good enough here.)
    int status = 0;
    while (killed_because.empty()) {
        const pid_t ended = ::waitpid(pid, &status, WNOHANG);
        if (ended == pid) {
            break;  // it has ended: status is filled in
        }
        if (ended == -1 && errno != EINTR) {
            sbs::throw_errno("waitpid");
        }
        if (sbs::stop_requested()) {
            killed_because = "the server is stopping";
        } else if (Clock::now() >= deadline) {
            killed_because =
                fmt::format("over the time limit of {} s (its output closed)", options.time_limit);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        ::kill(-pid, SIGKILL);
        narrator.warn("kill(-{}, SIGKILL) - {}", pid, killed_because);
    }
    if (!killed_because.empty()) {
        // Killed (above or in the read loop): SIGKILL cannot be caught, so this wait is short.
        while (::waitpid(pid, &status, 0) == -1) {
            if (errno != EINTR) {
                sbs::throw_errno("waitpid");
            }
        }
    }
    if (!killed_because.empty()) {
        result.outcome = "killed: " + killed_because;
    } else if (WIFEXITED(status)) {
        result.outcome = fmt::format("exit {}", WEXITSTATUS(status));
    } else {
        result.outcome = fmt::format("killed by signal {}", WTERMSIG(status));
    }
    narrator.say("waitpid({}) -> {}, {} bytes of output", pid, result.outcome,
                 result.output.size());
    return result;
}

// --- Replying: one header line, then exactly LENGTH bytes. -------------------------------------
// Header and body go out in ONE send: two small sends in a row would meet Nagle's algorithm
// and the peer's delayed ACK, and the body could wait ~40 ms for no reason.
void send_reply(const sbs::Narrator& narrator, int conn_fd, const Options& options,
                std::string_view outcome, std::string_view body) {
    if (!options.framing) {
        // The seed's way: the bare output, nothing saying where it ends. (An empty output would
        // send nothing at all, and a client waiting in recv() would wait forever; the seed
        // worked around that by sending "CMDexecuted" instead.)
        sbs::send_all(conn_fd, body, "send");
        narrator.say("send() -> {} bytes, no framing (the client must guess where it ends)",
                     body.size());
        return;
    }
    const std::string header = fmt::format("{} {}\n", body.size(), outcome);
    std::string reply = header;
    reply += body;
    sbs::send_all(conn_fd, reply, "send");
    narrator.say("send() -> header \"{}\" + {} bytes", sbs::printable(header), body.size());
}

// --- Reading one request line. --------------------------------------------------------------
// One byte per recv() so that we never read past the '\n' into a next request. It costs a
// system call per byte, fine for lines of a few dozen bytes; step 04 reads into a buffer and
// keeps the rest.
// The whole line gets ONE deadline: --timeout seconds from the moment we start waiting for it.
// A time limit per recv() would not do: a caller sending one byte every (timeout - 0.1) s would
// never trip it, and would hold this one-at-a-time server for as long as they liked (a "slow
// drip", like the Slowloris attack on web servers). So, as run_command() does, poll() waits
// for "readable" with the time left - and never more than half a second at a time, so that a
// Ctrl-C that slips in between our look at the stop flag and poll() costs at most that much.
enum class Got { line, too_long, hung_up, too_slow, stopping };

Got recv_request(int conn_fd, double timeout, std::string& line) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeout));
    line.clear();
    while (line.size() < kMaxRequest) {
        if (sbs::stop_requested()) {
            return Got::stopping;
        }
        int wait_ms = kStopCheckMilliseconds;
        if (timeout > 0) {  // 0 = no deadline: just the half-second wake-ups
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                return Got::too_slow;
            }
            wait_ms = static_cast<int>(std::min<long long>(left.count(), wait_ms));
        }
        pollfd watch{conn_fd, POLLIN, 0};
        const int ready = ::poll(&watch, 1, wait_ms);
        if (ready == -1 && errno != EINTR) {
            sbs::throw_errno("poll");
        }
        if (ready <= 0) {
            continue;  // a signal, or nothing yet: look at the flag and the deadline again
        }
        // Readable: a byte, the hang-up (0) or an error is waiting, so this recv() returns at
        // once. (MSG_DONTWAIT makes sure of it.)
        char c = 0;
        const ssize_t n = ::recv(conn_fd, &c, 1, MSG_DONTWAIT);
        if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (n == -1) {
            sbs::throw_errno("recv");  // e.g. ECONNRESET: handled by the conversation loop
        }
        if (n == 0) {
            return Got::hung_up;  // an unfinished line is dropped: nobody is left to answer
        }
        if (c == '\n') {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();  // telnet and some nc builds send "\r\n"
            }
            return Got::line;
        }
        line += c;
    }
    return Got::too_long;
}

// --- The conversation loop: request, check, run, reply - until the caller hangs up. -----------
void converse(const sbs::Narrator& narrator, int conn_fd, const sbs::SocketAddress& peer,
              const Options& options, long long& commands_run) {
    sbs::set_send_timeout(conn_fd, options.timeout);  // a caller who never reads our replies
    std::string line;
    while (!sbs::stop_requested()) {
        const Got got = recv_request(conn_fd, options.timeout, line);
        if (got == Got::hung_up) {
            narrator.say("recv() -> 0: {} hung up", peer.to_string());
            return;
        }
        if (got == Got::too_slow && line.empty()) {
            narrator.warn("{} said nothing for {} s (--timeout): hanging up", peer.to_string(),
                          options.timeout);
            return;
        }
        if (got == Got::too_slow) {
            narrator.warn("{} sent only {} bytes of a request line in {} s (--timeout): hanging up",
                          peer.to_string(), line.size(), options.timeout);
            return;
        }
        if (got == Got::stopping) {
            return;
        }
        if (got == Got::too_long) {
            // We cannot tell where this request ends, so we cannot find the next one either.
            narrator.warn("request longer than {} bytes: refused, hanging up", kMaxRequest);
            send_reply(narrator, conn_fd, options, "refused",
                       fmt::format("request longer than {} bytes\n", kMaxRequest));
            return;
        }
        narrator.say("request: \"{}\"", sbs::printable(line));

        std::string refusal;
        const std::vector<std::string> words = split_words(line);
        const AllowedCommand* command = check_request(words, refusal);
        if (command == nullptr) {
            narrator.warn("refused, nothing run: {}", refusal);
            send_reply(narrator, conn_fd, options, "refused", refusal + "\n");
            continue;
        }
        Outcome result;
        try {
            result = run_command(narrator, *command, words, options);
        } catch (const std::system_error& error) {  // e.g. the program is not installed here
            narrator.warn("could not run it: {}", error.what());
            send_reply(narrator, conn_fd, options, "error", std::string(error.what()) + "\n");
            continue;
        }
        ++commands_run;
        send_reply(narrator, conn_fd, options, result.outcome, result.output);
    }
}

// Only programs on this machine can reach a loopback address (127.0.0.0/8, ::1, or 127.x.y.z
// written as an IPv4-mapped IPv6 address, ::ffff:127.x.y.z) or a unix socket. Decided on the
// address's bytes, not on its text.
bool is_loopback(const sbs::SocketAddress& address) {
    if (address.family() == AF_UNIX) {
        return true;
    }
    if (address.family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address.data());
        return (ntohl(v4->sin_addr.s_addr) >> 24) == IN_LOOPBACKNET;  // 127.x.y.z
    }
    if (address.family() == AF_INET6) {
        const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            return v6.s6_addr[12] == IN_LOOPBACKNET;  // the IPv4 address: the last 4 bytes
        }
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return false;
}

int serve(const Options& options) {
    const sbs::Narrator narrator("cmd_server", options.quiet);
    sbs::install_stop_handlers();  // server.cpp shows these two calls inline

    const sbs::ResolvedAddress where =
        sbs::resolve(options.host, options.port, SOCK_STREAM, sbs::Purpose::bind).front();

    // --- socket() + SO_REUSEADDR + bind() + listen(), as in server.cpp. ------------------------
    // SOCK_CLOEXEC (and accept4's below): the commands we start must not inherit our sockets.
    // A child holding the listening socket or a caller's connection could answer calls or
    // keep a connection open after we closed it.
    sbs::Fd listen_fd(::socket(where.family, where.socktype | SOCK_CLOEXEC, where.protocol));
    if (!listen_fd) {
        sbs::throw_errno("socket");
    }
    const int on = 1;
    if (::setsockopt(listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
        sbs::throw_errno("setsockopt SO_REUSEADDR");
    }
    if (::bind(listen_fd.get(), where.address.data(), where.address.size()) == -1) {
        sbs::throw_errno(fmt::format("bind {}", where.address.to_string()));
    }
    const sbs::UnixSocketFile socket_file(where.address);
    if (::listen(listen_fd.get(), 5) == -1) {
        sbs::throw_errno("listen");
    }
    sbs::SocketAddress own;
    if (::getsockname(listen_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.announce("listen() - listening on {}", own.to_string());
    if (!is_loopback(own)) {
        narrator.warn(
            "{} is reachable from other machines: anyone who can connect may run the "
            "allowed commands as {}",
            own.to_string(), "this server's user");
    }
    narrator.say("{}; time limit {} s, output cap {} bytes{}", allowlist_text(), options.time_limit,
                 options.max_output, options.framing ? "" : "; NO FRAMING (--no-framing)");

    // --- The connection loop. --------------------------------------------------------------
    // As in server.cpp: accept4() wakes up every half second (SO_RCVTIMEO, EAGAIN) to look at
    // the stop flag, so a Ctrl-C that lands between the look and the call is not lost.
    sbs::set_receive_timeout(listen_fd.get(), kStopCheckMilliseconds / 1000.0);
    long long callers = 0;
    long long commands_run = 0;
    while (!sbs::stop_requested()) {
        sbs::SocketAddress peer;
        sbs::Fd conn_fd(::accept4(listen_fd.get(), peer.data(), peer.size_ptr(), SOCK_CLOEXEC));
        if (!conn_fd) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;  // a signal or the half-second wake-up: the loop looks at the flag
            }
            if (errno == ECONNABORTED || errno == EPROTO) {
                continue;  // a caller who gave up while waiting in the queue
            }
            sbs::throw_errno("accept4");
        }
        narrator.say("accept4() -> fd {}, caller {}", conn_fd.get(), peer.to_string());
        ++callers;
        try {
            converse(narrator, conn_fd.get(), peer, options, commands_run);
        } catch (const std::system_error& error) {  // the caller reset or vanished
            narrator.warn("{} - dropping {}", error.what(), peer.to_string());
        }
        conn_fd.close();
        narrator.say("close() - hung up on {}", peer.to_string());
    }
    narrator.announce("{}: stopped. {} caller(s), {} command(s) run.", sbs::stop_signal_name(),
                      callers, commands_run);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    bool no_framing = false;
    sbs::ArgParser args("cmd_server",
                        "Runs a few allowlisted commands for TCP callers (one request line "
                        "each) and sends back their output. Ctrl-C stops it.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--time-limit", "SECONDS", options.time_limit, 0.1, 60,
                "kill a command that runs longer than this (default 2)");
    args.option("--max-output", "BYTES", options.max_output, 1, 16 * 1024 * 1024,
                "send at most this much output; kill a command that writes more (default "
                "1048576)");
    args.flag("--no-framing", no_framing,
              "send the bare output with no length header (seed 001's way, to see it fail)");
    args.option("--timeout", "SECONDS", options.timeout, 0, 86400,
                "hang up on a caller silent this long; 0 = never (default 60)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] {
        options.framing = !no_framing;
        return serve(options);
    });
}
