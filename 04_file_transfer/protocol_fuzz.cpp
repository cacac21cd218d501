// 04_file_transfer/protocol_fuzz.cpp - a libFuzzer target for the header checks and name rules.
//
// What it teaches: the code that reads bytes from strangers is the code to fuzz. libFuzzer
// invents inputs, watches which branches they reach, and keeps the ones that reach new code;
// every input must leave the invariants below intact (a violation aborts and saves the input).
// Partner: protocol.cpp; the same properties are spot-checked in protocol_test.cpp.
//
// Built only with Clang (libFuzzer is part of it):
//     CXX=clang++ cmake -S . -B build-fuzz -DSBS_STEPS=04_file_transfer
//     cmake --build build-fuzz --target step04_protocol_fuzz
//     build-fuzz/04_file_transfer/protocol_fuzz -max_total_time=30
// What you should see: libFuzzer's status lines (cov, ft, exec/s) and, after 30 s, "Done";
// a crash would print the input and save it as crash-<sha1>.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "protocol.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();  // libFuzzer reports the input that got here
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const std::span<const std::uint8_t> header = input.first(std::min(size, step04::kHeaderSize));

    for (const auto direction : {step04::Direction::request, step04::Direction::response}) {
        const bool refused = step04::check_header(header, direction).has_value();

        // Fed in pieces whose sizes come from the input itself, the reader agrees.
        step04::HeaderReader reader(direction);
        bool reader_refused = false;
        std::size_t at = 0;
        while (at < header.size() && !reader_refused) {
            const std::size_t piece = 1 + (header[at] % 5);
            std::size_t consumed = 0;
            try {
                (void)reader.feed(header.subspan(at, std::min(piece, header.size() - at)),
                                  consumed);
            } catch (const step04::ProtocolError&) {
                reader_refused = true;
            }
            at += consumed;
        }
        require(reader_refused == refused);

        // An accepted full header re-encodes to the same bytes and respects every limit.
        if (!refused && header.size() == step04::kHeaderSize) {
            const step04::Header decoded =
                step04::decode_header(header.first<step04::kHeaderSize>());
            require(step04::encode_header(decoded) == [&] {
                std::array<std::uint8_t, step04::kHeaderSize> copy{};
                std::copy(header.begin(), header.end(), copy.begin());
                return copy;
            }());
            require(decoded.size <= step04::kMaxFileSize);
            require(decoded.text_length <= step04::kMaxErrorLength);
            require(step04::is_request(decoded.type) == (direction == step04::Direction::request));
        }
    }

    // An accepted name names one entry directly in the served directory.
    const std::string_view name(reinterpret_cast<const char*>(data), size);
    if (!step04::why_name_is_refused(name)) {
        require(!name.empty() && name.size() <= step04::kMaxNameLength);
        require(name.find('/') == std::string_view::npos);
        require(name.find('\0') == std::string_view::npos);
        require(name.front() != '.');
    }
    return 0;
}
