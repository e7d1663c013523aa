#pragma once
/// HMAC signatures as vendors document them, base64-encoded (Twilio, NAVER Cloud SENS), and SHA-256.

#include <array>
#include <string>
#include <string_view>

namespace deliveryd::adapters {

/// The digests vendors sign with.
enum class digest {
  sha1,   ///< Twilio's X-Twilio-Signature
  sha256, ///< Twilio's rule signature, SENS signature v2
};

/// base64(HMAC(digest, key, data)); "" if OpenSSL fails (which then never matches a header).
std::string hmac_base64(digest d, std::string_view key, std::string_view data);

/// SHA-256 of `data` (FIPS 180-4). Throws std::runtime_error if OpenSSL fails.
std::array<unsigned char, 32> sha256(std::string_view data);

} // namespace deliveryd::adapters
