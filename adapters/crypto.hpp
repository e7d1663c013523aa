#pragma once
/// HMAC signatures as vendors document them, base64-encoded (Twilio, NAVER Cloud SENS), SHA-256, and the
/// comparisons of signatures and secrets that reveal nothing to a caller who measures the time they take.

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

/// `bytes` bytes from OpenSSL's random generator, base64url-encoded without padding (a token that can stand in a
/// URL as it is). Throws std::runtime_error if OpenSSL cannot give them.
std::string random_token(std::size_t bytes);

/// Compares two strings in time that depends only on their lengths: for signatures, whose length is public.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Whether `given` is the secret `configured` (a token): compares their SHA-256 digests in constant time, so that
/// the time taken reveals neither where the texts differ nor how long the secret is. False when either is empty
/// (an empty secret would let anyone in) or OpenSSL fails.
bool secret_matches(std::string_view configured, std::string_view given) noexcept;

} // namespace deliveryd::adapters
