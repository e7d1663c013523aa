#pragma once
/// HMAC signatures as vendors document them, base64-encoded (Twilio, NAVER Cloud SENS).

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

} // namespace deliveryd::adapters
