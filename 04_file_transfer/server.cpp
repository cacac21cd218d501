// 04_file_transfer/server.cpp - a file server: LIST, GET and PUT of whole files of any size,
// one client at a time, over the framed protocol of protocol.hpp.
//
// What it teaches:
//   - framing: every request starts with a 16-byte header that says what follows and how long
//     it is (protocol.hpp); the file's data is then read until exactly `size` bytes have come,
//     however many recv()s that takes, because TCP keeps no message boundaries (sticky_demo.cpp);
//   - a served directory nobody can climb out of: names are checked (no "..", no '/', no NUL),
//     opened with openat() relative to the directory and O_NOFOLLOW (a symlink is refused);
//   - safe writes: an upload goes into a temporary file beside the target, and only after its
//     size and SHA-256 have been checked is it fsync()ed and renamed into place, so a cut
//     connection never leaves a half-written file under the real name;
//   - sendfile(): the kernel copies file pages straight into the socket (zero copy); the
//     read()/send() loop it replaces runs with --no-sendfile, for comparison.
// New since step 03: the protocol, files, sendfile, SIGPIPE ignored (sendfile has no
// MSG_NOSIGNAL), timeouts: one deadline for the whole request, then a per-call timeout in both
// directions while the data flows.
// Moved into common (taught in steps 01-03): resolving the address, the Fd owner, send_all /
// recv_exact (the loops over partial sends and reads), set_receive_timeout /
// set_send_timeout, the Ctrl-C handlers (sbs/signals.hpp), narration and argument parsing.
// The accept loop and SO_REUSEADDR stay here: they are short.
// Partner: 04_file_transfer/client.cpp (and protocol.hpp, which both share).
//
// Run it (two terminals):
//     build/04_file_transfer/server --root /tmp/served          # created if missing
//     build/04_file_transfer/client put /etc/services            # upload
//     build/04_file_transfer/client ls
//     build/04_file_transfer/client get services /tmp/copy       # download, digest checked
//     sha256sum /etc/services /tmp/copy                          # the same digest, three times
// or speak the protocol by hand with netcat: a LIST is 16 bytes (see protocol.hpp)
//     printf 'SBS4\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' | nc -N 127.0.0.1 9004 | xxd
// What you should see: the server narrates each call (accept, the decoded request, open,
// sendfile or recv totals, the SHA-256, rename), refuses bad names with a reason and carries
// on serving. Ctrl-C stops it after a summary. It serves ONE client at a time: a second client
// waits in the listen queue until the first is done (step 05 brings concurrency).
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol.hpp"
#include "sbs/address.hpp"
#include "sbs/args.hpp"
#include "sbs/error.hpp"
#include "sbs/fd.hpp"
#include "sbs/io.hpp"
#include "sbs/narrate.hpp"
#include "sbs/signals.hpp"

namespace {

using step04::Type;

constexpr std::uint16_t kDefaultPort = 9004;
constexpr std::size_t kBufferSize = 256 * 1024;  // one recv()/pread() moves at most this much

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = kDefaultPort;
    std::string root = "served";                    // the directory whose files we serve
    long long max_size = 4LL * 1024 * 1024 * 1024;  // largest upload accepted (4 GiB)
    bool overwrite = false;                         // may an upload replace an existing file?
    bool no_sendfile = false;                       // send with read()+send() instead
    double timeout = 10;                            // seconds a client may stall
    bool quiet = false;
};

// A request we answer with an error message and then carry on: a bad name, a missing file...
// It is an exception like any other (what() is the message), with the reply's type attached.
struct Refusal : std::runtime_error {
    Refusal(Type reply_type, const std::string& message)
        : std::runtime_error(message), type(reply_type) {}
    Type type;
};

// Everything one call needs to know about the server.
struct Context {
    const Options& options;
    const sbs::Narrator& narrator;
    int root_fd;  // the served directory, opened once: every name is looked up relative to it
};

// Sends the whole file from `offset` to `size` into the socket; returns the number of calls.
// --- the zero-copy way: sendfile() -------------------------------------------------------
// The kernel moves the file's pages from the page cache into the socket itself: no copy into
// our memory and back, two system calls' worth of work saved per chunk. `position` is advanced
// by the kernel; the file's own offset is untouched.
std::size_t send_with_sendfile(int conn_fd, int file_fd, std::uint64_t offset, std::uint64_t size) {
    auto position = static_cast<off_t>(offset);
    std::size_t calls = 0;
    while (static_cast<std::uint64_t>(position) < size) {
        const std::uint64_t left = size - static_cast<std::uint64_t>(position);
        const ssize_t sent = ::sendfile(
            conn_fd, file_fd, &position,
            static_cast<std::size_t>(std::min<std::uint64_t>(left, std::uint64_t{1} << 30)));
        ++calls;
        if (sent == -1 && errno == EINTR && !sbs::stop_requested()) {
            continue;  // a signal before anything was sent: go on
        }
        if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::runtime_error("sendfile: the client stopped reading (--timeout)");
        }
        if (sent == -1) {
            sbs::throw_errno("sendfile");  // EPIPE / ECONNRESET: the client hung up
        }
        if (sent == 0) {
            throw std::runtime_error("sendfile: the file shrank while it was being sent");
        }
    }
    return calls;
}

// One pread() of up to `want` bytes at `position`, retried after EINTR. The file was checked
// to be `size` bytes long; if it ends early, someone shrank it while we were reading.
std::size_t pread_chunk(int file_fd, char* buffer, std::size_t want, std::uint64_t position) {
    while (true) {
        const ssize_t got = ::pread(file_fd, buffer, want, static_cast<off_t>(position));
        if (got == -1 && errno == EINTR) {
            continue;
        }
        if (got == -1) {
            sbs::throw_errno("pread");
        }
        if (got == 0) {
            throw std::runtime_error("read: the file shrank while it was being read");
        }
        return static_cast<std::size_t>(got);
    }
}

// --- the classic way: read() into a buffer, send() it out --------------------------------
// Every byte crosses into our memory and back into the kernel: two copies and two system
// calls per chunk. Easy to follow, portable, and what sendfile() replaces.
std::size_t send_with_read_write(int conn_fd, int file_fd, std::uint64_t offset,
                                 std::uint64_t size) {
    std::vector<char> buffer(kBufferSize);
    std::uint64_t position = offset;
    std::size_t calls = 0;
    while (position < size) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - position));
        const std::size_t got = pread_chunk(file_fd, buffer.data(), want, position);  // copy 1
        sbs::send_all(conn_fd, buffer.data(), got, "send file data");                 // copy 2
        position += got;
        ++calls;
    }
    return calls;
}

// The SHA-256 of the file's first `size` bytes, read with pread() (from the page cache when
// the file was read recently).
step04::Digest digest_of_file(int file_fd, std::uint64_t size, const std::atomic<bool>& abandoned) {
    std::vector<char> buffer(kBufferSize);
    step04::Sha256 hash;
    std::uint64_t position = 0;
    while (position < size) {
        if (abandoned) {
            throw std::runtime_error("digest abandoned: the transfer failed");
        }
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - position));
        const std::size_t got = pread_chunk(file_fd, buffer.data(), want, position);
        hash.update(buffer.data(), got);
        position += got;
    }
    return hash.finish();
}

// --- LIST: the regular files in the served directory, one "SIZE NAME\n" line each --------
void handle_list(const Context& context, int conn_fd) {
    std::vector<std::pair<std::string, std::uint64_t>> files;
    // fdopendir() takes ownership of the descriptor it is given, so give it a duplicate; the
    // duplicate stays in an Fd until fdopendir() has succeeded, so a failure cannot leak it.
    sbs::Fd copy(::fcntl(context.root_fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) {
        throw Refusal{Type::server_error, fmt::format("dup: {}", std::strerror(errno))};
    }
    // From here on closedir() closes it: a unique_ptr with closedir as its deleter.
    const std::unique_ptr<DIR, int (*)(DIR*)> directory(::fdopendir(copy.get()), &::closedir);
    if (!directory) {
        throw Refusal{Type::server_error, fmt::format("opendir: {}", std::strerror(errno))};
    }
    (void)copy.release();          // owned by the DIR now
    ::rewinddir(directory.get());  // the duplicate shares its position with earlier listings
    while (const dirent* entry = ::readdir(directory.get())) {
        const std::string name = entry->d_name;
        struct stat info {};
        // Only names a client could GET: regular files (no symlinks), acceptable names.
        if (step04::why_name_is_refused(name) ||
            ::fstatat(context.root_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISREG(info.st_mode)) {
            continue;
        }
        files.emplace_back(name, static_cast<std::uint64_t>(info.st_size));
    }
    std::sort(files.begin(), files.end());

    std::string listing;
    std::size_t listed = 0;
    for (const auto& [name, size] : files) {
        std::string line = fmt::format("{} {}\n", size, name);
        if (listing.size() + line.size() > step04::kMaxListingSize) {
            break;  // a reply the client would refuse; a real server would page the listing
        }
        listing += line;
        ++listed;
    }
    sbs::send_all(conn_fd, step04::encode_ok(listing.size()), "send OK");
    sbs::send_all(conn_fd, listing, "send listing");
    context.narrator.say(
        "LIST -> {} file(s), {} bytes of listing{}", listed, listing.size(),
        listed < files.size()
            ? fmt::format(" ({} more left out: the listing is full)", files.size() - listed)
            : "");
}

// --- GET name offset: OK + size, the data from offset, then the 32-byte SHA-256 -----------
void handle_get(const Context& context, int conn_fd, const std::string& name,
                std::uint64_t offset) {
    // The name: exactly one entry directly in the served directory, or a refusal.
    if (auto why = step04::why_name_is_refused(name)) {
        throw Refusal{Type::bad_name, *why};
    }
    // openat() looks the name up in the served directory (root_fd), never in our working
    // directory. O_NOFOLLOW: if the name is a symbolic link (which might point anywhere, e.g.
    // at /etc/passwd) the call fails with ELOOP instead of following it. O_NONBLOCK: opening a
    // FIFO someone placed here must not block the whole server (it is refused just below).
    sbs::Fd file_fd(
        ::openat(context.root_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file_fd && errno == ENOENT) {
        throw Refusal{Type::not_found, fmt::format("no file named '{}'", name)};
    }
    if (!file_fd && errno == ELOOP) {
        throw Refusal{Type::bad_name,
                      fmt::format("'{}' is a symbolic link: refused (it could lead out of the "
                                  "served directory)",
                                  name)};
    }
    if (!file_fd) {
        throw Refusal{Type::server_error, fmt::format("open {}: {}", name, std::strerror(errno))};
    }
    struct stat info {};
    if (::fstat(file_fd.get(), &info) == -1) {
        sbs::throw_errno("fstat");
    }
    if (!S_ISREG(info.st_mode)) {
        throw Refusal{Type::bad_name, fmt::format("'{}' is not a regular file", name)};
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);
    if (offset > size) {
        throw Refusal{Type::bad_request, fmt::format("offset {} is past the end of '{}' ({} bytes)",
                                                     offset, name, size)};
    }
    context.narrator.say("openat({}) -> fd {}, {} bytes", name, file_fd.get(), size);

    // The trailer will be the SHA-256 of the WHOLE file (so a resumed download is checked
    // entirely). sendfile() never shows us the bytes, so hashing is a second pass over the
    // file: run it in a second thread WHILE the data is being sent, not after (pread() has its
    // own offset, so the two readers do not disturb each other). Threads are step 05's lesson;
    // README.md ("A second thread, one step early") explains this one. The lambda reads file_fd,
    // declared above: the future, destroyed first, waits for the thread before file_fd closes.
    std::atomic<bool> abandoned{false};
    std::future<step04::Digest> digest = std::async(
        std::launch::async, [&] { return digest_of_file(file_fd.get(), size, abandoned); });
    // If sending fails (the client hung up), tell the hashing thread to stop early: the
    // future's destructor waits for it, and the next client should not wait for a digest
    // nobody will read. (Destroyed in reverse order: this runs before the future waits.)
    struct AbandonOnExit {
        std::atomic<bool>& flag;
        ~AbandonOnExit() { flag = true; }
    } abandon_on_exit{abandoned};

    // The reply's header tells the client the whole file's size; the data follows.
    sbs::send_all(conn_fd, step04::encode_ok(size), "send OK");
    const std::size_t calls = context.options.no_sendfile
                                  ? send_with_read_write(conn_fd, file_fd.get(), offset, size)
                                  : send_with_sendfile(conn_fd, file_fd.get(), offset, size);
    context.narrator.say("{} -> {} bytes (from offset {}) in {} call(s)",
                         context.options.no_sendfile ? "pread()+send()" : "sendfile()",
                         size - offset, offset, calls);

    const step04::Digest trailer = digest.get();  // waits for the hashing thread if need be
    sbs::send_all(conn_fd, trailer.data(), trailer.size(), "send digest");
    context.narrator.say("sha256 {}  {}", step04::to_hex(trailer), name);
}

// Removes a temporary file when it goes out of scope, unless the upload was committed.
// This is what guarantees "nothing half-written": every way out of handle_put() - a cut
// connection, a timeout, a digest mismatch, an exception - passes through this destructor.
// Construct it only for a file WE created (after openat(O_EXCL) succeeded): owning a name
// someone else created would delete their file.
class TemporaryFile {
  public:
    TemporaryFile(int directory_fd, std::string name)
        : directory_fd_(directory_fd), name_(std::move(name)) {}
    ~TemporaryFile() {
        if (!name_.empty()) {
            ::unlinkat(directory_fd_, name_.c_str(), 0);
        }
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    void keep() noexcept { name_.clear(); }  // renamed into place: nothing left to remove

  private:
    int directory_fd_;
    std::string name_;
};

// The temporary file of one upload: open for writing, and the owner that will remove it.
struct NewTemporaryFile {
    sbs::Fd fd;
    TemporaryFile file;
};

// Creates ".upload-PID-N.part" in the served directory. The name starts with '.', which no
// client may ask for. O_EXCL makes openat() fail with EEXIST rather than open a file that is
// already there - a leftover of an earlier server that had our PID and was killed, or anybody
// else's file - and then we try the next number, a bounded number of times. Only a file this
// call created is handed to a TemporaryFile, the owner that removes it.
// (Leftovers of a killed server stay: they are hidden from LIST and never in the way. Removing
// every ".upload-*" at start-up would be tidier, but could delete the upload in progress of a
// second server serving the same directory; whoever runs the server can delete them.)
NewTemporaryFile create_temporary_file(const Context& context) {
    static unsigned counter = 0;  // one thread creates temporary files: a plain counter will do
    constexpr int kTries = 100;
    for (int attempt = 0; attempt < kTries; ++attempt) {
        std::string name = fmt::format(".upload-{}-{}.part", ::getpid(), ++counter);
        sbs::Fd fd(::openat(context.root_fd, name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (fd) {
            return {std::move(fd), TemporaryFile(context.root_fd, std::move(name))};
        }
        if (errno != EEXIST) {
            throw Refusal{Type::server_error,
                          fmt::format("create {}: {}", name, std::strerror(errno))};
        }
        context.narrator.say("openat({}, O_EXCL) -> EEXIST: not ours, left alone; next name", name);
    }
    throw Refusal{Type::server_error,
                  fmt::format("create .upload-{}-N.part: {} names in a row exist already",
                              ::getpid(), kTries)};
}

// --- PUT name size: go-ahead, the data and its SHA-256 from the client, then OK -----------
void handle_put(const Context& context, int conn_fd, const std::string& name, std::uint64_t size) {
    if (auto why = step04::why_name_is_refused(name)) {
        throw Refusal{Type::bad_name, *why};
    }
    // Refused BEFORE a single byte of data is accepted or written: the client waits for our
    // go-ahead, so it has sent nothing yet.
    if (size > static_cast<std::uint64_t>(context.options.max_size)) {
        throw Refusal{Type::too_big, fmt::format("{} bytes is more than this server accepts "
                                                 "(--max-size {})",
                                                 size, context.options.max_size)};
    }
    // Room on the disk? Better to refuse now than to fail at 90 % with ENOSPC. (Only a hint:
    // other writers may fill the disk meanwhile, and then write() below reports it.)
    struct statvfs space {};
    if (::fstatvfs(context.root_fd, &space) == 0 &&
        size > std::uint64_t{space.f_bavail} * space.f_frsize) {
        throw Refusal{Type::too_big,
                      fmt::format("{} bytes will not fit: {} bytes free in the served directory",
                                  size, std::uint64_t{space.f_bavail} * space.f_frsize)};
    }
    struct stat existing {};
    if (::fstatat(context.root_fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISREG(existing.st_mode)) {
            throw Refusal{Type::bad_name,
                          fmt::format("'{}' exists and is not a regular file", name)};
        }
        if (!context.options.overwrite) {
            throw Refusal{Type::exists,
                          fmt::format("'{}' already exists (the server was not started with "
                                      "--overwrite)",
                                      name)};
        }
    } else if (errno != ENOENT) {
        throw Refusal{Type::server_error, fmt::format("stat {}: {}", name, std::strerror(errno))};
    }

    // The temporary file, beside the target (rename() only works within one file system).
    auto [out_fd, temporary] = create_temporary_file(context);
    sbs::send_all(conn_fd, step04::encode_ok(), "send go-ahead");
    context.narrator.say("go-ahead sent; receiving {} bytes into {}", size, temporary.name());

    // --- the receive loop: count bytes until exactly `size` have arrived ----------------------
    // recv() returns whatever has arrived (1 byte or a full buffer); we never ask for more than
    // is still missing, so the digest that follows the data stays in the socket for later.
    std::vector<char> buffer(kBufferSize);
    step04::Sha256 hash;
    std::uint64_t received_total = 0;
    while (received_total < size) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - received_total));
        const ssize_t received = ::recv(conn_fd, buffer.data(), want, 0);
        if (received == -1 && errno == EINTR && !sbs::stop_requested()) {
            continue;
        }
        if (received == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::runtime_error(
                fmt::format("recv: the client stalled after {} of {} bytes "
                            "(--timeout)",
                            received_total, size));
        }
        if (received == -1) {
            sbs::throw_errno("recv file data");
        }
        if (received == 0) {
            throw std::runtime_error(fmt::format(
                "the client hung up after {} of {} bytes: upload discarded", received_total, size));
        }
        const auto length = static_cast<std::size_t>(received);
        hash.update(buffer.data(), length);
        // write() may also write less than asked (a full disk, a signal): loop like send_all.
        for (std::size_t written = 0; written < length;) {
            const ssize_t n = ::write(out_fd.get(), buffer.data() + written, length - written);
            if (n == -1 && errno == EINTR) {
                continue;
            }
            if (n == -1) {
                throw Refusal{Type::server_error,
                              fmt::format("write {}: {}", temporary.name(), std::strerror(errno))};
            }
            written += static_cast<std::size_t>(n);
        }
        received_total += length;
    }

    // --- the trailer: the client's SHA-256 of what it sent --------------------------------
    step04::Digest claimed{};
    if (sbs::recv_exact(conn_fd, claimed.data(), claimed.size(), "recv digest") < claimed.size()) {
        throw std::runtime_error("the client hung up before sending the digest: upload discarded");
    }
    const step04::Digest computed = hash.finish();
    context.narrator.say("recv() -> {} bytes; sha256 {}", received_total, step04::to_hex(computed));
    if (computed != claimed) {
        throw Refusal{Type::bad_digest,
                      fmt::format("the data's SHA-256 is {}, but the client said {}: upload "
                                  "discarded",
                                  step04::to_hex(computed), step04::to_hex(claimed))};
    }

    // --- commit: fsync(), then rename() into place, then fsync() the directory -----------------
    // fsync() first, or after a power cut the new name could point at a file whose data never
    // reached the disk. rename() is atomic: readers see the old file or the new one, never a
    // mix. Without --overwrite, RENAME_NOREPLACE refuses (EEXIST) if someone created the name
    // meanwhile. The directory's fsync() makes the rename itself durable.
    if (::fsync(out_fd.get()) == -1) {
        throw Refusal{Type::server_error, fmt::format("fsync: {}", std::strerror(errno))};
    }
    const unsigned flags = context.options.overwrite ? 0U : RENAME_NOREPLACE;
    if (::renameat2(context.root_fd, temporary.name().c_str(), context.root_fd, name.c_str(),
                    flags) == -1) {
        if (errno == EEXIST) {
            throw Refusal{Type::exists, fmt::format("'{}' appeared during the upload", name)};
        }
        throw Refusal{Type::server_error, fmt::format("rename: {}", std::strerror(errno))};
    }
    context.narrator.say("renameat({} -> {}): stored {} bytes", temporary.name(), name, size);
    temporary.keep();
    ::fsync(context.root_fd);  // best effort: some file systems refuse fsync on a directory
    sbs::send_all(conn_fd, step04::encode_ok(size), "send OK");
}

// Closing a socket while the peer's bytes sit unread makes the kernel send RST instead of FIN,
// and an RST can destroy our error reply before the peer has read it (step 01's note). So:
// shutdown(SHUT_WR) sends FIN after the reply, then we read and drop what the peer still sends,
// for at most a second IN ALL and 64 KiB, before the caller's close(). "In all": a timeout per
// recv() alone would let a peer that sends a byte every 0.9 s keep us here for hours, so each
// recv() may only wait for what is left of the second.
void hang_up_gently(int conn_fd) {
    if (::shutdown(conn_fd, SHUT_WR) == -1) {
        return;  // already gone: nothing to protect
    }
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(1);
    char sink[4096];
    for (std::size_t dropped = 0; dropped < 64 * 1024;) {
        const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
        if (left <= 0) {
            break;  // the second is up: close now, whatever the peer is still sending
        }
        sbs::set_receive_timeout(conn_fd, std::max(left, 0.001));  // 0 would mean "forever"
        const ssize_t n = ::recv(conn_fd, sink, sizeof(sink), 0);
        if (n <= 0) {
            break;  // the peer hung up too (0), or timed out / failed (-1): close now
        }
        dropped += static_cast<std::size_t>(n);
    }
}

// One call: read one request, answer it, hang up. A refusal is answered with an error message;
// anything else (a cut, a timeout, a protocol error) ends this call only, never the server.
void serve_one(const Context& context, int conn_fd) {
    // The request (header + name) must arrive within ONE --timeout in all, not within one
    // --timeout per recv(): otherwise a caller sending a byte every (timeout - 0.1) s could
    // hold this one-at-a-time server for minutes while everybody else waits in the queue.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(context.options.timeout));
    std::optional<step04::Message> request;
    try {
        request = step04::receive_message(conn_fd, step04::Direction::request, deadline);
        // receive_message() shrank the receive timeout; the data phase gets --timeout per call
        // again (a large upload may take long, but it may not stall longer than --timeout).
        sbs::set_receive_timeout(conn_fd, context.options.timeout);
    } catch (const step04::ProtocolError& error) {
        // Not our protocol (a web browser, a typo'd port, garbage): say why, then hang up,
        // since after a bad header nobody can tell where the next message would start.
        sbs::send_all(conn_fd, step04::encode_error(Type::bad_request, error.what()), "send error");
        hang_up_gently(conn_fd);
        throw;
    }
    if (!request) {
        context.narrator.say("recv() -> 0: the caller hung up without a request");
        return;
    }
    const step04::Header& header = request->header;
    context.narrator.say(
        "request: {}{}{}", step04::type_name(header.type),
        header.type == Type::list ? "" : " '" + sbs::printable(request->text) + "'",
        header.type == Type::get   ? fmt::format(" from offset {}", header.size)
        : header.type == Type::put ? fmt::format(", {} bytes", header.size)
                                   : "");
    try {
        switch (header.type) {
            case Type::list:
                handle_list(context, conn_fd);
                break;
            case Type::get:
                handle_get(context, conn_fd, request->text, header.size);
                break;
            default:
                handle_put(context, conn_fd, request->text, header.size);
                break;
        }
    } catch (const Refusal& refusal) {
        context.narrator.warn("refused ({}): {}", step04::type_name(refusal.type), refusal.what());
        sbs::send_all(conn_fd, step04::encode_error(refusal.type, refusal.what()), "send error");
        hang_up_gently(conn_fd);
    }
}

int serve(const Options& options) {
    const sbs::Narrator narrator("server", options.quiet);
    sbs::install_stop_handlers();  // Ctrl-C: finish cleanly (see step 02)
    // A client that hangs up while we write to it would raise SIGPIPE, whose default action
    // kills the process. send() avoids it with MSG_NOSIGNAL, but sendfile() has no flags
    // argument, so we ignore the signal for the whole process: writes then fail with EPIPE.
    if (::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        sbs::throw_errno("signal SIGPIPE");
    }

    // --- the served directory: created if missing, opened once -----------------------------
    std::error_code error;
    if (std::filesystem::create_directories(options.root, error); error) {
        throw std::system_error(error, fmt::format("mkdir {}", options.root));
    }
    sbs::Fd root_fd(::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        sbs::throw_errno(fmt::format("open {}", options.root));
    }
    narrator.say("serving the files in {} (uploads up to {} bytes, {})",
                 std::filesystem::absolute(options.root).string(), options.max_size,
                 options.overwrite ? "may overwrite" : "never overwriting");

    // --- socket(), SO_REUSEADDR, bind(), listen(): as in steps 01-02 ----------------------
    const sbs::ResolvedAddress where =
        sbs::resolve(options.host, options.port, SOCK_STREAM, sbs::Purpose::bind).front();
    sbs::Fd listen_fd(::socket(where.family, where.socktype | SOCK_CLOEXEC, where.protocol));
    if (!listen_fd) {
        sbs::throw_errno("socket");
    }
    const int yes = 1;  // restart at once even while old connections sit in TIME_WAIT
    if (where.family != AF_UNIX &&
        ::setsockopt(listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)) == -1) {
        sbs::throw_errno("setsockopt SO_REUSEADDR");
    }
    if (::bind(listen_fd.get(), where.address.data(), where.address.size()) == -1) {
        sbs::throw_errno(fmt::format("bind {}", where.address.to_string()));
    }
    const sbs::UnixSocketFile socket_file(where.address);
    if (::listen(listen_fd.get(), 16) == -1) {
        sbs::throw_errno("listen");
    }
    sbs::SocketAddress own;
    if (::getsockname(listen_fd.get(), own.data(), own.size_ptr()) == -1) {
        sbs::throw_errno("getsockname");
    }
    narrator.announce("listen() - listening on {}", own.to_string());
    narrator.say("one client at a time: others wait in the listen queue (step 05 serves many)");

    // --- the accept loop: one call at a time, until Ctrl-C --------------------------------
    const Context context{options, narrator, root_fd.get()};
    std::size_t served = 0;
    std::size_t failed = 0;
    while (!sbs::stop_requested()) {
        sbs::SocketAddress peer;
        sbs::Fd conn_fd(::accept4(listen_fd.get(), peer.data(), peer.size_ptr(), SOCK_CLOEXEC));
        if (!conn_fd && errno == EINTR) {
            continue;  // Ctrl-C (the loop condition sees it) or another signal
        }
        if (!conn_fd) {
            sbs::throw_errno("accept");
        }
        narrator.say("accept() -> fd {}, caller {}", conn_fd.get(), peer.to_string());
        // A stalled client must not hold the only line forever: both directions time out
        // (serve_one() also gives the whole request one deadline).
        sbs::set_receive_timeout(conn_fd.get(), options.timeout);
        sbs::set_send_timeout(conn_fd.get(), options.timeout);
        try {
            serve_one(context, conn_fd.get());
            ++served;
        } catch (const std::exception& failure) {
            // The call failed (cut, timeout, protocol error): report it, hang up, serve on.
            ++failed;
            narrator.warn("call from {} failed: {}", peer.to_string(), failure.what());
        }
        conn_fd.close();
        narrator.say("close() - hung up on {}", peer.to_string());
    }
    narrator.say("{} received. Calls served: {}, failed: {}. Goodbye.", sbs::stop_signal_name(),
                 served, failed);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    Options options;
    sbs::ArgParser args("server",
                        "Serves the files of one directory over TCP: LIST, GET and PUT, one "
                        "client at a time, every transfer checked with SHA-256.");
    args.host_option(options.host);
    args.port_option(options.port);
    args.option("--root", "DIR", options.root,
                "the directory to serve, created if missing (default ./served)");
    args.option("--max-size", "BYTES", options.max_size, 0,
                static_cast<long long>(step04::kMaxFileSize),
                "refuse uploads larger than this (default 4294967296 = 4 GiB)");
    args.flag("--overwrite", options.overwrite, "let an upload replace an existing file");
    args.flag("--no-sendfile", options.no_sendfile,
              "send files with a read()/send() loop instead of sendfile()");
    args.option("--timeout", "SECONDS", options.timeout, 0.1, 3600,
                "hang up on a client stalled this long (default 10)");
    args.quiet_flag(options.quiet);
    return sbs::run_main(args, argc, argv, [&] {
        if (options.root.empty()) {
            throw sbs::UsageError("--root must name a directory");
        }
        return serve(options);
    });
}
