/// SendGrid Event Webhook: SendGrid's own signature vector (docs/vendors.md#sendgrid-signature), keys, the replay
/// window, a batch signed with a throwaway key, and the mapping of every event word onto the contract.

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "adapters/email/sendgrid.hpp"

namespace sg = deliveryd::adapters::email;
namespace core = deliveryd::core;
using namespace std::chrono_literals;

namespace {

// SendGrid's SDK test vector (@sendgrid/eventwebhook), as docs/vendors.md#sendgrid-signature lists it.
const std::string sdk_key =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1F"
  "wCM/QmGUhA==";
const std::string sdk_timestamp = "1588788367";
const std::string sdk_payload = R"({"category":"example_payload","event":"test_event","message_id":"message_id"})";
const std::string sdk_signature =
  "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
const core::timestamp sdk_time = core::from_millis(1'588'788'367'000);
constexpr std::chrono::milliseconds skew = 5min;

/// A loaded key; fails the test when the text does not load.
sg::verification_key loaded(const std::string& base64_der) {
  auto result = sg::load_key(base64_der);
  REQUIRE(std::holds_alternative<sg::verification_key>(result));
  return std::get<sg::verification_key>(result);
}

/// Why a key text does not load; fails the test when it does.
sg::key_error refused(const std::string& base64_der) {
  auto result = sg::load_key(base64_der);
  REQUIRE(std::holds_alternative<sg::key_error>(result));
  return std::get<sg::key_error>(result);
}

/// A file of tests/data/email, byte for byte.
std::string read_data(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/email/" + name, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// ---- throwaway keys, signed as SendGrid signs ----------------------------------------------------------------

struct pkey_free {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

/// base64 of bytes.
std::string base64(const std::vector<unsigned char>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// DER SubjectPublicKeyInfo of a key.
std::vector<unsigned char> public_key_der(EVP_PKEY* key) {
  const int size = i2d_PUBKEY(key, nullptr);
  REQUIRE(size > 0);
  std::vector<unsigned char> der(static_cast<std::size_t>(size));
  unsigned char* cursor = der.data();
  REQUIRE(i2d_PUBKEY(key, &cursor) == size);
  return der;
}

/// base64 DER SubjectPublicKeyInfo of a key, as SendGrid shows it in the webhook settings.
std::string public_key_base64(EVP_PKEY* key) { return base64(public_key_der(key)); }

/// base64 DER ECDSA/SHA-256 signature of timestamp + body.
std::string sign(EVP_PKEY* key, const std::string& timestamp, const std::string& body) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1);
  const std::string data = timestamp + body;
  std::size_t size = 0;
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()),
                         data.size()) == 1);
  std::vector<unsigned char> der(size);
  REQUIRE(EVP_DigestSign(ctx.get(), der.data(), &size, reinterpret_cast<const unsigned char*>(data.data()),
                         data.size()) == 1);
  der.resize(size);
  return base64(der);
}

/// A fresh EC key on a named curve ("P-256", "P-384").
pkey_ptr ec_key(const char* curve) {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)};
  REQUIRE(key);
  return key;
}

/// The batch of a parse, failing the test on a parse error.
deliveryd::adapters::mapped_batch parsed(const std::string& body, core::timestamp received_at) {
  auto result = sg::parse_events(body, received_at);
  if (auto* error = std::get_if<sg::parse_error>(&result))
    FAIL(error->detail);
  return std::get<deliveryd::adapters::mapped_batch>(std::move(result));
}

} // namespace

TEST_CASE("SendGrid's SDK vector verifies", "[sendgrid][signature]") {
  const auto key = loaded(sdk_key);
  CHECK(key.loaded());
  for (auto now : {sdk_time, sdk_time + 4min, sdk_time - 4min, sdk_time + skew, sdk_time - skew}) {
    INFO(core::to_millis(now));
    CHECK(sg::verify(key, sdk_signature, sdk_timestamp, sdk_payload, now, skew) == sg::verdict::ok);
  }
}

TEST_CASE("anything changed fails SendGrid verification", "[sendgrid][signature]") {
  const auto key = loaded(sdk_key);
  auto check = [&](const std::string& signature, const std::string& timestamp, const std::string& payload) {
    return sg::verify(key, signature, timestamp, payload, sdk_time + 1s, skew);
  };

  SECTION("a line ending after the payload: the raw bytes are signed") {
    CHECK(check(sdk_signature, sdk_timestamp, sdk_payload + "\r\n") == sg::verdict::bad_signature);
    CHECK(check(sdk_signature, sdk_timestamp, sdk_payload + "\n") == sg::verdict::bad_signature);
  }
  SECTION("one byte of the payload") {
    for (std::size_t i : {std::size_t{0}, std::size_t{13}, sdk_payload.size() - 1}) {
      auto payload = sdk_payload;
      payload[i] = static_cast<char>(payload[i] ^ 0x01);
      INFO(payload);
      CHECK(check(sdk_signature, sdk_timestamp, payload) == sg::verdict::bad_signature);
    }
    CHECK(check(sdk_signature, sdk_timestamp, "") == sg::verdict::bad_signature);
  }
  SECTION("the payload re-serialised: spaces after separators") {
    const auto pretty = nlohmann::json::parse(sdk_payload).dump(1);
    CHECK(check(sdk_signature, sdk_timestamp, pretty) == sg::verdict::bad_signature);
  }
  SECTION("the timestamp header, even within the window") {
    CHECK(check(sdk_signature, "1588788368", sdk_payload) == sg::verdict::bad_signature);
    CHECK(check(sdk_signature, "01588788367", sdk_payload) == sg::verdict::bad_signature);
  }
  SECTION("a stale timestamp, either way") {
    for (auto now :
         {sdk_time + skew + 1ms, sdk_time - skew - 1ms, sdk_time + 24h, core::from_millis(1'795'764'000'000)}) {
      INFO(core::to_millis(now));
      CHECK(sg::verify(key, sdk_signature, sdk_timestamp, sdk_payload, now, skew) == sg::verdict::stale_timestamp);
    }
    CHECK(sg::verify(key, sdk_signature, sdk_timestamp, sdk_payload, sdk_time + 1h, 2h) == sg::verdict::ok);
  }
  SECTION("a timestamp that is not unix seconds as digits") {
    for (const char* ts : {"1588788367 ", " 1588788367", "+1588788367", "-1588788367", "1588788367.0", "abc",
                           "0x5eb2d10f", "99999999999999999999", "0"}) {
      INFO(ts);
      CHECK(check(sdk_signature, ts, sdk_payload) == sg::verdict::stale_timestamp);
    }
  }
  SECTION("a damaged, truncated or missing signature") {
    auto flipped = sdk_signature;
    flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
    CHECK(check(flipped, sdk_timestamp, sdk_payload) == sg::verdict::bad_signature);
    CHECK(check(sdk_signature.substr(0, sdk_signature.size() - 4), sdk_timestamp, sdk_payload) ==
          sg::verdict::bad_signature);
    CHECK(check(sdk_signature.substr(0, sdk_signature.size() - 1), sdk_timestamp, sdk_payload) ==
          sg::verdict::bad_signature);
    CHECK(check(sdk_signature + " ", sdk_timestamp, sdk_payload) == sg::verdict::bad_signature);
    CHECK(check("not base64!", sdk_timestamp, sdk_payload) == sg::verdict::bad_signature);
    CHECK(check("AAAA", sdk_timestamp, sdk_payload) == sg::verdict::bad_signature);
    // Same bytes as the real signature but for the unused bits of the last character: not canonical base64.
    CHECK(check(sdk_signature.substr(0, sdk_signature.size() - 2) + "1=", sdk_timestamp, sdk_payload) ==
          sg::verdict::bad_signature);
    CHECK(check("", sdk_timestamp, sdk_payload) == sg::verdict::missing);
    CHECK(check(sdk_signature, "", sdk_payload) == sg::verdict::missing);
  }
  SECTION("another key") {
    const auto other = ec_key("P-256");
    const auto other_key = loaded(public_key_base64(other.get()));
    CHECK(sg::verify(other_key, sdk_signature, sdk_timestamp, sdk_payload, sdk_time, skew) ==
          sg::verdict::bad_signature);
    // ... and a signature by another key over the same bytes.
    CHECK(check(sign(other.get(), sdk_timestamp, sdk_payload), sdk_timestamp, sdk_payload) ==
          sg::verdict::bad_signature);
  }
}

TEST_CASE("verification keys: only a base64 DER P-256 public key loads", "[sendgrid][key]") {
  CHECK(loaded("  " + sdk_key + "\n").loaded());
  CHECK(refused("") == sg::key_error::not_a_public_key);
  CHECK(refused("garbage!") == sg::key_error::not_base64);
  CHECK(refused(sdk_key.substr(1)) == sg::key_error::not_base64);
  CHECK(refused("-----BEGIN PUBLIC KEY-----\n" + sdk_key + "\n-----END PUBLIC KEY-----") == sg::key_error::not_base64);
  CHECK(refused("Z2FyYmFnZSBrZXkgYnl0ZXM=") == sg::key_error::not_a_public_key);

  SECTION("keys of other kinds load as public keys but are refused") {
    const auto p384 = ec_key("P-384");
    CHECK(refused(public_key_base64(p384.get())) == sg::key_error::not_p256);
    const pkey_ptr ed25519{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
    REQUIRE(ed25519);
    CHECK(refused(public_key_base64(ed25519.get())) == sg::key_error::not_p256);
    const pkey_ptr rsa{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})};
    REQUIRE(rsa);
    CHECK(refused(public_key_base64(rsa.get())) == sg::key_error::not_p256);
  }
  SECTION("a P-256 key's DER with a byte after it") {
    const auto key = ec_key("P-256");
    auto der = public_key_der(key.get());
    CHECK(loaded(base64(der)).loaded());
    der.push_back(0);
    CHECK(refused(base64(der)) == sg::key_error::not_a_public_key);
  }
  SECTION("without a loaded key nothing verifies") {
    const sg::verification_key empty;
    CHECK_FALSE(empty.loaded());
    CHECK(sg::verify(empty, sdk_signature, sdk_timestamp, sdk_payload, sdk_time, skew) == sg::verdict::bad_key);
  }
  SECTION("every error and verdict has a sentence") {
    for (auto e : {sg::key_error::not_base64, sg::key_error::not_a_public_key, sg::key_error::not_p256})
      CHECK_FALSE(sg::describe(e).empty());
    for (auto v : {sg::verdict::ok, sg::verdict::missing, sg::verdict::bad_signature, sg::verdict::stale_timestamp,
                   sg::verdict::bad_key})
      CHECK_FALSE(sg::describe(v).empty());
  }
}


namespace {

/// A batch as SendGrid posts it: one element per line, several messages, every kind of event, and items that
/// cannot be used. Addresses are in `email` and in a bounce reason only.
const std::string batch_body = R"([
{"email":"ana@example.com","timestamp":1795763410,"event":"processed","sg_event_id":"ev-processed-1","sg_message_id":"M1aaaaaaaaaaaaaaaaaaaa.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"},
{"email":"ana@example.com","timestamp":1795763414,"event":"delivered","response":"250 OK","sg_event_id":"ev-delivered-1","sg_message_id":"M1aaaaaaaaaaaaaaaaaaaa.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"},
{"email":"bo@example.com","timestamp":1795763420,"event":"bounce","type":"bounce","bounce_classification":"Invalid Address","status":"5.1.1","reason":"550 5.1.1 <bo@example.com>: Recipient address rejected: User unknown","sg_event_id":"ev-bounce-2","sg_message_id":"M2bbbbbbbbbbbbbbbbbbbb.recvd-5f54b5d587-pczjm-1-67BADEEA-6.0"},
{"email":"cy@example.com","timestamp":1795763421,"event":"bounce","type":"blocked","status":"5.7.1","reason":"550 5.7.1 Service unavailable; client host blocked","sg_event_id":"ev-blocked-3","sg_message_id":"M3cccccccccccccccccccc.recvd-5f54b5d587-pczjm-1-67BADEEA-7.0"},
{"email":"di@example.com","timestamp":1795763430,"event":"dropped","reason":"Unsubscribed Address","sg_event_id":"ev-dropped-4","sg_message_id":"M4dddddddddddddddddddd.recvd-1"},
{"email":"ed@example.com","timestamp":1795763431,"event":"dropped","reason":"Spam Reporting Address","sg_event_id":"ev-dropped-5","sg_message_id":"M5eeeeeeeeeeeeeeeeeeee.recvd-1"},
{"email":"fa@example.com","timestamp":1795763432,"event":"dropped","reason":"Bounced Address","sg_event_id":"ev-dropped-6","sg_message_id":"M6ffffffffffffffffffff.recvd-1"},
{"email":"not an address","timestamp":1795763433,"event":"dropped","reason":"Invalid","sg_event_id":"ev-dropped-7","sg_message_id":"M7gggggggggggggggggggg.recvd-1"},
{"email":"gu@example.com","timestamp":1795763434,"event":"dropped","reason":"Recipient List over Package Quota","sg_event_id":"ev-dropped-8","sg_message_id":"M8hhhhhhhhhhhhhhhhhhhh.recvd-1"},
{"email":"ana@example.com","timestamp":1795763700,"event":"open","sg_machine_open":false,"useragent":"Mozilla/5.0","ip":"203.0.113.7","sg_event_id":"ev-open-1","sg_message_id":"M1aaaaaaaaaaaaaaaaaaaa.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"},
{"email":"ana@example.com","event":"click","url":"https://example.com/offer","sg_event_id":"ev-click-1","sg_message_id":"M1aaaaaaaaaaaaaaaaaaaa.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"},
{"email":"ho@example.com","timestamp":"1795763440","event":"deferred","response":"421 4.7.0 Try again later","attempt":"1","sg_event_id":"ev-deferred-9","sg_message_id":"M9iiiiiiiiiiiiiiiiiiii"},
{"email":"ana@example.com","timestamp":1795763760,"event":"spamreport","sg_event_id":"ev-spam-1","sg_message_id":"M1aaaaaaaaaaaaaaaaaaaa.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"},
{"email":"ana@example.com","timestamp":1795763770,"event":"group_unsubscribe","asm_group_id":7},
{"email":"iv@example.com","timestamp":1795763450,"event":"delivered","sg_event_id":"ev-no-message-id"},
{"email":"jo@example.com","timestamp":1795763451,"event":"exploded","sg_event_id":"ev-unknown","sg_message_id":"M10jjjjjjjjjjjjjjjjjj.recvd-1"},
42,
{"email":"ka@example.com","timestamp":1795763452,"event":"processed","sg_message_id":"M11kkkkkkkkkkkkkkkkkk.recvd-1"}
])";
const std::string batch_timestamp = "1795764000";
const core::timestamp batch_received = core::from_millis(1'795'764'001'250);

/// What one mapped event must carry.
struct expected_event {
  std::size_t index;             ///< element of batch_body
  std::string vendor_message_id;
  core::status outcome;
  std::string code;
  core::category cat;
  std::string reason;
  std::int64_t vendor_seconds;   ///< 0: the receipt time
  std::string vendor_status;
  std::string vendor_code;
  std::string dedupe_key;
};

} // namespace

TEST_CASE("a signed batch verifies and every event maps onto the contract", "[sendgrid][parse][map]") {
  using s = core::status;
  using c = core::category;
  const auto key_pair = ec_key("P-256");
  const auto key = loaded(public_key_base64(key_pair.get()));
  const auto signature = sign(key_pair.get(), batch_timestamp, batch_body);
  REQUIRE(sg::verify(key, signature, batch_timestamp, batch_body, batch_received, skew) == sg::verdict::ok);
  CHECK(sg::verify(key, signature, batch_timestamp, batch_body + "\n", batch_received, skew) ==
        sg::verdict::bad_signature);

  const std::string m1 = "M1aaaaaaaaaaaaaaaaaaaa";
  const std::vector<expected_event> expected{
    {0, m1, s::pending, "", c::none, "", 1795763410, "processed", "", "ev-processed-1"},
    {1, m1, s::sent, "", c::none, "", 1795763414, "delivered", "", "ev-delivered-1"},
    {2, "M2bbbbbbbbbbbbbbbbbbbb", s::failed, "email:bounce", c::invalid_recipient,
     "550 5.1.1 <bo@example.com>: Recipient address rejected: User unknown", 1795763420, "bounce", "5.1.1",
     "ev-bounce-2"},
    {3, "M3cccccccccccccccccccc", s::failed, "email:blocked", c::blocked,
     "550 5.7.1 Service unavailable; client host blocked", 1795763421, "bounce", "5.7.1", "ev-blocked-3"},
    {4, "M4dddddddddddddddddddd", s::failed, "email:dropped", c::opted_out, "Unsubscribed Address", 1795763430,
     "dropped", "", "ev-dropped-4"},
    {5, "M5eeeeeeeeeeeeeeeeeeee", s::failed, "email:dropped", c::opted_out, "Spam Reporting Address", 1795763431,
     "dropped", "", "ev-dropped-5"},
    {6, "M6ffffffffffffffffffff", s::failed, "email:dropped", c::invalid_recipient, "Bounced Address", 1795763432,
     "dropped", "", "ev-dropped-6"},
    {7, "M7gggggggggggggggggggg", s::failed, "email:dropped", c::invalid_recipient, "Invalid", 1795763433,
     "dropped", "", "ev-dropped-7"},
    {8, "M8hhhhhhhhhhhhhhhhhhhh", s::failed, "email:dropped", c::blocked, "Recipient List over Package Quota",
     1795763434, "dropped", "", "ev-dropped-8"},
    {9, m1, s::sent, "", c::none, "", 1795763700, "open", "", "ev-open-1"},
    {10, m1, s::sent, "", c::none, "", 0, "click", "", "ev-click-1"},
    {11, "M9iiiiiiiiiiiiiiiiiiii", s::pending, "", c::none, "", 0, "deferred", "", "ev-deferred-9"},
  };

  const auto batch = parsed(batch_body, batch_received);
  const auto elements = nlohmann::ordered_json::parse(batch_body);
  REQUIRE(batch.events.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& want = expected[i];
    const auto& got = batch.events[i];
    INFO("element " << want.index);
    CHECK(got.vendor_message_id == want.vendor_message_id);
    CHECK(got.event.source == core::event_source::webhook);
    CHECK(got.event.outcome == want.outcome);
    CHECK(got.event.code == want.code);
    CHECK(got.event.cat == want.cat);
    CHECK(got.event.reason == want.reason);
    CHECK(got.event.vendor_time ==
          (want.vendor_seconds == 0 ? batch_received : core::from_millis(want.vendor_seconds * 1000)));
    CHECK(got.event.vendor_status == want.vendor_status);
    CHECK(got.event.vendor_code == want.vendor_code);
    CHECK(got.event.dedupe_key == want.dedupe_key);
    CHECK(got.raw == elements[want.index].dump()); // same keys in the same order
  }
  CHECK(batch.ignored == 2); // spamreport; group_unsubscribe (needs no ids)

  REQUIRE(batch.unusable.size() == 4);
  const std::vector<std::size_t> unusable_indexes{14, 15, 16, 17};
  for (std::size_t i = 0; i < unusable_indexes.size(); ++i) {
    INFO(batch.unusable[i].reason);
    CHECK(batch.unusable[i].index == unusable_indexes[i]);
    CHECK_FALSE(batch.unusable[i].reason.empty());
    CHECK(batch.unusable[i].reason.find('@') == std::string::npos); // never an address
  }
  CHECK(batch.unusable[0].reason.find("sg_message_id") != std::string::npos);
  CHECK(batch.unusable[1].reason.find("event") != std::string::npos);
  CHECK(batch.unusable[3].reason.find("sg_event_id") != std::string::npos);
}

TEST_CASE("a body that is not a JSON array is refused as a whole", "[sendgrid][parse]") {
  for (const char* body : {"", " ", "not json", "[1,", "{\"event\":\"processed\"}", "\"[]\"", "null", "[] []",
                           "[{\"event\":\"processed\"},]", "\xff[]"}) {
    INFO(body);
    auto result = sg::parse_events(body, batch_received);
    REQUIRE(std::holds_alternative<sg::parse_error>(result));
    const auto& error = std::get<sg::parse_error>(result);
    CHECK(error.http_status == 400);
    CHECK(error.error == "malformed");
    CHECK_FALSE(error.detail.empty());
  }
  const auto empty = parsed(" [ ] ", batch_received);
  CHECK(empty.events.empty());
  CHECK(empty.unusable.empty());
  CHECK(empty.ignored == 0);
}

TEST_CASE("each element is judged on its own", "[sendgrid][parse]") {
  auto one = [](const std::string& element) { return parsed("[" + element + "]", batch_received); };
  auto unusable = [&](const std::string& element) {
    const auto batch = one(element);
    INFO(element);
    CHECK(batch.events.empty());
    CHECK(batch.ignored == 0);
    REQUIRE(batch.unusable.size() == 1);
    CHECK(batch.unusable[0].index == 0);
    return batch.unusable[0].reason;
  };
  const std::string ids = R"("sg_event_id":"e1","sg_message_id":"abc.def.ghi")";

  for (const char* element : {"null", "true", "\"delivered\"", "[]", "[{\"event\":\"delivered\"}]", "1.5"})
    CHECK_FALSE(unusable(element).empty());
  CHECK(unusable(R"({"sg_event_id":"e1","sg_message_id":"abc"})").find("event") != std::string::npos);
  CHECK_FALSE(unusable(R"({"event":7,)" + ids + "}").empty());
  CHECK_FALSE(unusable(R"({"event":"",)" + ids + "}").empty());
  CHECK_FALSE(unusable(R"({"event":"Delivered",)" + ids + "}").empty());
  CHECK_FALSE(unusable(R"({"event":"delivered","sg_event_id":"e1","sg_message_id":""})").empty());
  CHECK_FALSE(unusable(R"({"event":"delivered","sg_event_id":"e1","sg_message_id":7})").empty());
  CHECK_FALSE(unusable(R"({"event":"delivered","sg_event_id":"e1","sg_message_id":".filter0001"})").empty());
  CHECK_FALSE(unusable(R"({"event":"delivered","sg_event_id":"","sg_message_id":"abc"})").empty());
  CHECK_FALSE(unusable(R"({"event":"delivered","sg_event_id":null,"sg_message_id":"abc"})").empty());

  SECTION("the message id is sg_message_id before its first '.'") {
    CHECK(one(R"({"event":"delivered",)" + ids + "}").events.at(0).vendor_message_id == "abc");
    CHECK(one(R"({"event":"delivered","sg_event_id":"e1","sg_message_id":"abc"})").events.at(0).vendor_message_id ==
          "abc");
    CHECK(sg::message_id_of("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0") == "14c5d75ce93");
    CHECK(sg::message_id_of("W3VZ_GyHQmGxMgnrjVdJnQ.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0") ==
          "W3VZ_GyHQmGxMgnrjVdJnQ");
    CHECK(sg::message_id_of("").empty());
  }
  SECTION("a timestamp that is not integer unix seconds gives way to the receipt time") {
    for (const char* ts : {"\"1795763410\"", "-1", "0", "1795763410.5", "null", "1e30", "99999999999999999999",
                           "253402300800"}) {
      INFO(ts);
      const auto batch = one(R"({"event":"delivered","timestamp":)" + std::string{ts} + "," + ids + "}");
      CHECK(batch.events.at(0).event.vendor_time == batch_received);
    }
    const auto max = one(R"({"event":"delivered","timestamp":253402300799,)" + ids + "}");
    CHECK(max.events.at(0).event.vendor_time == core::from_millis(253'402'300'799'000));
  }
  SECTION("post-delivery events are ignored, with or without ids") {
    for (const char* word : {"spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"}) {
      INFO(word);
      CHECK(one(R"({"event":")" + std::string{word} + "\"," + ids + "}").ignored == 1);
      CHECK(one(R"({"event":")" + std::string{word} + "\"}").ignored == 1);
    }
  }
  SECTION("retries resend the same events: the same dedupe keys") {
    const auto first = parsed(batch_body, batch_received);
    const auto again = parsed(batch_body, batch_received + 1h);
    REQUIRE(first.events.size() == again.events.size());
    for (std::size_t i = 0; i < first.events.size(); ++i)
      CHECK(first.events[i].event.dedupe_key == again.events[i].event.dedupe_key);
  }
}

TEST_CASE("failures without a vendor reason take the category's description", "[sendgrid][map]") {
  const auto batch = parsed(R"([{"event":"bounce","status":"5.2.2","sg_event_id":"e1","sg_message_id":"m1"},
{"event":"dropped","sg_event_id":"e2","sg_message_id":"m2"}])",
                            batch_received);
  REQUIRE(batch.events.size() == 2);
  CHECK(batch.events[0].event.code == "email:bounce"); // no type: a hard bounce
  CHECK(batch.events[0].event.cat == core::category::unreachable);
  CHECK(batch.events[0].event.reason == core::describe(core::category::unreachable));
  CHECK(batch.events[1].event.code == "email:dropped");
  CHECK(batch.events[1].event.cat == core::category::blocked);
  CHECK(batch.events[1].event.reason == core::describe(core::category::blocked));
}

TEST_CASE("bounce categories: classification first, then the enhanced status", "[sendgrid][map]") {
  using c = core::category;
  CHECK(sg::bounce_category("Invalid Address", "") == c::invalid_recipient);
  CHECK(sg::bounce_category("Mailbox Unavailable", "") == c::unreachable);
  CHECK(sg::bounce_category("Technical", "") == c::vendor_error);
  CHECK(sg::bounce_category("Content", "") == c::content_rejected);
  CHECK(sg::bounce_category("Reputation", "") == c::blocked);
  CHECK(sg::bounce_category("Frequency/Volume", "") == c::blocked);
  CHECK(sg::bounce_category("Unclassified", "5.1.1") == c::unknown); // SendGrid's own word wins
  CHECK(sg::bounce_category("Content", "5.1.1") == c::content_rejected);
  CHECK(sg::bounce_category("", "5.1.1") == c::invalid_recipient);
  CHECK(sg::bounce_category("", "5.1.10") == c::invalid_recipient);
  CHECK(sg::bounce_category("", "5.2.2") == c::unreachable);
  CHECK(sg::bounce_category("", "5.7.1") == c::blocked);
  CHECK(sg::bounce_category("Something New", "5.7.26") == c::blocked); // undocumented class: the status decides
  CHECK(sg::bounce_category("", "5.4.4") == c::unknown);
  CHECK(sg::bounce_category("", "4.2.2") == c::unknown);
  CHECK(sg::bounce_category("", "") == c::unknown);
  CHECK(sg::bounce_category("invalid address", "") == c::unknown);
}

TEST_CASE("dropped categories: vendor-side suppressions stay failures", "[sendgrid][map]") {
  using c = core::category;
  CHECK(sg::dropped_category("Unsubscribed Address") == c::opted_out);
  CHECK(sg::dropped_category("Spam Reporting Address") == c::opted_out);
  CHECK(sg::dropped_category("Bounced Address") == c::invalid_recipient);
  CHECK(sg::dropped_category("Invalid") == c::invalid_recipient);
  CHECK(sg::dropped_category("Invalid address") == c::invalid_recipient);
  CHECK(sg::dropped_category("Invalid SMTPAPI header") == c::sender_config);
  CHECK(sg::dropped_category("Spam Content (if Spam Checker app is enabled)") == c::content_rejected);
  CHECK(sg::dropped_category("Recipient List over Package Quota") == c::blocked);
  CHECK(sg::dropped_category("") == c::blocked);
  const auto batch = parsed(
    R"([{"event":"dropped","reason":"Unsubscribed Address","sg_event_id":"e","sg_message_id":"m"}])", batch_received);
  REQUIRE(batch.events.size() == 1);
  CHECK(batch.events[0].event.outcome == core::status::failed); // never excluded: that is ours, 10000-11999
}

TEST_CASE("the sample batch in tests/data/email verifies, and its private key signs new bodies",
          "[sendgrid][signature][data]") {
  const auto body = read_data("batch.json");
  const auto timestamp = read_data("batch.ts");
  const auto signature = read_data("batch.sig");
  const auto key = loaded(read_data("public_key.b64"));
  CHECK(body.back() == ']'); // exactly as signed: no trailing newline
  const auto signed_at = core::from_millis(std::stoll(timestamp) * 1000);
  CHECK(sg::verify(key, signature, timestamp, body, signed_at + 30s, skew) == sg::verdict::ok);
  CHECK(sg::verify(key, signature, timestamp, body + "\n", signed_at, skew) == sg::verdict::bad_signature);

  const auto batch = parsed(body, signed_at);
  CHECK(batch.events.size() == 8);
  CHECK(batch.ignored == 1);
  CHECK(batch.unusable.empty());

  const auto pem_text = read_data("private_key.pem");
  const std::unique_ptr<BIO, decltype(&BIO_free)> pem{
    BIO_new_mem_buf(pem_text.data(), static_cast<int>(pem_text.size())), BIO_free};
  REQUIRE(pem);
  const pkey_ptr private_key{PEM_read_bio_PrivateKey(pem.get(), nullptr, nullptr, nullptr)};
  REQUIRE(private_key);
  CHECK(public_key_base64(private_key.get()) == read_data("public_key.b64"));
  const std::string fresh_ts = "1795770000";
  const std::string fresh_body = R"([{"event":"delivered","sg_event_id":"x","sg_message_id":"y"}])";
  CHECK(sg::verify(key, sign(private_key.get(), fresh_ts, fresh_body), fresh_ts, fresh_body,
                   core::from_millis(1'795'770'000'000), skew) == sg::verdict::ok);
}
