// 04_file_transfer/protocol.hpp - the file-transfer protocol: where one message ends on a byte
// stream, written down so that two programs (or a Python script) agree on every byte.
//
// What it teaches: framing. TCP delivers bytes, not messages ("sticky packets", see
// sticky_demo.cpp), so every message starts with a FIXED-SIZE header that says what follows and
// how long it is. The receiver reads exactly 16 bytes, checks them, and only then knows how many
// more bytes belong to this message. Lengths are checked BEFORE anything is allocated: a header
// claiming a 2^63-byte file or a 60000-byte name is refused, never trusted.
// New since step 03: the whole file. Big-endian integers are written byte by byte (the same
// thing htons()/htonl() do, spelled out so the byte order is visible).
// Partner: protocol.cpp (the code), protocol_test.cpp (its unit tests), server.cpp and
// client.cpp (its two users). README.md has the byte table.
//
// Every message, in both directions, starts with this 16-byte header:
//     offset  size  field
//     0       4     magic "SBS4"   (a stranger speaking another protocol is caught at once)
//     4       1     version = 1
//     5       1     type: requests LIST=0x01 GET=0x02 PUT=0x03, responses OK=0x80, errors 0x81..
//     6       2     text_length, big-endian: the name that follows (requests, 1..255 bytes) or
//                   the human-readable error message that follows (error responses, 1..1024)
//     8       8     size, big-endian: GET the offset to start at; PUT the file's size;
//                   OK to GET the whole file's size; OK to LIST the listing's length
// A file's data is followed by its 32-byte SHA-256 digest (the "trailer").
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace step04 {

inline constexpr std::array<std::uint8_t, 4> kMagic = {'S', 'B', 'S', '4'};
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kMaxNameLength = 255;    // what most file systems allow (NAME_MAX)
inline constexpr std::size_t kMaxErrorLength = 1024;  // an error message is one sentence
inline constexpr std::uint64_t kMaxFileSize = std::uint64_t{1} << 40;  // 1 TiB: larger is absurd
inline constexpr std::uint64_t kMaxListingSize = 16 * 1024 * 1024;     // LIST reply, in bytes
inline constexpr std::size_t kDigestSize = 32;                         // SHA-256

enum class Type : std::uint8_t {
    // requests (client -> server)
    list = 0x01,
    get = 0x02,
    put = 0x03,
    // responses (server -> client): OK, or an error with a message
    ok = 0x80,
    bad_request = 0x81,   // the request itself makes no sense (e.g. offset past the end)
    bad_name = 0x82,      // the name is refused: "..", "/", NUL, a symlink, a hidden file...
    not_found = 0x83,     // GET of a name that does not exist
    exists = 0x84,        // PUT over an existing file without --overwrite
    too_big = 0x85,       // PUT larger than the server's --max-size
    bad_digest = 0x86,    // PUT whose data does not match its SHA-256
    server_error = 0x87,  // the server failed (disk full, permissions, ...)
};

[[nodiscard]] bool is_request(Type type) noexcept;
[[nodiscard]] bool is_error(Type type) noexcept;
/// "LIST", "GET", "OK", "not found", ...
[[nodiscard]] std::string_view type_name(Type type) noexcept;

/// One decoded header. The meaning of text_length and size depends on the type (see above).
struct Header {
    Type type = Type::ok;
    std::uint16_t text_length = 0;
    std::uint64_t size = 0;

    friend bool operator==(const Header&, const Header&) = default;
};

/// The peer broke the protocol: bad magic, unknown type, a length out of range. The connection
/// cannot be trusted any further and should be closed.
class ProtocolError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Which side of the conversation a header is expected from.
enum class Direction { request, response };

/// Writes a header's 16 bytes (big-endian numbers). Does not validate: the tests use it to
/// build hostile headers too. check_header() is the gatekeeper.
[[nodiscard]] std::array<std::uint8_t, kHeaderSize> encode_header(const Header& header) noexcept;

/// Reads a header's fields from exactly 16 bytes, without judging them.
[[nodiscard]] Header decode_header(std::span<const std::uint8_t, kHeaderSize> bytes) noexcept;

/// Why `bytes` (a header, or the first bytes of one) cannot be a valid header of `direction`,
/// or nullopt when it can. A prefix shorter than 16 bytes is judged on what it has so far (a
/// wrong magic byte is refused as soon as it arrives), so a receiver may call this after every
/// recv(). The full 16 bytes are checked completely: magic, version, type, and every length
/// against its limit (names 1..255, errors 1..1024, sizes <= kMaxFileSize).
[[nodiscard]] std::optional<std::string> check_header(std::span<const std::uint8_t> bytes,
                                                      Direction direction);

/// Result of feeding bytes to a HeaderReader.
enum class Progress { need_more, complete };

/// Collects a header from however many pieces the byte stream delivers it in (one recv() may
/// bring 1 byte of it, or 16 and more). Throws ProtocolError as soon as the bytes seen so far
/// cannot be a valid header.
class HeaderReader {
  public:
    explicit HeaderReader(Direction direction) noexcept : direction_(direction) {}
    /// Takes at most the bytes still missing from `bytes`; `consumed` says how many it took.
    Progress feed(std::span<const std::uint8_t> bytes, std::size_t& consumed);
    /// The header, once feed() has returned complete.
    [[nodiscard]] Header header() const;

  private:
    Direction direction_;
    std::array<std::uint8_t, kHeaderSize> bytes_{};
    std::size_t have_ = 0;
};

/// Why `name` is refused as a file name on the server, or nullopt when it is acceptable.
/// Refused: empty, longer than 255 bytes, containing '/' or NUL or a control character, or
/// starting with '.' (that covers "." and "..", hidden files, and the server's own temporary
/// files). A name that passes names exactly one entry directly in the served directory.
[[nodiscard]] std::optional<std::string> why_name_is_refused(std::string_view name);

// --- whole messages: a header plus its text, as bytes ready for send_all() -------------------
/// LIST, GET name offset, PUT name size.
[[nodiscard]] std::string encode_request(Type type, std::string_view name = {},
                                         std::uint64_t size = 0);
/// OK with a size (file or listing length).
[[nodiscard]] std::string encode_ok(std::uint64_t size = 0);
/// An error response: a type such as not_found and a message (cut to kMaxErrorLength).
[[nodiscard]] std::string encode_error(Type type, std::string_view message);

/// A message as received: the header and the text after it (name or error message).
struct Message {
    Header header;
    std::string text;
};

/// A moment by which something must be done (steady_clock: immune to changes of the date).
using Deadline = std::chrono::steady_clock::time_point;

/// Receives one message from a stream socket: exactly 16 header bytes, checked, then exactly
/// text_length bytes. Returns nullopt when the peer hangs up before the first byte (a clean
/// goodbye). Throws ProtocolError for a bad header, std::runtime_error when the peer hangs up
/// in the middle of the message, std::system_error for socket errors (timeouts included).
/// With a `deadline`, the WHOLE message must have arrived by then: before each recv() the
/// socket's receive timeout (SO_RCVTIMEO) is shrunk to the time left, so a peer trickling one
/// byte at a time cannot stretch the wait; the timeout is left changed (the caller sets its own
/// again). Without one, each recv() waits as long as the socket's timeout allows.
[[nodiscard]] std::optional<Message> receive_message(int fd, Direction direction,
                                                     std::optional<Deadline> deadline = {});

using Digest = std::array<std::uint8_t, kDigestSize>;

/// SHA-256 of a stream of bytes, computed with OpenSSL's libcrypto (EVP interface): feed the
/// data in pieces as it passes by, then take the digest once. Move-only; throws
/// std::runtime_error if OpenSSL fails (it does not, short of running out of memory).
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&& other) noexcept;
    Sha256& operator=(Sha256&& other) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t length);
    /// The digest of everything fed so far. Call once; update() afterwards is an error.
    [[nodiscard]] Digest finish();

  private:
    evp_md_ctx_st* context_;
};

/// Lowercase hex, as sha256sum prints it.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace step04
