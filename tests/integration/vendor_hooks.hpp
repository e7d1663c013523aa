#pragma once
/// What the webhook tests of the e-mail, carrier and Kakao push vendors share: their config sections, intake
/// items, and SendGrid's ECDSA signature computed here with OpenSSL (docs/vendors.md#sendgrid-signature),
/// independent of the daemon's own code.

#include <memory>
#include <optional>
#include <string>

#include "harness.hpp"

namespace it {

/// The [carrier] token of the test daemons.
inline constexpr const char* carrier_token = "test-carrier-token";
/// The [kakao] push_token of the test daemons.
inline constexpr const char* kakao_push_token = "test-kakao-push-token";

/// Which vendor sections to add to the harness configuration (Twilio is always there).
struct vendor_sections {
  bool email = false;   ///< [email] with tests/data/email/public_key.b64
  bool carrier = false; ///< [carrier] token = carrier_token
  bool kakao = false;   ///< [kakao] with api_base on an unused loopback port and poll_interval "1h"
  bool kakao_push = true; ///< with kakao: also push_token = kakao_push_token
};

/// Daemon options whose extra_toml carries the chosen sections.
daemon_options with_vendors(const vendor_sections& sections);

/// One intake item (type follow_up).
json vendor_send(const std::string& send_id, const std::string& medium, const std::string& vendor,
                 const std::string& contact, seconds_point requested_at, const std::string& vendor_message_id);

/// Now as unix seconds, decimal: the value of SendGrid's timestamp header.
std::string unix_now();

/// base64 DER ECDSA P-256 / SHA-256 signature of `timestamp + body` with tests/data/email/private_key.pem.
std::string sendgrid_signature(const std::string& timestamp, const std::string& body);

/// SendGrid's signer with tests/data/email/private_key.pem read once: for load workers, which sign from their own
/// threads (sign() makes no Catch2 assertion; it throws when OpenSSL fails). One per thread.
class sendgrid_signer {
public:
  /// Reads the key; fails the test when it cannot.
  sendgrid_signer();
  ~sendgrid_signer();
  sendgrid_signer(sendgrid_signer&&) noexcept;
  sendgrid_signer& operator=(sendgrid_signer&&) noexcept;

  /// base64 DER ECDSA P-256 / SHA-256 signature of `timestamp + body`.
  std::string sign(const std::string& timestamp, const std::string& body) const;

private:
  struct key;
  std::unique_ptr<key> key_;
};

/// POSTs a SendGrid batch with the timestamp and signature headers (`signature` defaults to the right one; an
/// empty string leaves both headers out).
httplib::Result post_email(httplib::Client& hooks, const std::string& body, const std::string& timestamp,
                           const std::optional<std::string>& signature = std::nullopt);

/// GET /v1/sends/{id}.
json send_of(httplib::Client& ops, const std::string& send_id);

} // namespace it
