#pragma once
/// The vendors' side of the signed webhooks, made with OpenSSL directly as docs/vendors.md describes them, not
/// through the adapters under test: Twilio's HMAC signatures (SHA-1, and SHA-256 of the Webhooks Rule) and
/// SendGrid's ECDSA P-256 signatures with a key pair made for the test. The form decoding here handles
/// well-formed bodies only; it is checked against the documented vectors (vendor_actors_test.cpp).

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

namespace deliveryd::testing {

/// Standard padded base64 of `bytes`, on one line.
inline std::string base64_of(const unsigned char* bytes, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// The parameters of a well-formed application/x-www-form-urlencoded body, decoded ('+' a space, %XX a byte).
inline std::vector<std::pair<std::string, std::string>> decode_form_simply(std::string_view body) {
  auto decode = [](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out.push_back(' ');
      } else if (text[i] == '%' && i + 2 < text.size()) {
        out.push_back(static_cast<char>(std::stoi(std::string{text.substr(i + 1, 2)}, nullptr, 16)));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> params;
  while (!body.empty()) {
    const auto end = std::min(body.find('&'), body.size());
    const auto pair = body.substr(0, end);
    const auto eq = std::min(pair.find('='), pair.size());
    params.emplace_back(decode(pair.substr(0, eq)), decode(pair.substr(std::min(eq + 1, pair.size()))));
    body.remove_prefix(std::min(end + 1, body.size()));
  }
  return params;
}

/// X-Twilio-Signature as Twilio makes it: base64(HMAC(`md`, key, url + each parameter's name and value, sorted
/// by name and then value)). EVP_sha1() with the auth token; EVP_sha256() with a Webhooks Rule's shared key.
inline std::string twilio_signature(const EVP_MD* md, std::string_view key, std::string_view url,
                                    std::string_view body) {
  auto params = decode_form_simply(body);
  std::sort(params.begin(), params.end());
  std::string data{url};
  for (const auto& [name, value] : params)
    data += name + value;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  REQUIRE(HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
               data.size(), mac, &size) != nullptr);
  return base64_of(mac, size);
}

/// An EC key pair on P-256 made for one test, standing in for the one SendGrid keeps.
class sendgrid_key_pair {
public:
  sendgrid_key_pair() : key_{EVP_EC_gen("P-256"), EVP_PKEY_free} { REQUIRE(key_); }

  /// The public key as the Event Webhook settings show it and [email] verification_key takes it: base64 of
  /// the DER SubjectPublicKeyInfo.
  std::string public_key_base64() const {
    const int size = i2d_PUBKEY(key_.get(), nullptr);
    REQUIRE(size > 0);
    std::vector<unsigned char> der(static_cast<std::size_t>(size));
    unsigned char* cursor = der.data();
    REQUIRE(i2d_PUBKEY(key_.get(), &cursor) == size);
    return base64_of(der.data(), der.size());
  }

  /// X-Twilio-Email-Event-Webhook-Signature: base64 of the DER ECDSA-SHA256 signature of timestamp + body.
  std::string sign(std::string_view timestamp, std::string_view body) const {
    const std::string data = std::string{timestamp} + std::string{body};
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    REQUIRE(ctx);
    REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1);
    std::size_t size = 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, bytes, data.size()) == 1);
    std::vector<unsigned char> signature(size);
    REQUIRE(EVP_DigestSign(ctx.get(), signature.data(), &size, bytes, data.size()) == 1);
    return base64_of(signature.data(), size);
  }

private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_;
};

} // namespace deliveryd::testing
