// 04_file_transfer/protocol.cpp - encoding and checking the 16-byte header, receiving whole
// messages, and SHA-256. The header layout is documented in protocol.hpp and README.md.
//
// What it teaches: how a receiver finds message boundaries on a byte stream (read a fixed-size
// header, check it, then read exactly the length it announces) and why every length is checked
// against a limit before a single byte is allocated for it.
// Partner: protocol.hpp; tested by protocol_test.cpp.
#include "protocol.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "sbs/error.hpp"
#include "sbs/io.hpp"
#include "sbs/signals.hpp"

namespace step04 {

bool is_request(Type type) noexcept {
    return type == Type::list || type == Type::get || type == Type::put;
}

bool is_error(Type type) noexcept {
    const auto value = static_cast<std::uint8_t>(type);
    return value >= static_cast<std::uint8_t>(Type::bad_request) &&
           value <= static_cast<std::uint8_t>(Type::server_error);
}

std::string_view type_name(Type type) noexcept {
    switch (type) {
        case Type::list:
            return "LIST";
        case Type::get:
            return "GET";
        case Type::put:
            return "PUT";
        case Type::ok:
            return "OK";
        case Type::bad_request:
            return "bad request";
        case Type::bad_name:
            return "name refused";
        case Type::not_found:
            return "not found";
        case Type::exists:
            return "already exists";
        case Type::too_big:
            return "too big";
        case Type::bad_digest:
            return "digest mismatch";
        case Type::server_error:
            return "server error";
    }
    return "unknown";
}

namespace {

bool is_known(std::uint8_t value) noexcept {
    const auto type = static_cast<Type>(value);
    return is_request(type) || type == Type::ok || is_error(type);
}

}  // namespace

// --- the byte order, by hand ---------------------------------------------------------------
// Big-endian ("network byte order"): the most significant byte goes first, whatever the CPU.
// Shifting and masking works on every machine; htons()/htonl()/htobe64() do the same job.
std::array<std::uint8_t, kHeaderSize> encode_header(const Header& header) noexcept {
    std::array<std::uint8_t, kHeaderSize> bytes{};
    std::copy(kMagic.begin(), kMagic.end(), bytes.begin());
    bytes[4] = kVersion;
    bytes[5] = static_cast<std::uint8_t>(header.type);
    bytes[6] = static_cast<std::uint8_t>(header.text_length >> 8);
    bytes[7] = static_cast<std::uint8_t>(header.text_length & 0xff);
    for (std::size_t i = 0; i < 8; ++i) {
        bytes[8 + i] = static_cast<std::uint8_t>(header.size >> (56 - 8 * i));
    }
    return bytes;
}

Header decode_header(std::span<const std::uint8_t, kHeaderSize> bytes) noexcept {
    Header header;
    header.type = static_cast<Type>(bytes[5]);
    header.text_length = static_cast<std::uint16_t>((bytes[6] << 8) | bytes[7]);
    for (std::size_t i = 0; i < 8; ++i) {
        header.size = (header.size << 8) | bytes[8 + i];
    }
    return header;
}

std::optional<std::string> check_header(std::span<const std::uint8_t> bytes, Direction direction) {
    // Judge every byte that has arrived, so garbage is refused at its first wrong byte.
    for (std::size_t i = 0; i < kMagic.size() && i < bytes.size(); ++i) {
        if (bytes[i] != kMagic[i]) {
            return fmt::format("bad magic byte 0x{:02x} at offset {}: not an SBS4 message",
                               bytes[i], i);
        }
    }
    if (bytes.size() > 4 && bytes[4] != kVersion) {
        return fmt::format("unsupported protocol version {} (this program speaks {})", bytes[4],
                           kVersion);
    }
    if (bytes.size() > 5) {
        if (!is_known(bytes[5])) {
            return fmt::format("unknown message type 0x{:02x}", bytes[5]);
        }
        const bool request = is_request(static_cast<Type>(bytes[5]));
        if (request != (direction == Direction::request)) {
            return fmt::format("a {} where a {} was expected", request ? "request" : "response",
                               direction == Direction::request ? "request" : "response");
        }
    }
    if (bytes.size() < kHeaderSize) {
        return std::nullopt;  // nothing wrong yet: wait for the rest
    }

    const Header header = decode_header(bytes.first<kHeaderSize>());
    const std::string_view name = type_name(header.type);
    switch (header.type) {
        case Type::list:
            if (header.text_length != 0 || header.size != 0) {
                return std::string("LIST carries no name and no size");
            }
            break;
        case Type::get:
        case Type::put:
            if (header.text_length == 0 || header.text_length > kMaxNameLength) {
                return fmt::format("{} name length {} is outside 1..{}", name, header.text_length,
                                   kMaxNameLength);
            }
            if (header.size > kMaxFileSize) {
                return fmt::format("{} size {} is larger than the protocol's limit of {} bytes",
                                   name, header.size, kMaxFileSize);
            }
            break;
        case Type::ok:
            if (header.text_length != 0) {
                return std::string("OK carries no text");
            }
            if (header.size > kMaxFileSize) {
                return fmt::format("OK size {} is larger than the protocol's limit of {} bytes",
                                   header.size, kMaxFileSize);
            }
            break;
        default:  // an error response: a message, no size
            if (header.text_length == 0 || header.text_length > kMaxErrorLength) {
                return fmt::format("error message length {} is outside 1..{}", header.text_length,
                                   kMaxErrorLength);
            }
            if (header.size != 0) {
                return std::string("an error response carries no size");
            }
            break;
    }
    return std::nullopt;
}

Progress HeaderReader::feed(std::span<const std::uint8_t> bytes, std::size_t& consumed) {
    consumed = std::min(bytes.size(), kHeaderSize - have_);
    std::copy_n(bytes.begin(), consumed, bytes_.begin() + static_cast<std::ptrdiff_t>(have_));
    have_ += consumed;
    if (auto problem = check_header(std::span(bytes_).first(have_), direction_)) {
        throw ProtocolError(*problem);
    }
    return have_ == kHeaderSize ? Progress::complete : Progress::need_more;
}

Header HeaderReader::header() const {
    if (have_ != kHeaderSize) {
        throw std::logic_error("HeaderReader::header() before the header is complete");
    }
    return decode_header(bytes_);
}

std::optional<std::string> why_name_is_refused(std::string_view name) {
    if (name.empty()) {
        return std::string("the name is empty");
    }
    if (name.size() > kMaxNameLength) {
        return fmt::format("the name is {} bytes long; at most {} are allowed", name.size(),
                           kMaxNameLength);
    }
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '/') {
            return std::string(
                "the name contains '/': only files directly in the served "
                "directory can be named");
        }
        if (byte == 0) {
            return std::string("the name contains a NUL byte");
        }
        if (byte < 0x20 || byte == 0x7f) {
            return fmt::format("the name contains the control character 0x{:02x}", byte);
        }
    }
    if (name.front() == '.') {
        return std::string("names starting with '.' are refused (\".\", \"..\", hidden files)");
    }
    return std::nullopt;
}

namespace {

std::string with_header(const Header& header, std::string_view text) {
    const auto bytes = encode_header(header);
    std::string message(bytes.begin(), bytes.end());
    message.append(text);
    return message;
}

}  // namespace

std::string encode_request(Type type, std::string_view name, std::uint64_t size) {
    if (!is_request(type) || name.size() > kMaxNameLength) {
        throw std::invalid_argument(fmt::format("encode_request: bad {} request", type_name(type)));
    }
    return with_header({type, static_cast<std::uint16_t>(name.size()), size}, name);
}

std::string encode_ok(std::uint64_t size) {
    return with_header({Type::ok, 0, size}, {});
}

std::string encode_error(Type type, std::string_view message) {
    if (!is_error(type)) {
        throw std::invalid_argument("encode_error: not an error type");
    }
    if (message.empty()) {
        message = type_name(type);
    }
    message = message.substr(0, kMaxErrorLength);
    return with_header({type, static_cast<std::uint16_t>(message.size()), 0}, message);
}

namespace {

// With a deadline, shrinks the socket's receive timeout to the time left before the next
// recv(); once the deadline has passed, throws the same timeout error an expired recv() gives.
void wait_no_later_than(int fd, const std::optional<Deadline>& deadline, const char* what) {
    if (!deadline) {
        return;  // no deadline: the socket's own timeout applies to each recv()
    }
    const double left =
        std::chrono::duration<double>(*deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
        throw std::system_error(std::make_error_code(std::errc::timed_out), what);
    }
    // At least 1 ms: a timeout that rounds down to 0 s would mean "wait forever".
    sbs::set_receive_timeout(fd, std::max(left, 0.001));
}

}  // namespace

std::optional<Message> receive_message(int fd, Direction direction,
                                       std::optional<Deadline> deadline) {
    // The header: recv() until 16 bytes have arrived, however many calls that takes, never
    // asking for more than is still missing (the bytes after the header are not ours to take).
    // Each piece goes through the HeaderReader, so garbage is refused at its first wrong byte
    // instead of after a wait for 16 bytes that may never come.
    std::array<std::uint8_t, kHeaderSize> bytes{};
    std::size_t have = 0;
    HeaderReader reader(direction);
    while (have < kHeaderSize) {
        // Ctrl-C that arrived just before this loop would not interrupt the recv() below, so
        // look at the flag first. (A signal landing between this check and recv() still waits
        // for the next signal or the timeout: closing that gap needs ppoll() or a self-pipe.)
        if (sbs::stop_requested()) {
            throw std::runtime_error("stopped by a signal while waiting for a header");
        }
        wait_no_later_than(fd, deadline, "recv header");
        const ssize_t n = ::recv(fd, bytes.data() + have, kHeaderSize - have, 0);
        if (n == -1 && errno == EINTR && !sbs::stop_requested()) {
            continue;  // a signal that is not Ctrl-C: wait on; after Ctrl-C, give up (below)
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::system_error(std::make_error_code(std::errc::timed_out), "recv header");
        }
        if (n == -1) {
            sbs::throw_errno("recv header");
        }
        if (n == 0 && have == 0) {
            return std::nullopt;  // hung up between messages: a clean goodbye
        }
        if (n == 0) {
            throw std::runtime_error(fmt::format(
                "the peer hung up after {} of the header's {} bytes", have, kHeaderSize));
        }
        std::size_t consumed = 0;
        (void)reader.feed(std::span(bytes).subspan(have, static_cast<std::size_t>(n)), consumed);
        have += static_cast<std::size_t>(n);
    }
    Message message{decode_header(bytes), {}};

    // The text: its length was checked above (at most 1024 bytes), so allocating it is safe.
    // The same loop as sbs::recv_exact, written out so the deadline is checked before each call.
    message.text.resize(message.header.text_length);
    std::size_t text_got = 0;
    while (text_got < message.text.size()) {
        wait_no_later_than(fd, deadline, "recv name");
        const ssize_t n =
            ::recv(fd, message.text.data() + text_got, message.text.size() - text_got, 0);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw std::system_error(std::make_error_code(std::errc::timed_out), "recv name");
        }
        if (n == -1) {
            sbs::throw_errno("recv name");
        }
        if (n == 0) {
            throw std::runtime_error(
                fmt::format("the peer hung up after {} of the {} bytes of text", text_got,
                            message.text.size()));
        }
        text_got += static_cast<std::size_t>(n);
    }
    return message;
}

// --- SHA-256 through OpenSSL's EVP interface ----------------------------------------------
Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr || EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(context_);
        throw std::runtime_error("OpenSSL: cannot start a SHA-256 digest");
    }
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(context_);  // accepts nullptr (a moved-from object)
}

Sha256::Sha256(Sha256&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
    if (this != &other) {
        EVP_MD_CTX_free(context_);
        context_ = std::exchange(other.context_, nullptr);
    }
    return *this;
}

void Sha256::update(const void* data, std::size_t length) {
    if (context_ == nullptr || EVP_DigestUpdate(context_, data, length) != 1) {
        throw std::runtime_error("OpenSSL: SHA-256 update failed");
    }
}

Digest Sha256::finish() {
    Digest digest{};
    unsigned int length = 0;
    if (context_ == nullptr || EVP_DigestFinal_ex(context_, digest.data(), &length) != 1 ||
        length != digest.size()) {
        throw std::runtime_error("OpenSSL: SHA-256 final failed");
    }
    return digest;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const std::uint8_t byte : bytes) {
        hex += kDigits[byte >> 4];
        hex += kDigits[byte & 0x0f];
    }
    return hex;
}

}  // namespace step04
