#include <watchgate/core/base/digest.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace watchgate::core {

namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    return to_hex(digest, size);
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::getrandom(buffer.data() + done, bytes - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("getrandom failed");
        done += static_cast<std::size_t>(n);
    }
    return to_hex(buffer.data(), bytes);
}

}  // namespace watchgate::core
