// Hostile requests end to end, on every vendor path of the webhooks listener and on the ops listener: huge request
// lines and headers, deeply nested JSON, invalid UTF-8 and NUL bytes in fields, and bodies framed to hold the
// daemon (a Content-Length that never arrives, chunked or compressed bodies past the limit, bad Content-Length).
// Each is answered with the contract's JSON error (or refused at once), in bounded time and memory, stores
// nothing, and leaves the daemon serving. The policy the tests hold (docs/operations.md, "Failure modes"):
// - a body that is not UTF-8, holds a raw NUL byte or nests JSON deeper than 64 levels is refused whole (400);
// - a JSON string with \u0000 or another control character is an unusable item where the contract judges items
//   one by one (intake rejects the item, vendor batches skip the event); a vendor's free-text reason keeps tabs
//   and line breaks, stored byte for byte;
// - a form value with %00 or bad UTF-8 refuses the callback (400); a NUL in a header value refuses a POST (400).
#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "raw_http.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

/// Every vendor enabled; body limits small enough that "too large" is cheap to send.
daemon_options hostile_options() {
  auto options = with_vendors({.email = true, .carrier = true, .kakao = true});
  options.webhooks_max_body_bytes = 256 * 1024;
  options.ops_max_body_bytes = 1024 * 1024;
  return options;
}

/// A request written by hand: request line, Host, `headers` (each "Name: value\r\n"), Content-Length, body.
std::string request(const std::string& method, const std::string& target, const std::string& headers,
                    const std::string& body) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
         + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// Checks a refusal: the status, the contract's error shape with `word`, answered within `limit`.
void expect_refused(const raw_answer& a, int status, const std::string& word, std::chrono::milliseconds limit = 2s) {
  INFO(a.head << "\n\n" << a.body);
  CHECK(a.status == status);
  const auto body = a.body_json();
  REQUIRE(body.is_object());
  CHECK(body.value("error", "") == word);
  CHECK_FALSE(body.value("detail", "").empty());
  CHECK(a.took < limit);
}

/// One POST route and the headers that make a body acceptable to it apart from its content (type, token or
/// signature over that very body).
struct route {
  std::string name;
  int port = 0;
  std::string path;
  std::function<std::string(const std::string& body)> headers;
};

/// The Twilio headers of a form body: its signature as Twilio computes it (nothing to sign when it does not decode).
std::string twilio_headers(const daemon_process& d, const std::string& body) {
  const auto params = form_decode(body).value_or(form_params{});
  return "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: "
         + twilio_signature(auth_token, d.public_url() + twilio_path, params) + "\r\n";
}

/// SendGrid's headers for a body: a fresh timestamp and the ECDSA signature over it and the body.
std::string email_headers(const std::string& body) {
  const auto ts = unix_now();
  return "Content-Type: application/json\r\nX-Twilio-Email-Event-Webhook-Timestamp: " + ts
         + "\r\nX-Twilio-Email-Event-Webhook-Signature: " + sendgrid_signature(ts, body) + "\r\n";
}

std::string carrier_json_headers(const std::string&) {
  return "Content-Type: application/json\r\nX-Carrier-Token: "s + carrier_token + "\r\n";
}

std::string carrier_form_headers(const std::string&) {
  return "Content-Type: application/x-www-form-urlencoded\r\nX-Carrier-Token: "s + carrier_token + "\r\n";
}

std::string kakao_headers(const std::string&) {
  return "Content-Type: application/json\r\nX-Kakao-Token: "s + kakao_push_token + "\r\n";
}

std::vector<route> body_routes(const daemon_process& d) {
  const auto json_type = [](const std::string&) { return "Content-Type: application/json\r\n"s; };
  return {
    {"twilio", d.webhooks_port(), twilio_path, [&d](const std::string& b) { return twilio_headers(d, b); }},
    {"email", d.webhooks_port(), "/webhooks/email", email_headers},
    {"carrier (aggregator)", d.webhooks_port(), "/webhooks/carrier", carrier_json_headers},
    {"carrier (Jasmin)", d.webhooks_port(), "/webhooks/carrier", carrier_form_headers},
    {"kakao", d.webhooks_port(), "/webhooks/kakao", kakao_headers},
    {"intake", d.ops_port(), "/v1/sends", json_type},
  };
}

/// POSTs `body` to `r` with its headers.
raw_answer post(const route& r, const std::string& body, const std::string& extra_headers = {}) {
  return raw_exchange(r.port, request("POST", r.path, r.headers(body) + extra_headers, body));
}

/// The daemon still serves, promptly: a new send registered, a signed Twilio callback for it applied.
void expect_serving(daemon_process& d, const std::string& tag) {
  INFO("the daemon serves after: " << tag);
  REQUIRE(d.running());
  const auto started = std::chrono::steady_clock::now();
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto sid = "SMserving" + tag;
  auto intake = post_sends(*ops, json::array({twilio_send("serving-" + tag, same_day_base(), sid)}));
  REQUIRE(body_of(intake)["accepted"] == 1);
  auto callback = post_twilio(*hooks, d.public_url(), twilio_callback(sid, "delivered"));
  INFO(describe(callback));
  REQUIRE(callback);
  CHECK(callback->status == 200);
  CHECK(send_of(*ops, "serving-" + tag)["status"] == "sent");
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

/// `depth` arrays nested in one another.
std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

/// A SendGrid event for message `id`, `extra` members spliced in.
std::string sendgrid_event(const std::string& id, const std::string& event_id, const std::string& extra = {}) {
  return R"({"event": "delivered", "sg_message_id": ")" + id + R"(.filter0001", "sg_event_id": ")" + event_id
         + R"(", "timestamp": )" + unix_now() + extra + "}";
}

/// Registers one send per vendor: send ids `<tag>-tw`, `-em`, `-ca`, `-kk`; vendor message ids `SM<tag>`,
/// `em<tag>`, `ca<tag>`, `kk<tag>`.
void register_vendor_sends(daemon_process& d, const std::string& tag) {
  auto ops = d.ops_client();
  const auto at = same_day_base();
  auto answer = body_of(post_sends(
    *ops, json::array({twilio_send(tag + "-tw", at, "SM" + tag),
                       vendor_send(tag + "-em", "email", "email", "a@example.com", at, "em" + tag),
                       vendor_send(tag + "-ca", "sms", "carrier", "010-1234-5678", at, "ca" + tag),
                       vendor_send(tag + "-kk", "alimtalk", "kakao", "010-1234-5678", at, "kk" + tag)})));
  REQUIRE(answer["accepted"] == 4);
}

} // namespace

TEST_CASE("hostile input: huge request lines and headers are refused at once, in bounded memory",
          "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "hh");
  const auto before = counts_of(d);
  const long rss_before = rss_kib(d.pid());
  const std::string padding(100 * 1024, 'p');
  std::string many_lines;
  for (int i = 0; i < 10'000; ++i)
    many_lines += "X-Line-" + std::to_string(i) + ": v\r\n";

  for (const auto& r : body_routes(d)) {
    INFO("route " << r.name);
    // One header line of 100 KB: cpp-httplib allows 8 KiB per line.
    expect_refused(post(r, "[]", "X-Padding: " + padding + "\r\n"), 400, "malformed");
    // 10,000 header lines: cpp-httplib 0.11 has no count limit, so the request is judged as it would be without
    // them, promptly.
    const auto plain = post(r, "[]");
    const auto padded = post(r, "[]", many_lines);
    CHECK(plain.status >= 200);
    CHECK(padded.status == plain.status);
    CHECK(padded.took < 2s);
    // A 1 MiB request line: 414 once the line is read (httplib allows 8 KiB).
    const auto long_target = r.path + "?q=" + std::string(1 << 20, 'u');
    const auto uri = raw_exchange(r.port, request("POST", long_target, r.headers("[]"), "[]"));
    expect_refused(uri, 414, "uri_too_long");
    CHECK(uri.closed_after);
  }
  expect_refused(raw_exchange(d.ops_port(), "GET /v1/sends/" + std::string(1 << 20, 'i') + " HTTP/1.1\r\n\r\n"), 414,
                 "uri_too_long");

  SECTION("a client stalled in the middle of a huge header holds nobody else up") {
    raw_connection stalled{d.webhooks_port()};
    REQUIRE(
      stalled.send("POST /webhooks/kakao HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + padding.substr(0, 50'000)));
    expect_serving(d, "stalled-header");
    REQUIRE(stalled.send(padding.substr(50'000) + "\r\nContent-Length: 0\r\n\r\n"));
    expect_refused(stalled.read_answer(), 400, "malformed", 10s);
  }

  // cpp-httplib reads a line whole before it checks its length, so each 1 MiB line costs a few MiB while it is
  // read; none of it may stay. The allocator keeps some in its per-thread arenas (up to 16 on this machine), so
  // RSS rises to a plateau and stays there: 64 more lines (64 MiB) add nothing to it, and it stays far below the
  // ~140 MiB sent in all.
  const auto one_mib_lines = [&] {
    const auto target = "/webhooks/email?q=" + std::string(1 << 20, 'u');
    for (int i = 0; i < 64; ++i)
      CHECK(raw_exchange(d.webhooks_port(), request("POST", target, "", "")).status == 414);
  };
  one_mib_lines();
  const long rss_warm = rss_kib(d.pid());
  one_mib_lines();
  const long rss_after = rss_kib(d.pid());
  INFO("RSS " << rss_before << " KiB at the start, " << rss_warm << " KiB at the plateau, " << rss_after
              << " KiB after 64 MiB more");
  CHECK(rss_after - rss_warm < 8 * 1024);
  CHECK(rss_after - rss_before < static_cast<long>(rss_bound(96 << 20) / 1024));
  CHECK(counts_of(d).events == before.events);
  expect_serving(d, "after-headers");
  expect_clean_ledger_text(d);
}

TEST_CASE("hostile input: deeply nested JSON is refused with a sentence, never a crash", "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "dj");
  const auto before = counts_of(d);
  const auto routes = body_routes(d);
  const auto by_name = [&](const std::string& name) {
    return *std::find_if(routes.begin(), routes.end(), [&](const route& r) { return r.name == name; });
  };
  const auto deep = nested(100'000);
  const auto expect_too_deep = [](const raw_answer& a) {
    expect_refused(a, 400, "malformed");
    CHECK(a.body_json().value("detail", "").find("deeper than 64 levels") != std::string::npos);
  };

  // Nested inside otherwise valid items: the adapters re-serialise each vendor event into `raw`, which would
  // recurse once per level and overflow the actor thread's stack (the daemon died on these before the check).
  expect_too_deep(post(by_name("email"), "[" + sendgrid_event("emdj", "ev-deep", R"(, "x": )" + deep) + "]"));
  expect_too_deep(post(by_name("carrier (aggregator)"),
                       R"([{"message_id": "cadj", "result_code": "4100", "x": )" + deep + "}]"));
  expect_too_deep(post(by_name("kakao"), R"([{"message_id": "kkdj", "result_code": "0000", "x": )" + deep + "}]"));
  const auto& intake = by_name("intake");
  expect_too_deep(post(intake, "[" + deep + "]"));
  std::string objects;
  for (int i = 0; i < 100'000; ++i)
    objects += R"({"a":)";
  expect_too_deep(post(intake, objects + "1" + std::string(100'000, '}')));
  expect_too_deep(raw_exchange(d.ops_port(), request("POST", "/v1/sends", "Content-Type: application/x-ndjson\r\n",
                                                     twilio_send("dj-nd", same_day_base()).dump() + "\n" + deep)));
  CHECK(counts_of(d) == before);

  // Legitimate nesting is far below the limit: 60 levels in an unknown member of an intake item still register.
  auto item = twilio_send("dj-60", same_day_base());
  const auto body = "[" + item.dump().insert(1, R"("x": )" + nested(60) + ", ") + "]";
  const auto shallow = post(intake, body);
  INFO(shallow.body);
  CHECK(shallow.status == 200);
  CHECK(shallow.body_json()["accepted"] == 1);
  expect_serving(d, "after-deep");
  expect_clean_ledger_text(d);
}

TEST_CASE("hostile input: invalid UTF-8 in any field is refused with 400 and never stored",
          "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "u8");
  const auto before = counts_of(d);
  const auto routes = body_routes(d);
  const auto expect_malformed = [](const raw_answer& a, const std::string& detail_part) {
    expect_refused(a, 400, "malformed");
    INFO(a.body);
    CHECK(a.body_json().value("detail", "").find(detail_part) != std::string::npos);
  };
  const std::string bad_bytes[] = {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82"}; // stray, overlong, surrogate, cut

  SECTION("intake, JSON array and NDJSON: the body is refused whole, the good item with it") {
    for (const auto& bad : bad_bytes)
      for (const char* field : {"send_id", "source_name", "contact", "vendor_message_id", "requested_at"}) {
        INFO(field);
        auto good = twilio_send("u8-good", same_day_base());
        auto hostile = twilio_send("u8-bad", same_day_base());
        const auto marker = "MARK" + std::string{field};
        hostile[field] = marker;
        auto text = hostile.dump();
        text.replace(text.find(marker), marker.size(), "x" + bad + "y");
        expect_malformed(post(routes[5], "[" + good.dump() + "," + text + "]"), "not valid UTF-8");
        expect_malformed(raw_exchange(d.ops_port(), request("POST", "/v1/sends",
                                                            "Content-Type: application/x-ndjson\r\n",
                                                            good.dump() + "\n" + text + "\n")),
                         "line 2 is not valid UTF-8");
      }
    // A lone surrogate written as an escape is refused by the parser itself.
    expect_malformed(post(routes[5], R"([{"send_id": "\ud800"}])"), "not valid JSON");
    auto ops = d.ops_client();
    get_json(*ops, "/v1/sends/u8-good", 404);
  }
  SECTION("Twilio: a signed callback with bad UTF-8 in MessageSid, ErrorCode or To") {
    for (const auto& bad : bad_bytes) {
      auto in_sid = twilio_callback("SMu8" + bad, "delivered");
      auto in_code = twilio_callback("SMu8", "undelivered", "300" + bad);
      auto in_to = twilio_callback("SMu8", "delivered");
      in_to.emplace_back("To", "+8210" + bad);
      for (const auto& params : {in_sid, in_code, in_to})
        expect_malformed(post(routes[0], form_encode(params)), "not valid application/x-www-form-urlencoded UTF-8");
    }
    // The same bytes unescaped in the body.
    expect_malformed(post(routes[0], "MessageSid=SMu8\xFF&MessageStatus=delivered"), "UTF-8");
  }
  SECTION("SendGrid: a signed batch with bad UTF-8 in sg_message_id or reason") {
    for (const auto& bad : bad_bytes) {
      expect_malformed(post(routes[1], "[" + sendgrid_event("emu8" + bad, "ev-u8-1") + "]"), "not valid UTF-8");
      expect_malformed(post(routes[1], "[" + sendgrid_event("emu8", "ev-u8-2", R"(, "reason": "x)" + bad + "\"") + "]"),
                       "not valid UTF-8");
    }
  }
  SECTION("carrier: aggregator JSON, a Jasmin form and a DLR in the query") {
    for (const auto& bad : bad_bytes) {
      expect_malformed(post(routes[2], R"([{"message_id": "cau8)" + bad + R"(", "result_code": "4100"}])"),
                       "not valid UTF-8");
      const form_params dlr{{"id", "cau8" + bad}, {"message_status", "DELIVRD"}, {"level", "2"}};
      expect_malformed(post(routes[3], form_encode(dlr)), "UTF-8");
      // The token in the same query must not hide the real fault behind a 403.
      const auto target = "/webhooks/carrier?token="s + carrier_token + "&" + form_encode(dlr);
      expect_malformed(raw_exchange(d.webhooks_port(), request("POST", target, "", "")), "UTF-8");
    }
  }
  SECTION("Kakao: a pushed result with bad UTF-8 in message_id") {
    for (const auto& bad : bad_bytes)
      expect_malformed(post(routes[4], R"([{"message_id": "kku8)" + bad + R"(", "result_code": "0000"}])"),
                       "not valid UTF-8");
  }
  CHECK(counts_of(d) == before);
  expect_serving(d, "after-utf8");
  expect_clean_ledger_text(d);
}

TEST_CASE("hostile input: NUL bytes are refused or stored byte for byte, never cut", "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "nu");
  auto ops = d.ops_client();
  const auto routes = body_routes(d);
  const auto before = counts_of(d);

  SECTION("intake: \\u0000 rejects the item; a raw NUL refuses the body, whatever follows it") {
    const auto at = same_day_base();
    auto good = twilio_send("nu-good", at, "SMnugood");
    good["type"] = "campaign";
    good["source_id"] = "camp-1";
    good["source_name"] = "가을 세일 \"50%\" \\ ok";
    json items = json::array({good});
    for (const char* field : {"send_id", "source_name", "contact", "vendor_message_id"}) {
      auto item = twilio_send("nu-"s + field, at);
      item[field] = "a\0b"s;
      items.push_back(item);
    }
    auto tab = twilio_send("nu-tab", at); // intake stores no control character at all, a tab included
    tab["source_name"] = "a\tb";
    items.push_back(tab);
    const auto a = post(routes[5], items.dump());
    INFO(a.body);
    REQUIRE(a.status == 200);
    const auto answer = a.body_json();
    CHECK(answer["accepted"] == 1);
    REQUIRE(answer["rejected"].size() == 5);
    for (const auto& r : answer["rejected"])
      CHECK((r["error"] == "invalid" || r["error"] == "bad_contact"));
    CHECK(counts_of(d).sends == before.sends + 1);
    const auto stored = send_of(*ops, "nu-good");
    CHECK(stored["source_name"] == good["source_name"]);
    CHECK(stored["vendor_message_id"] == "SMnugood");

    // nlohmann-json reads a NUL as the end of the text: without the check, "nu-hidden" would vanish unseen.
    const auto hidden = "[" + twilio_send("nu-first", at).dump() + "]\0["s + twilio_send("nu-hidden", at).dump() + "]";
    expect_refused(post(routes[5], hidden), 400, "malformed");
    expect_refused(raw_exchange(d.ops_port(), request("POST", "/v1/sends", "Content-Type: application/x-ndjson\r\n",
                                                      twilio_send("nu-nd", at).dump() + "\0"s + "\n")),
                   400, "malformed");
    get_json(*ops, "/v1/sends/nu-first", 404);
    get_json(*ops, "/v1/sends/nu-nd", 404);
  }
  SECTION("Twilio: %00 or a raw NUL in a signed callback is 400") {
    expect_refused(post(routes[0], form_encode(twilio_callback("SMnu\0x"s, "delivered"))), 400, "malformed");
    expect_refused(post(routes[0], form_encode(twilio_callback("SMnu", "undelivered", "\0"s))), 400, "malformed");
    expect_refused(post(routes[0], "MessageSid=SMnu&MessageStatus=delivered\0"s), 400, "malformed");
    CHECK(send_of(*ops, "nu-tw")["history"].size() == 1);
  }
  SECTION("SendGrid: \\u0000 makes the event unusable, the rest of the batch applies; a reason keeps its lines") {
    const auto batch = "[" + sendgrid_event("nu\\u0000x", "ev-nu-1") + ","
                       + R"({"event": "bounce", "sg_message_id": "emnu.f", "sg_event_id": "ev-nu-2", "timestamp": )"
                       + unix_now() + R"(, "reason": "550 5.1.1\r\n\tmailbox unknown"}])";
    const auto a = post(routes[1], batch);
    INFO(a.body);
    CHECK(a.status == 200);
    CHECK(counts_of(d).events == before.events + 1);
    const auto s = send_of(*ops, "nu-em");
    CHECK(s["status"] == "failed");
    CHECK(s["reason"] == "550 5.1.1\r\n\tmailbox unknown"); // byte for byte, line breaks and all
    expect_refused(post(routes[1], "[" + sendgrid_event("emnu", "ev-nu-3") + "]\0[]"s), 400, "malformed");
  }
  SECTION("carrier and Kakao: \\u0000 in an id is unusable (2xx, nothing stored); %00 in a DLR is 400") {
    CHECK(post(routes[2], R"([{"message_id": "canu\u0000", "result_code": "4100"}])").status == 200);
    CHECK(post(routes[4], R"([{"message_id": "kknu\u0000", "result_code": "0000"}])").status == 200);
    const form_params dlr{{"id", "canu\0"s}, {"message_status", "DELIVRD"}, {"level", "2"}};
    expect_refused(post(routes[3], form_encode(dlr)), 400, "malformed");
    CHECK(counts_of(d) == before);
  }
  SECTION("a NUL in a header value or in the URL") {
    // httplib's get_header_value() would cut "<token>\0…" at the NUL and let the token through.
    const auto dlr = form_encode({{"id", "canu"}, {"message_status", "DELIVRD"}, {"level", "2"}});
    const auto with_nul_token = "Content-Type: application/x-www-form-urlencoded\r\nX-Carrier-Token: "s
                                + carrier_token + "\0junk\r\n"s;
    expect_refused(raw_exchange(d.webhooks_port(), request("POST", "/webhooks/carrier", with_nul_token, dlr)), 400,
                   "malformed");
    expect_refused(post(routes[5], "[]", "X-Note: a\0b\r\n"s), 400, "malformed");
    expect_refused(raw_exchange(d.webhooks_port(), request("POST", "/webhooks/twilio%00", "", "")), 404,
                   "not_found");
    expect_refused(raw_exchange(d.webhooks_port(), request("POST", "/webhooks/twi\0lio"s, "", "")), 400,
                   "malformed");
    const auto missing = raw_exchange(d.ops_port(), "GET /v1/sends/nu%00tw HTTP/1.1\r\n\r\n");
    expect_refused(missing, 404, "not_found");
    CHECK(send_of(*ops, "nu-ca")["history"].size() == 1);
    CHECK(counts_of(d) == before);
  }
  expect_serving(d, "after-nul");
  expect_clean_ledger_text(d);
}

TEST_CASE("hostile input: bodies framed to hold the daemon are cut off", "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "fr");
  const auto routes = body_routes(d);
  auto before = counts_of(d);
  const long rss_before = rss_kib(d.pid());
  const auto chunked_head = [](const route& r) {
    return "POST " + r.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + r.headers("") + "Transfer-Encoding: chunked\r\n\r\n";
  };

  SECTION("a Content-Length that never arrives times out with 400, holding nothing, blocking nobody") {
    raw_connection stalled{d.ops_port()};
    REQUIRE(stalled.send("POST /v1/sends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 1000\r\n\r\n[{\"send_id\""));
    expect_serving(d, "stalled-body");
    // The listeners' read timeout is 10 s.
    const auto a = stalled.read_answer(15s);
    expect_refused(a, 400, "malformed", 13s);
    CHECK(a.closed_after);
  }
  SECTION("chunked bodies past max_body_bytes are 413 at the limit, on every route, without growing") {
    for (const auto& r : routes) {
      INFO(r.name);
      raw_connection c{r.port};
      REQUIRE(c.send(chunked_head(r)));
      const auto pieces = chunked_pieces(64 << 20);
      const auto sent = c.send_until_answered(pieces);
      const auto a = c.read_answer();
      expect_refused(a, 413, "body_too_large", 5s);
      CHECK(a.closed_after);
      CHECK(sent < std::size_t{16} << 20); // refused near the limit, not after reading everything
    }
  }
  SECTION("chunked and compressed bodies within the limit still work") {
    raw_connection c{d.ops_port()};
    const auto body = json::array({twilio_send("fr-chunked", same_day_base())}).dump();
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", body.size());
    REQUIRE(c.send(chunked_head(routes[5]) + size_line + body + "\r\n0\r\n\r\n"));
    const auto a = c.read_answer();
    INFO(a.body);
    CHECK(a.status == 200);
    CHECK(a.body_json()["accepted"] == 1);

    auto ops = d.ops_client();
    ops->set_compress(true); // Content-Encoding: gzip
    auto small = ops->Post("/v1/sends", json::array({twilio_send("fr-gzip", same_day_base())}).dump(),
                           "application/json");
    INFO(describe(small));
    REQUIRE(small);
    CHECK(small->status == 200);
    // 8 MiB of white space inflate past the 1 MiB limit from about 8 KiB on the wire.
    auto bomb = ops->Post("/v1/sends", "[" + std::string(8 << 20, ' ') + "]", "application/json");
    INFO(describe(bomb));
    REQUIRE(bomb);
    CHECK(bomb->status == 413);
    CHECK(body_of(bomb)["error"] == "body_too_large");

    // A form content type is read as a JSON array too, past cpp-httplib's own 8 KiB cap on form bodies.
    json many = json::array();
    for (int i = 0; i < 64; ++i)
      many.push_back(twilio_send("fr-form-" + std::to_string(i), same_day_base()));
    REQUIRE(many.dump().size() > 8192);
    auto form = d.ops_client()->Post("/v1/sends", many.dump(), "application/x-www-form-urlencoded");
    REQUIRE(form);
    CHECK(body_of(form)["accepted"] == 64);
    before.sends += 66; // fr-chunked, fr-gzip and the 64 above, each with its intake event
    before.events += 66;
  }
  SECTION("a bad Content-Length is 400, a huge one 413, both at once") {
    for (const auto& [value, status] : {std::pair{"-1"s, 400}, {"abc", 400}, {"1e3", 400}, {"0x10", 400},
                                        {"99999999999999999999999", 413}, {"18446744073709551615", 413},
                                        {"2000000", 413}}) {
      INFO("Content-Length: " << value);
      const auto a = raw_exchange(d.ops_port(), "POST /v1/sends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                                "application/json\r\nContent-Length: " + value + "\r\n\r\n[]");
      expect_refused(a, status, status == 400 ? "malformed" : "body_too_large");
      CHECK(a.closed_after);
    }
    const auto twice = raw_exchange(d.ops_port(), "POST /v1/sends HTTP/1.1\r\nContent-Length: 2\r\n"
                                                  "Content-Length: 3\r\n\r\n[]");
    expect_refused(twice, 400, "malformed");
    const auto smuggle = raw_exchange(d.webhooks_port(), "POST /webhooks/kakao HTTP/1.1\r\nContent-Length: 5\r\n"
                                                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    expect_refused(smuggle, 400, "malformed");
    expect_refused(raw_exchange(d.webhooks_port(), "POST /webhooks/kakao HTTP/1.1\r\nTransfer-Encoding: gzip, "
                                                   "chunked\r\n\r\n0\r\n\r\n"),
                   400, "malformed");
  }
  SECTION("no body framing is an empty body, not 'until the client closes'") {
    raw_connection c{d.ops_port()};
    REQUIRE(c.send("POST /v1/sends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n"));
    expect_refused(c.read_answer(), 400, "malformed");
  }
  SECTION("a body sent to a path that takes none is refused without being read") {
    for (const auto port : {d.webhooks_port(), d.ops_port()})
      for (const char* method : {"POST", "PUT", "DELETE"}) {
        raw_connection c{port};
        REQUIRE(c.send(std::string{method}
                       + " /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
        const auto sent = c.send_until_answered(chunked_pieces(64 << 20));
        expect_refused(c.read_answer(), 404, "not_found");
        CHECK(sent < std::size_t{16} << 20);
      }
  }
  const long growth_kib = rss_kib(d.pid()) - rss_before;
  INFO("RSS growth " << growth_kib << " KiB");
  CHECK(growth_kib < static_cast<long>(rss_bound(32 << 20) / 1024));
  CHECK(counts_of(d) == before);
  expect_serving(d, "after-framing");
  expect_clean_ledger_text(d);
}

TEST_CASE("hostile input: NUL and bad UTF-8 in the query routes' paths and parameters are answered in clean JSON",
          "[integration][hostile]") {
  daemon_process d{hostile_options()};
  register_vendor_sends(d, "qr");
  const auto day = seoul_date(same_day_base());
  const auto month = day.substr(0, 7);
  const std::string targets[] = {
    "/v1/sends/qr%00-tw", "/v1/sends/qr%FF-tw", "/v1/sends/%C0%AF",
    "/v1/log/day/" + day + "?contact=%00", "/v1/log/day/" + day + "?contact=010%FF1234",
    "/v1/log/day/" + day + "?campaign=%FF%00", "/v1/log/day/" + day + "?status=sent%00",
    "/v1/log/day/" + day + "?cursor=%00%FF", "/v1/log/day/2026-11-2%00",
    "/v1/log/summary?month=" + month + "%00", "/v1/log/summary?month=%FF&one_time=%00",
    "/v1/log/export?month=" + month + "&format=jsonl&campaign=%FF%00",
    "/v1/log/export?month=" + month + "&format=xlsx%00",
  };
  for (const auto& target : targets) {
    INFO(target);
    const auto a = raw_exchange(d.ops_port(), "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    INFO(a.head << "\n\n" << a.body);
    CHECK(a.took < 2s);
    // A filter that matches nothing is 200; anything else is the contract's error. Either way, clean JSON.
    CHECK((a.status == 200 || a.status == 400 || a.status == 404));
    CHECK(is_utf8(a.body));
    CHECK(a.body.find('\0') == std::string::npos);
    if (a.body.find('{') == 0 || a.body.find('[') == 0) {
      const auto body = a.body_json();
      CHECK_FALSE(body.is_null());
      if (a.status != 200)
        CHECK(body.value("error", "") != "");
    } else {
      // The JSONL export of a filter that matches nothing: no line at all.
      CHECK(a.status == 200);
      CHECK(a.body.empty());
    }
  }
  // The sends are untouched, and the day log shows them as registered.
  auto ops = d.ops_client();
  CHECK(get_json(*ops, "/v1/log/day/" + day)["rows"].size() == 4);
  expect_serving(d, "after-queries");
}

TEST_CASE("hostile input: a request refused before its body is read is answered with Connection: close",
          "[integration][hostile]") {
  auto options = hostile_options();
  options.ops_token = "ops-secret";
  daemon_process d{options};
  // The body is itself a request. Left unread on a keep-alive connection, it would be taken for the next request
  // and answered too, and a proxy in front would hand that answer to whoever sent the next request on the
  // connection. So the answer says `Connection: close` (RFC 9112 §9.6), and the listener closes the connection
  // after it without reading another request.
  const std::string inner = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const auto cases = {
    std::pair{d.ops_port(), request("POST", "/v1/sends", "Content-Type: application/json\r\n", inner)}, // no token
    std::pair{d.webhooks_port(), request("POST", "/nothing", "", inner)},                                // no route
    std::pair{d.webhooks_port(), request("POST", "/webhooks/kakao", "X-Note: a\0b\r\n"s, inner)},       // a NUL
  };
  for (const auto& [port, text] : cases) {
    raw_connection c{port};
    REQUIRE(c.send(text));
    const auto first = c.read_answer();
    INFO(first.head);
    CHECK(first.status >= 400);
    CHECK(first.closed_after);
    CHECK(c.closed_by_peer(std::chrono::steady_clock::now() + std::chrono::seconds{2}));
    CHECK(c.unread().empty()); // the inner request was never answered
  }
}
