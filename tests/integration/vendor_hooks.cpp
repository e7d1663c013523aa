#include "vendor_hooks.hpp"

#include <memory>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace it {

namespace {

std::string trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

fs::path test_data(const char* name) { return fs::path{DELIVERYD_TEST_DATA} / name; }

} // namespace

daemon_options with_vendors(const vendor_sections& sections) {
  std::string toml;
  if (sections.email) {
    const auto key = trimmed(read_file(test_data("email/public_key.b64")));
    REQUIRE_FALSE(key.empty());
    toml += "[email]\nverification_key = \"" + key + "\"\n\n";
  }
  if (sections.carrier)
    toml += std::string{"[carrier]\ntoken = \""} + carrier_token + "\"\n\n";
  if (sections.kakao) {
    // Nothing listens there, and with poll_interval 1h no poll is due during a test anyway.
    toml += "[kakao]\napi_base = \"http://127.0.0.1:" + std::to_string(free_port())
            + "\"\nservice_id = \"ncp:kkobizmsg:kr:1234:test\"\naccess_key = \"TESTACCESS\"\n"
              "secret_key = \"TESTSECRET\"\npoll_interval = \"1h\"\n";
    if (sections.kakao_push)
      toml += std::string{"push_token = \""} + kakao_push_token + "\"\n";
    toml += "\n";
  }
  daemon_options options;
  options.extra_toml = toml;
  return options;
}

json vendor_send(const std::string& send_id, const std::string& medium, const std::string& vendor,
                 const std::string& contact, seconds_point requested_at, const std::string& vendor_message_id) {
  return json{{"send_id", send_id},   {"type", "follow_up"}, {"medium", medium},
              {"vendor", vendor},     {"contact", contact},  {"requested_at", seoul_rfc3339(requested_at)},
              {"vendor_message_id", vendor_message_id}};
}

std::string unix_now() { return std::to_string(now_seconds().time_since_epoch().count()); }

std::string sendgrid_signature(const std::string& timestamp, const std::string& body) {
  return sendgrid_signer{}.sign(timestamp, body);
}

struct sendgrid_signer::key {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{nullptr, EVP_PKEY_free};
};

sendgrid_signer::sendgrid_signer() : key_{std::make_unique<key>()} {
  const auto pem = read_file(test_data("email/private_key.pem"));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  REQUIRE(bio);
  key_->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(key_->pkey);
}

sendgrid_signer::~sendgrid_signer() = default;
sendgrid_signer::sendgrid_signer(sendgrid_signer&&) noexcept = default;
sendgrid_signer& sendgrid_signer::operator=(sendgrid_signer&&) noexcept = default;

std::string sendgrid_signer::sign(const std::string& timestamp, const std::string& body) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  const std::string data = timestamp + body;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1)
    throw std::runtime_error{"ECDSA signing failed"};
  std::vector<unsigned char> der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, bytes, data.size()) != 1)
    throw std::runtime_error{"ECDSA signing failed"};
  std::string b64(4 * ((len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der.data(), static_cast<int>(len));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

httplib::Result post_email(httplib::Client& hooks, const std::string& body, const std::string& timestamp,
                           const std::optional<std::string>& signature) {
  httplib::Headers headers;
  const auto sig = signature ? *signature : sendgrid_signature(timestamp, body); // signs only when not given
  if (!sig.empty()) {
    headers.emplace("X-Twilio-Email-Event-Webhook-Signature", sig);
    headers.emplace("X-Twilio-Email-Event-Webhook-Timestamp", timestamp);
  }
  return hooks.Post("/webhooks/email", headers, body, "application/json");
}

json send_of(httplib::Client& ops, const std::string& send_id) { return get_json(ops, "/v1/sends/" + send_id); }

} // namespace it
