// 04_file_transfer/client.cpp - list, download and upload files of any size, each transfer
// checked end to end with SHA-256.
//
// What it teaches:
//   - framing from the client's side: send a 16-byte header (+ name), read the reply's header,
//     then read EXACTLY the number of bytes it announced: recv() returns whatever has arrived,
//     so the client counts until it has it all (seed 004's "累加, 直到全部传输完成");
//   - nothing half-written: a download goes into DEST.part and is renamed to DEST only after
//     its size and SHA-256 have been checked; a cut leaves DEST.part, which --resume continues
//     (and the digest of the WHOLE file is still checked);
//   - progress on a terminal (bytes, percent, MB/s, ETA), one summary line when piped.
// New since step 03: the protocol (protocol.hpp), files, SHA-256, resume, the progress bar.
// Moved into common (taught in steps 01-03): resolving the host name, the Fd owner, send_all /
// recv_exact, the socket timeouts, narration and argument parsing, and socket() + connect()
// over the resolver's candidates (sbs::dial).
// Partner: 04_file_transfer/server.cpp.
//
// Run it (two terminals):
//     build/04_file_transfer/server --root /tmp/served
//     build/04_file_transfer/client put /etc/services            # upload; prints its SHA-256
//     build/04_file_transfer/client ls                           # SIZE  NAME lines
//     build/04_file_transfer/client get services /tmp/copy       # download to /tmp/copy
//     build/04_file_transfer/client get --resume services /tmp/copy   # after a cut
//     build/04_file_transfer/client get ../etc/passwd            # refused by the server: exit 1
// or let netcat stand in for the server, to see the request's bytes (the client then gives up
// waiting for a reply after 1 s and exits 1):
//     nc -l 127.0.0.1 9004 | xxd &  build/04_file_transfer/client --timeout 1 get notes.txt
// What you should see: narration of connect, the request, the reply's header and the totals,
// then a line in sha256sum's format ("HEX  PATH") that `sha256sum PATH` confirms. Errors
// (refusals, cuts, digest mismatches) are one line on stderr and exit 1; bad arguments exit 2.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "protocol.hpp"
#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/dial.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"

namespace {

using step04::Type;

constexpr std::uint16_t kDefaultPort = 9004;
// A large receive buffer: fewer recv() calls per gigabyte. (The kernel's socket buffer, tuned
// by itself, is what really keeps the data flowing.)
constexpr std::size_t kBufferSize = 1024 * 1024;

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    double timeout = 10;  // seconds the server may stay silent
    bool resume = false;
    bool overwrite = false;
    bool quiet = false;
    std::vector<std::string> words;  // ls | get NAME [DEST] | put PATH [NAME]
};

// --- progress: a bar on a terminal, one summary line otherwise ----------------------------
class ProgressMeter {
  public:
    ProgressMeter(const sbs::Narrator& narrator, std::string verb, std::uint64_t total,
                  std::uint64_t already)
        : narrator_(narrator),
          verb_(std::move(verb)),
          total_(total),
          done_(already),
          first_(already),
          bar_(!narrator.quiet() && ::isatty(STDERR_FILENO) == 1),
          start_(Clock::now()),
          last_draw_(start_) {}

    void advance(std::uint64_t bytes) {
        done_ += bytes;
        const auto now = Clock::now();
        if (bar_ && (now - last_draw_ > std::chrono::milliseconds(100) || done_ == total_)) {
            last_draw_ = now;
            draw(now);
        }
    }

    void finish() {
        if (bar_) {
            std::fputs("\r\033[K", stderr);  // erase the bar: the summary replaces it
        }
        const double seconds = std::max(elapsed(Clock::now()), 1e-6);
        narrator_.say("{} {} bytes in {:.3f} s ({:.1f} MB/s)", verb_, done_ - first_, seconds,
                      static_cast<double>(done_ - first_) / seconds / 1e6);
    }

  private:
    using Clock = std::chrono::steady_clock;

    [[nodiscard]] double elapsed(Clock::time_point now) const {
        return std::chrono::duration<double>(now - start_).count();
    }

    void draw(Clock::time_point now) const {
        constexpr int kWidth = 24;
        const double fraction =
            total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
        const auto filled = static_cast<int>(fraction * kWidth);
        const double seconds = std::max(elapsed(now), 1e-6);
        const double rate = static_cast<double>(done_ - first_) / seconds;  // bytes per second
        const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
        fmt::print(stderr,
                   "\r[{:#<{}}{:.<{}}] {:.1f}/{:.1f} MiB {:3.0f}%  {:.1f} MB/s  ETA {}:{:02}", "",
                   filled, "", kWidth - filled, static_cast<double>(done_) / 1048576.0,
                   static_cast<double>(total_) / 1048576.0, fraction * 100, rate / 1e6,
                   static_cast<long>(eta) / 60, static_cast<long>(eta) % 60);
        std::fflush(stderr);
    }

    const sbs::Narrator& narrator_;
    std::string verb_;
    std::uint64_t total_;
    std::uint64_t done_;
    std::uint64_t first_;  // bytes we already had (resume): not part of the speed
    bool bar_;
    Clock::time_point start_;
    Clock::time_point last_draw_;
};

// --- socket() + connect(): sbs::dial tries each address the name resolves to (step 01). ----
sbs::Fd dial(const Options& options, const sbs::Narrator& narrator) {
    sbs::Fd fd = sbs::dial(options.host, options.port, narrator);
    // The server may be busy with another client (it serves one at a time), but once it
    // talks to us, neither direction may stall longer than --timeout (longer only where the
    // server is known to work in silence: see patience_for() below).
    sbs::set_receive_timeout(fd.get(), options.timeout);
    sbs::set_send_timeout(fd.get(), options.timeout);
    return fd;
}

// The server's reply to a request: OK (returned), or an error message (thrown, exit 1).
step04::Header expect_ok(int conn_fd, const sbs::Narrator& narrator) {
    const std::optional<step04::Message> reply =
        step04::receive_message(conn_fd, step04::Direction::response);
    if (!reply) {
        throw std::runtime_error("the server hung up without answering");
    }
    if (step04::is_error(reply->header.type)) {
        throw std::runtime_error(fmt::format("the server refused ({}): {}",
                                             step04::type_name(reply->header.type),
                                             sbs::printable(reply->text, step04::kMaxErrorLength)));
    }
    narrator.say("reply: OK, size {}", reply->header.size);
    return reply->header;
}

// How long the server may stay silent while it works through `bytes` of a file without
// sending anything - fsync() of an upload before its final OK, or hashing the part of a file
// that a resumed download skipped: --timeout, plus the time to get through those bytes at a
// modest 50 MB/s (a slow disk). A flat --timeout would report a large upload as failed
// although the server stored it.
double patience_for(const Options& options, std::uint64_t bytes) {
    constexpr double kSlowDiskBytesPerSecond = 50e6;
    return options.timeout + static_cast<double>(bytes) / kSlowDiskBytesPerSecond;
}

// Text from the server, made safe for a terminal: control bytes (ESC starts the sequences that
// move the cursor, clear the screen, retitle the window...) and DEL become \x1b, \x7f; the C1
// controls in their UTF-8 form (0xc2 0x80..0x9f) likewise; a backslash becomes \\ so the escapes
// stay unambiguous. Other bytes pass, so names in Chinese or any UTF-8 print as they are.
std::string terminal_safe(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const bool c1 = byte == 0xc2 && i + 1 < text.size() &&
                        static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9f;
        if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else if (c1) {
            out += fmt::format("\\xc2\\x{:02x}", static_cast<unsigned char>(text[++i]));
        } else if (byte == '\\') {
            out += "\\\\";
        } else {
            out += text[i];
        }
    }
    return out;
}

// write() to a file may also write less than asked: loop, as send_all does for sockets.
void write_all(int fd, const char* data, std::size_t length, const std::string& path) {
    while (length > 0) {
        const ssize_t written = ::write(fd, data, length);
        if (written == -1 && errno == EINTR) {
            continue;
        }
        if (written == -1) {
            sbs::throw_errno(fmt::format("write {}", path));
        }
        data += written;
        length -= static_cast<std::size_t>(written);
    }
}

// --- ls --------------------------------------------------------------------------------------
int list(const Options& options, const sbs::Narrator& narrator) {
    const sbs::Fd conn_fd = dial(options, narrator);
    sbs::send_all(conn_fd.get(), step04::encode_request(Type::list), "send LIST");
    narrator.say("send() LIST");
    const step04::Header header = expect_ok(conn_fd.get(), narrator);
    if (header.size > step04::kMaxListingSize) {  // checked before allocating
        throw step04::ProtocolError(fmt::format("a listing of {} bytes is more than the {} allowed",
                                                header.size, step04::kMaxListingSize));
    }
    std::string listing(static_cast<std::size_t>(header.size), '\0');
    if (sbs::recv_exact(conn_fd.get(), listing.data(), listing.size(), "recv listing") <
        listing.size()) {
        throw std::runtime_error("the server hung up in the middle of the listing");
    }
    // Each line is "SIZE NAME": print the sizes right-aligned, like ls -l. Both come from the
    // server, which may be hostile: a name such as "\x1b[2J" would clear our user's screen if
    // printed raw, so every byte goes through terminal_safe().
    std::size_t count = 0;
    for (std::size_t start = 0; start < listing.size();) {
        std::size_t end = listing.find('\n', start);
        end = end == std::string::npos ? listing.size() : end;
        const std::string line = listing.substr(start, end - start);
        const std::size_t space = line.find(' ');
        fmt::print("{:>12}  {}\n", terminal_safe(line.substr(0, space)),
                   space == std::string::npos ? "" : terminal_safe(line.substr(space + 1)));
        ++count;
        start = end + 1;
    }
    std::fflush(stdout);
    narrator.say("{} file(s)", count);
    return 0;
}

// --- get NAME [DEST] --------------------------------------------------------------------------
int get(const Options& options, const sbs::Narrator& narrator) {
    const std::string& name = options.words[1];
    // Where to write. Without DEST, only the last part of NAME is used, so a hostile reply can
    // never make us write outside the current directory.
    std::filesystem::path dest = std::filesystem::path(name).filename();
    if (options.words.size() > 2) {
        dest = options.words[2];
        if (std::filesystem::is_directory(dest)) {
            dest /= std::filesystem::path(name).filename();
        }
    }
    if (dest.filename().empty() || dest.filename() == "." || dest.filename() == "..") {
        dest.replace_filename("download");
    }
    if (std::filesystem::exists(dest) && !options.overwrite) {
        throw std::runtime_error(fmt::format(
            "{} already exists: choose another DEST or pass --overwrite", dest.string()));
    }
    const std::string part = dest.string() + ".part";

    // --- the temporary file: DEST.part, beside DEST (rename() works within one file system) --
    // With --resume, keep what an earlier attempt received and ask only for the rest; its bytes
    // go into the digest first, so the check still covers the whole file.
    step04::Sha256 hash;
    std::uint64_t offset = 0;
    std::vector<char> buffer(kBufferSize);
    sbs::Fd part_fd;
    if (options.resume) {
        part_fd.reset(::open(part.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
        if (!part_fd && errno != ENOENT) {
            sbs::throw_errno(fmt::format("open {}", part));
        }
        for (ssize_t got = 1; part_fd && got != 0;) {
            got = ::read(part_fd.get(), buffer.data(), buffer.size());
            if (got == -1 && errno == EINTR) {
                continue;
            }
            if (got == -1) {
                sbs::throw_errno(fmt::format("read {}", part));
            }
            hash.update(buffer.data(), static_cast<std::size_t>(got));
            offset += static_cast<std::uint64_t>(got);
        }
        narrator.say("resuming: {} already holds {} bytes", part, offset);
    }

    const sbs::Fd conn_fd = dial(options, narrator);
    sbs::send_all(conn_fd.get(), step04::encode_request(Type::get, name, offset), "send GET");
    narrator.say("send() GET '{}' from offset {}", sbs::printable(name), offset);
    const std::uint64_t size = expect_ok(conn_fd.get(), narrator).size;
    if (offset > size) {  // the server refuses this; a server that does not is broken
        throw step04::ProtocolError("the server announced a file smaller than our offset");
    }
    // Created only now that the server has said OK: a refused request leaves nothing behind.
    // A DEST.part left by an earlier attempt is removed first (we are not resuming), then
    // O_EXCL creates a new file: if DEST.part were a symbolic link planted by someone else,
    // opening it with O_TRUNC would truncate and overwrite wherever it points. (unlink()
    // removes a link itself, never its target; O_EXCL fails rather than follow one.)
    if (!part_fd) {
        if (::unlink(part.c_str()) == -1 && errno != ENOENT) {
            sbs::throw_errno(fmt::format("unlink {}", part));
        }
        part_fd.reset(
            ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!part_fd) {
            sbs::throw_errno(fmt::format("open {}", part));
        }
    }

    // --- the receive loop: count until the announced size has arrived -------------------------
    // Never ask recv() for more than is still missing: the 32-byte digest follows the data in
    // the same stream, and must stay there for the read after the loop.
    ProgressMeter meter(narrator, "received", size, offset);
    std::uint64_t have = offset;
    std::size_t calls = 0;
    while (have < size) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - have));
        const ssize_t received = ::recv(conn_fd.get(), buffer.data(), want, 0);
        if (received == -1 && errno == EINTR) {
            continue;
        }
        if (received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::runtime_error(
                fmt::format("the server sent nothing for {} s after {} of {} bytes; {} is kept: "
                            "`client get --resume {}` continues",
                            options.timeout, have, size, part, name));
        }
        if (received == -1) {
            sbs::throw_errno("recv file data");
        }
        if (received == 0) {
            throw std::runtime_error(
                fmt::format("the connection was cut after {} of {} bytes; {} is kept: "
                            "`client get --resume {}` continues",
                            have, size, part, name));
        }
        const auto length = static_cast<std::size_t>(received);
        write_all(part_fd.get(), buffer.data(), length, part);
        hash.update(buffer.data(), length);
        have += length;
        ++calls;
        meter.advance(length);
    }

    // --- the trailer: the server's SHA-256 of the whole file, compared with ours --------------
    // The server hashes the WHOLE file while it sends. With --resume it did not send the first
    // `offset` bytes, so their hash may still be running when the data is all here: wait
    // patience_for(offset), not just --timeout.
    sbs::set_receive_timeout(conn_fd.get(), patience_for(options, offset));
    step04::Digest claimed{};
    std::size_t digest_got = 0;
    try {
        digest_got = sbs::recv_exact(conn_fd.get(), claimed.data(), claimed.size(), "recv digest");
    } catch (const std::system_error& error) {
        if (error.code() != std::errc::timed_out) {
            throw;
        }
        throw std::runtime_error(
            fmt::format("the server sent no digest for {} s; {} is kept: `client get --resume "
                        "{}` continues",
                        patience_for(options, offset), part, name));
    }
    if (digest_got < claimed.size()) {
        throw std::runtime_error(fmt::format(
            "the connection was cut before the digest; {} is kept: `client get --resume {}` "
            "continues",
            part, name));
    }
    meter.finish();
    narrator.say("recv() -> {} bytes of data in {} calls, then the 32-byte digest", size - offset,
                 calls);
    const step04::Digest computed = hash.finish();
    if (computed != claimed) {
        ::unlink(part.c_str());  // worthless: resuming from it would fail the same way
        throw std::runtime_error(
            fmt::format("SHA-256 mismatch: received {}, the server says {}; {} deleted",
                        step04::to_hex(computed), step04::to_hex(claimed), part));
    }

    // --- commit: fsync(), then rename() DEST.part -> DEST ------------------------------------
    if (::fsync(part_fd.get()) == -1) {
        sbs::throw_errno(fmt::format("fsync {}", part));
    }
    const unsigned flags = options.overwrite ? 0U : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, part.c_str(), AT_FDCWD, dest.c_str(), flags) == -1) {
        sbs::throw_errno(fmt::format("rename {} -> {}", part, dest.string()));
    }
    narrator.say("rename({} -> {}): size and digest checked", part, dest.string());
    fmt::print("{}  {}\n", step04::to_hex(computed), dest.string());  // as sha256sum prints it
    std::fflush(stdout);
    return 0;
}

// After a failed send(), the server may have said why before hanging up (e.g. its disk is
// full): read that reply if there is one, so the user sees the reason rather than "EPIPE".
[[noreturn]] void explain_failed_upload(int conn_fd, const std::system_error& failure) {
    try {
        sbs::set_receive_timeout(conn_fd, 1);
        if (auto reply = step04::receive_message(conn_fd, step04::Direction::response);
            reply && step04::is_error(reply->header.type)) {
            throw std::runtime_error(fmt::format("the server refused ({}): {}",
                                                 step04::type_name(reply->header.type),
                                                 sbs::printable(reply->text, 1024)));
        }
    } catch (const std::system_error&) {
        // no reply: the original failure says it best
    } catch (const step04::ProtocolError&) {
    }
    throw failure;
}

// --- put PATH [NAME] --------------------------------------------------------------------------
int put(const Options& options, const sbs::Narrator& narrator) {
    const std::string& path = options.words[1];
    const std::string name = options.words.size() > 2
                                 ? options.words[2]
                                 : std::filesystem::path(path).filename().string();
    if (name.empty() || name.size() > step04::kMaxNameLength) {
        throw sbs::UsageError(
            fmt::format("the name must be 1 to {} bytes long; give one after "
                        "PATH",
                        step04::kMaxNameLength));
    }
    sbs::Fd file_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file_fd) {
        sbs::throw_errno(fmt::format("open {}", path));
    }
    struct stat info {};
    if (::fstat(file_fd.get(), &info) == -1) {
        sbs::throw_errno(fmt::format("fstat {}", path));
    }
    if (!S_ISREG(info.st_mode)) {
        throw std::runtime_error(fmt::format("{} is not a regular file", path));
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);

    // The request, then WAIT for the go-ahead: a refusal (name, size, exists) costs no data.
    const sbs::Fd conn_fd = dial(options, narrator);
    sbs::send_all(conn_fd.get(), step04::encode_request(Type::put, name, size), "send PUT");
    narrator.say("send() PUT '{}', {} bytes", sbs::printable(name), size);
    (void)expect_ok(conn_fd.get(), narrator);

    // --- the send loop: read() a buffer from the file, send_all() it, hash it -----------------
    std::vector<char> buffer(kBufferSize);
    step04::Sha256 hash;
    ProgressMeter meter(narrator, "sent", size, 0);
    std::uint64_t sent = 0;
    try {
        while (sent < size) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - sent));
            const ssize_t got = ::read(file_fd.get(), buffer.data(), want);
            if (got == -1 && errno == EINTR) {
                continue;
            }
            if (got == -1) {
                sbs::throw_errno(fmt::format("read {}", path));
            }
            if (got == 0) {  // hanging up now makes the server discard the upload
                throw std::runtime_error(fmt::format("{} shrank while it was being sent", path));
            }
            const auto length = static_cast<std::size_t>(got);
            hash.update(buffer.data(), length);
            sbs::send_all(conn_fd.get(), buffer.data(), length, "send file data");
            sent += length;
            meter.advance(length);
        }
        const step04::Digest digest = hash.finish();
        sbs::send_all(conn_fd.get(), digest.data(), digest.size(), "send digest");
        meter.finish();
        narrator.say("send() -> {} bytes of data, then the 32-byte digest", size);
        // The server checks size and digest, fsync()s the file to disk, renames, and only then
        // says OK: it is silent meanwhile, for seconds if the file is large and the disk slow.
        sbs::set_receive_timeout(conn_fd.get(), patience_for(options, size));
        (void)expect_ok(conn_fd.get(), narrator);
        fmt::print("{}  {}\n", step04::to_hex(digest), path);  // as sha256sum prints it
        std::fflush(stdout);
    } catch (const std::system_error& failure) {
        explain_failed_upload(conn_fd.get(), failure);
    }
    return 0;
}

int run(const Options& options) {
    const sbs::Narrator narrator("client", options.quiet);
    const std::vector<std::string>& words = options.words;
    const std::string& command = words.front();
    if (options.resume && command != "get") {
        throw sbs::UsageError("--resume goes with get");
    }
    if (command == "ls" && words.size() == 1) {
        return list(options, narrator);
    }
    if (command == "get" && words.size() >= 2 && words.size() <= 3) {
        return get(options, narrator);
    }
    if (command == "put" && words.size() >= 2 && words.size() <= 3) {
        return put(options, narrator);
    }
    throw sbs::UsageError(
        fmt::format("'{}' with {} arguments is not a command: use ls, get NAME "
                    "[DEST] or put PATH [NAME]",
                    command, words.size() - 1));
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("client",
                        "Talks to the step 04 file server: ls lists its files, get NAME [DEST] "
                        "downloads one, put PATH [NAME] uploads one. Every transfer is checked "
                        "with SHA-256 and printed like sha256sum.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "give up when the server is silent this long (default 10)");
    args.flag("--resume", options.resume,
              "get: continue from DEST.part left by an interrupted download");
    args.flag("--overwrite", options.overwrite, "get: replace DEST if it exists");
    args.quiet_flag(options.quiet);
    args.positionals("COMMAND", options.words, 1, 3, "ls | get NAME [DEST] | put PATH [NAME]");
    return sbs::run_main(args, argc, argv, [&] { return run(options); });
}
