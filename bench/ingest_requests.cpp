#include "ingest_requests.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "adapters/twilio/twilio.hpp"

namespace deliveryd::bench::ingest {

using namespace std::chrono_literals;
using adapters::intake::send_request;
namespace twilio = adapters::twilio;

namespace {

constexpr int campaigns = 20;
constexpr int one_times = 10;
constexpr std::string_view twilio_from = "+15017122661";

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A hash of `i` for one purpose (`salt`): independent of the other purposes' hashes.
constexpr std::uint64_t mix(std::uint64_t i, std::uint64_t salt) { return splitmix64(i ^ splitmix64(salt)); }

std::string hex16(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, v);
  return text;
}

/// A Twilio MessageSid: "SM" and 32 lower-case hex digits that look random.
std::string twilio_sid(std::uint64_t i) {
  return "SM" + hex16(splitmix64(i)) + hex16(splitmix64(i + 0x6a09e667f3bcc908ULL));
}

/// 22 characters of a base64url alphabet from two hashes (a SendGrid X-Message-Id, an sg_event_id).
std::string id22(std::uint64_t a, std::uint64_t b) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (auto w : {a, b})
    for (int k = 0; k < 11; ++k)
      out += alphabet[(w >> (6 * k)) & 63];
  return out;
}

/// The X-Message-Id a send of the fill was registered with; SendGrid's sg_message_id adds a ".filter…" suffix.
std::string sendgrid_id(std::uint64_t i) { return id22(mix(i, 11), mix(i, 12)); }

std::string phone_of(std::uint64_t i) {
  char text[24];
  std::snprintf(text, sizeof text, "+8210%08" PRIu64, mix(i, 13) % 100'000'000);
  return text;
}

std::string email_of(std::uint64_t i) { return "user" + std::to_string(i) + "@example.com"; }

} // namespace

/// 60 % Twilio SMS, 20 % e-mail, 10 % carrier SMS, 10 % Alimtalk.
kind kind_of(std::int64_t i) {
  const auto h = mix(static_cast<std::uint64_t>(i), 1) % 100;
  return h < 60 ? kind::twilio : h < 80 ? kind::email : h < 90 ? kind::carrier : kind::kakao;
}

namespace {

std::string fill_send_id(std::int64_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "ib-%010" PRId64, i);
  return id;
}

/// Type and campaign / one-time source from a hash.
void set_type(send_request& s, std::uint64_t h) {
  const auto t = h % 100;
  if (t < 35) {
    s.type = core::send_type::campaign;
    const auto c = (h / 100) % campaigns + 1;
    s.source_id = "cmp-" + std::to_string(c);
    s.source_name = "Campaign " + std::to_string(c);
  } else if (t < 50) {
    s.type = core::send_type::one_time;
    const auto o = (h / 100) % one_times + 1;
    s.source_id = "ot-" + std::to_string(o);
    s.source_name = "One-time message " + std::to_string(o);
  } else if (t < 80) {
    s.type = core::send_type::follow_up;
  } else {
    s.type = core::send_type::workflow;
  }
}

} // namespace

send_request fill_send(std::int64_t i, std::int64_t n, core::timestamp end, std::size_t index) {
  const auto u = static_cast<std::uint64_t>(i);
  send_request s;
  s.send_id = fill_send_id(i);
  s.index = index;
  const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(fill_span).count();
  s.requested_at = end - fill_span - 1min + std::chrono::milliseconds{span * i / n}
                   + std::chrono::milliseconds{static_cast<std::int64_t>(mix(u, 2) % 60'000)};
  set_type(s, mix(u, 3));
  switch (kind_of(i)) {
  case kind::twilio:
    s.medium = mix(u, 4) % 10 == 0 ? core::medium::lms : core::medium::sms;
    s.vendor = core::vendor::twilio;
    s.contact = phone_of(u);
    s.vendor_message_id = twilio_sid(u);
    break;
  case kind::email:
    s.medium = core::medium::email;
    s.vendor = core::vendor::email;
    s.contact = email_of(u);
    s.vendor_message_id = sendgrid_id(u);
    break;
  case kind::carrier:
    s.medium = mix(u, 4) % 4 == 0 ? core::medium::lms : core::medium::sms;
    s.vendor = core::vendor::carrier;
    s.contact = phone_of(u);
    s.vendor_message_id = "cr-" + hex16(mix(u, 5));
    break;
  case kind::kakao:
    s.medium = core::medium::alimtalk;
    s.vendor = core::vendor::kakao;
    s.contact = phone_of(u);
    s.vendor_message_id = "kk-" + hex16(mix(u, 6));
    break;
  }
  return s;
}

std::int64_t skip(kind k, std::int64_t from, std::int64_t n, std::int64_t limit) {
  for (std::int64_t i = from; i < limit; ++i)
    if (kind_of(i) == k && n-- == 0)
      return i;
  return limit;
}

std::int64_t count_kind(kind k, std::int64_t from, std::int64_t limit) {
  std::int64_t n = 0;
  for (std::int64_t i = from; i < limit; ++i)
    n += kind_of(i) == k;
  return n;
}

std::string read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

namespace {

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += digits[ch >> 4];
      out += digits[ch & 15];
    }
  }
  return out;
}

std::string http_request(std::string_view path, int port, std::string_view content_type,
                         const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                         std::string_view user_agent) {
  std::string out;
  out.reserve(body.size() + 512);
  out.append("POST ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:").append(std::to_string(port));
  out.append("\r\nUser-Agent: ").append(user_agent).append("\r\nAccept: */*\r\nContent-Type: ").append(content_type);
  for (const auto& [name, value] : headers)
    out.append("\r\n").append(name).append(": ").append(value);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  return out;
}


} // namespace

std::int64_t twilio_sends_needed(std::size_t requests) { return static_cast<std::int64_t>(requests / 2 + 1000); }

twilio_plan build_twilio(std::int64_t from, std::int64_t limit, std::size_t requests, int hooks_port) {
  twilio_plan plan;
  std::vector<bool> is_duplicate(requests, false);
  for (std::size_t p = 200; p < requests; ++p)
    if (mix(p, 21) % 20 == 0) {
      is_duplicate[p] = true;
      ++plan.duplicates;
    }
  plan.distinct = requests - plan.duplicates;

  // Callback entries by position key: sent at 2k, the final 201..799 positions later.
  struct entry {
    std::uint64_t key;
    std::uint32_t send; ///< k
    bool final;
  };
  const std::size_t sends = plan.distinct / 2 + 500;
  std::vector<std::int64_t> index(sends);
  std::vector<entry> entries;
  entries.reserve(2 * sends);
  std::int64_t i = from;
  for (std::size_t k = 0; k < sends; ++k) {
    i = skip(kind::twilio, i, 0, limit);
    if (i >= limit)
      throw std::runtime_error("the ledger has too few unused Twilio sends");
    index[k] = i++;
    entries.push_back({2 * k, static_cast<std::uint32_t>(k), false});
    entries.push_back({2 * k + 201 + 2 * (mix(k, 22) % 300), static_cast<std::uint32_t>(k), true});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) { return a.key < b.key; });
  entries.resize(plan.distinct);
  std::uint32_t last_send = 0;
  for (const auto& e : entries)
    last_send = std::max(last_send, e.send);
  plan.sends = last_send + 1;
  plan.next_index = index[last_send] + 1;

  const std::string url = "http://127.0.0.1:" + std::to_string(hooks_port) + "/webhooks/twilio";
  const auto seoul = *core::zone::locate(zone_name);
  const auto local = seoul.format(now_ms()); // 2026-11-27T10:00:00+09:00
  const std::string dlr_done = local.substr(2, 2) + local.substr(5, 2) + local.substr(8, 2) + local.substr(11, 2)
                               + local.substr(14, 2); // YYMMDDhhmm, no zone
  std::vector<std::string> distinct;
  distinct.reserve(plan.distinct);
  for (std::size_t n = 0; n < plan.distinct; ++n) {
    const auto& e = entries[n];
    const auto u = static_cast<std::uint64_t>(index[e.send]);
    const auto sid = twilio_sid(u);
    std::string status = "sent";
    std::string error;
    if (e.final) {
      const auto h = mix(u, 23) % 100;
      static constexpr const char* undelivered[] = {"30003", "30005", "30006"};
      status = h < 85 ? "delivered" : h < 95 ? "undelivered" : "failed";
      if (h >= 85)
        error = h < 95 ? undelivered[mix(u, 24) % 3] : "30008";
    }
    // The parameters in the order Twilio posts them.
    deliveryd::adapters::form_params params;
    if (!error.empty())
      params.emplace_back("ErrorCode", error);
    params.emplace_back("SmsSid", sid);
    params.emplace_back("SmsStatus", status);
    params.emplace_back("MessageStatus", status);
    params.emplace_back("To", phone_of(u));
    params.emplace_back("MessageSid", sid);
    params.emplace_back("AccountSid", std::string{account_sid});
    params.emplace_back("From", std::string{twilio_from});
    params.emplace_back("ApiVersion", "2010-04-01");
    if (status == "delivered" || status == "undelivered")
      params.emplace_back("RawDlrDoneDate", dlr_done);
    std::string body;
    for (const auto& [name, value] : params)
      body.append(body.empty() ? "" : "&").append(name).append("=").append(url_encode(value));
    const auto signature = twilio::compute_signature(auth_token, url, params);
    const auto token = hex16(mix(n, 25)) + hex16(mix(u, 26));
    distinct.push_back(http_request("/webhooks/twilio", hooks_port, "application/x-www-form-urlencoded",
                                    {{"I-Twilio-Idempotency-Token", token.substr(0, 8) + "-" + token.substr(8, 4) +
                                      "-" + token.substr(12, 4) + "-" + token.substr(16, 4) + "-" + token.substr(20)},
                                     {"X-Home-Region", "us1"},
                                     {"X-Twilio-Signature", signature}},
                                    body, "TwilioProxy/1.1"));
  }
  plan.requests.reserve(requests);
  plan.origin.reserve(requests);
  std::size_t taken = 0;
  for (std::size_t p = 0; p < requests; ++p) {
    if (is_duplicate[p]) {
      const auto back = 50 + mix(p, 27) % 1500;
      const auto q = p > back ? p - back : 0;
      plan.requests.push_back(plan.requests[q]);
      plan.origin.push_back(plan.origin[q]);
    } else {
      plan.requests.push_back(std::move(distinct[taken]));
      plan.origin.push_back(static_cast<std::uint32_t>(taken));
      ++taken;
    }
  }
  return plan;
}

namespace {

/// Signs `timestamp + body` with the SendGrid test key (ECDSA P-256, SHA-256): base64 DER.
class sendgrid_signer {
public:
  explicit sendgrid_signer(const std::string& pem_path) {
    const auto pem = read_text(pem_path) + "\n";
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free};
    key_.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key_)
      throw std::runtime_error("cannot read the SendGrid private key " + pem_path);
  }

  std::string sign(const std::string& timestamp, const std::string& body) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    const std::string data = timestamp + body;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1
        || EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1)
      throw std::runtime_error("ECDSA signing failed");
    std::vector<unsigned char> der(len);
    if (EVP_DigestSign(ctx.get(), der.data(), &len, bytes, data.size()) != 1)
      throw std::runtime_error("ECDSA signing failed");
    std::string b64(4 * ((len + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der.data(), static_cast<int>(len));
    b64.resize(static_cast<std::size_t>(n));
    return b64;
  }

private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};


} // namespace

email_plan build_email(std::int64_t from, std::int64_t limit, std::size_t batches, int hooks_port) {
  email_plan plan;
  const sendgrid_signer signer{DELIVERYD_EMAIL_PRIVATE_KEY};
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
  const std::string timestamp = std::to_string(now_s);
  std::int64_t i = from;
  plan.requests.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    auto events = nlohmann::json::array();
    for (std::size_t k = 0; k < email_batch; ++k) {
      i = skip(kind::email, i, 0, limit);
      if (i >= limit)
        throw std::runtime_error("the ledger has too few unused e-mail sends");
      const auto u = static_cast<std::uint64_t>(i++);
      const auto id = sendgrid_id(u);
      nlohmann::json e{
        {"email", email_of(u)},
        {"timestamp", now_s - static_cast<std::int64_t>(mix(u, 31) % 600)},
        {"smtp-id", "<" + id + "@ismtpd0001p1lon1.sendgrid.net>"},
        {"sg_event_id", id22(mix(u, 32), mix(u, 33))},
        {"sg_message_id", id + ".filterdrecv-5bd8b8d4c8-" + hex16(mix(u, 34)).substr(0, 5) + "-1-"
                            + hex16(mix(u, 35)).substr(0, 8) + "-1B.0"},
        {"category", nlohmann::json::array({"bench", "ingest"})},
      };
      const auto h = mix(u, 36) % 100;
      if (h < 80) {
        e["event"] = "delivered";
        e["response"] = "250 2.0.0 OK  1700000000 a1si123456qka.42 - gsmtp";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      } else if (h < 90) {
        e["event"] = "bounce";
        e["type"] = h < 88 ? "bounce" : "blocked";
        e["status"] = h < 88 ? "5.1.1" : "5.7.1";
        e["reason"] = h < 88 ? "550 5.1.1 The email account that you tried to reach does not exist."
                             : "550 5.7.1 Message rejected due to local policy";
        e["bounce_classification"] = h < 88 ? "Invalid Address" : "Reputation";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      } else if (h < 95) {
        e["event"] = "dropped";
        e["reason"] = h < 93 ? "Bounced Address" : "Unsubscribed Address";
      } else {
        e["event"] = "deferred";
        e["response"] = "421 4.7.0 Try again later";
        e["attempt"] = "1";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      }
      events.push_back(std::move(e));
    }
    const auto body = events.dump();
    plan.requests.push_back(http_request("/webhooks/email", hooks_port, "application/json",
                                         {{"X-Twilio-Email-Event-Webhook-Signature", signer.sign(timestamp, body)},
                                          {"X-Twilio-Email-Event-Webhook-Timestamp", timestamp}},
                                         body, "SendGrid Event API"));
  }
  plan.next_index = i;
  return plan;
}

std::vector<std::string> build_intake(std::size_t batches, int ops_port, bool with_ids) {
  const auto seoul = *core::zone::locate(zone_name);
  const auto now = now_ms();
  const auto run = static_cast<std::uint64_t>(core::to_millis(now));
  std::vector<std::string> requests;
  requests.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    auto sends = nlohmann::json::array();
    for (std::size_t k = 0; k < intake_batch; ++k) {
      const std::uint64_t n = b * intake_batch + k;
      const auto u = mix(run, n); // this run's send n
      send_request s;
      set_type(s, mix(u, 41));
      nlohmann::json j{{"send_id", "in-" + std::to_string(run) + "-" + std::to_string(n)},
                       {"type", std::string{core::to_string(s.type)}}};
      if (!s.source_id.empty()) {
        j["source_id"] = s.source_id;
        j["source_name"] = s.source_name;
      }
      const auto h = mix(u, 42) % 100;
      if (h < 50) {
        j["medium"] = "sms";
        j["vendor"] = "twilio";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = twilio_sid(u);
      } else if (h < 70) {
        j["medium"] = h < 65 ? "sms" : "lms";
        j["vendor"] = "carrier";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = "cr-" + hex16(mix(u, 43));
      } else if (h < 85) {
        j["medium"] = "alimtalk";
        j["vendor"] = "kakao";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = "kk-" + hex16(mix(u, 44));
      } else {
        j["medium"] = "email";
        j["vendor"] = "email";
        j["contact"] = "in" + std::to_string(n) + "@example.com";
        if (with_ids)
          j["vendor_message_id"] = id22(mix(u, 45), mix(u, 46));
      }
      j["requested_at"] = seoul.format(now - std::chrono::milliseconds{static_cast<std::int64_t>(mix(u, 47) % 60'000)});
      sends.push_back(std::move(j));
    }
    requests.push_back(http_request("/v1/sends", ops_port, "application/json", {}, sends.dump(), "ingest_bench"));
  }
  return requests;
}

std::size_t bytes_of(const std::vector<std::string>& requests) {
  std::size_t n = 0;
  for (const auto& r : requests)
    n += r.size();
  return n;
}

core::timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

} // namespace deliveryd::bench::ingest
