#include "adapters/crypto.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace deliveryd::adapters {

/// base64(HMAC(md, key, data)); "" if OpenSSL fails (which then never matches a header).
std::string hmac_base64(digest d, std::string_view key, std::string_view data) {
  const EVP_MD* md = d == digest::sha1 ? EVP_sha1() : EVP_sha256();
  // Some OpenSSL versions read a NULL key as "reuse the previous key": never pass one.
  static const unsigned char empty_key[1] = {0};
  const void* key_bytes = key.empty() ? static_cast<const void*>(empty_key) : key.data();
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(md, key_bytes, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac.data(), &mac_len) == nullptr)
    return {};
  std::string encoded(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), mac.data(),
                                static_cast<int>(mac_len));
  encoded.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return encoded;
}

std::array<unsigned char, 32> sha256(std::string_view data) {
  // Fetched once: EVP_sha256() would make OpenSSL 3 look the algorithm up again on every call.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != out.size())
    throw std::runtime_error{"OpenSSL could not compute a SHA-256 digest"};
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error{"OpenSSL could not give random bytes"};
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes * 4 + 2) / 3);
  std::uint32_t bits = 0;
  int held = 0;
  for (unsigned char c : raw) {
    bits = (bits << 8) | c;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(alphabet[(bits >> held) & 0x3F]);
    }
  }
  if (held > 0)
    out.push_back(alphabet[(bits << (6 - held)) & 0x3F]);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Only the lengths may show: a length mismatch returns at once, equal lengths compare every byte.
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool secret_matches(std::string_view configured, std::string_view given) noexcept {
  if (configured.empty() || given.empty())
    return false;
  try {
    const auto want = sha256(configured);
    const auto got = sha256(given);
    return CRYPTO_memcmp(want.data(), got.data(), want.size()) == 0;
  } catch (const std::exception&) { // OpenSSL failed: nothing matches
    return false;
  }
}

} // namespace deliveryd::adapters
