// "The final state of a send depends only on the set of events it received, never on their order or on
// duplicates", and "a vendor event that arrives before its send was registered is kept and applied when the send
// arrives" — over HTTP, with signed callbacks. One set of callbacks is delivered four ways:
//   A  send registered with its MessageSid, then the callbacks in order;
//   B  send registered with its MessageSid, then the callbacks reversed, each twice, the last one a third time;
//   C  the callbacks first (held), then the send registered with its MessageSid;
//   D  the send registered without a MessageSid, the callbacks reversed (held), then the send re-posted with the
//      MessageSid ("updated": 1).
// The four sends must end with the same status, code, reason and category.
#include <algorithm>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// One Twilio callback: MessageStatus and ErrorCode ("" for none).
struct callback {
  std::string status;
  std::string error_code;
};

/// What the four deliveries must agree on.
struct final_state {
  json status, code, reason, category;
  bool operator==(const final_state&) const = default;
};

std::ostream& operator<<(std::ostream& out, const final_state& s) {
  return out << "{status " << s.status << ", code " << s.code << ", reason " << s.reason << ", category "
             << s.category << "}";
}

/// A MessageSid of 34 characters unique per set and delivery.
std::string sid_for(const std::string& set, char way) {
  std::string sid = "SM" + set + "x" + std::string(1, way);
  sid.resize(34, '0');
  return sid;
}

void post_ok(httplib::Client& hooks, const daemon_process& d, const std::string& sid, const callback& cb) {
  auto res = post_twilio(hooks, d.public_url(), twilio_callback(sid, cb.status, cb.error_code));
  INFO("callback " << cb.status << " " << cb.error_code << " for " << sid << " -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  // Twilio's callbacks carry no event time: the daemon takes the time of receipt (ms). A pause keeps two
  // callbacks from sharing a millisecond, as callbacks that really arrive apart would.
  std::this_thread::sleep_for(2ms);
}

json register_sends(httplib::Client& ops, const json& items) {
  auto res = post_sends(ops, items);
  INFO("POST /v1/sends " << items.dump() << " -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto answer = body_of(res);
  CHECK(answer["rejected"].empty());
  return answer;
}

final_state state_of(const json& send) {
  return {send["status"], send["code"], send["reason"], send["category"]};
}

/// The vendor_status words of a send's webhook entries, sorted.
std::vector<std::string> webhook_words(const json& send) {
  std::vector<std::string> words;
  for (const auto& h : send["history"])
    if (h["source"] == "webhook")
      words.push_back(h["vendor_status"].get<std::string>());
  std::sort(words.begin(), words.end());
  return words;
}

/// Runs the four deliveries of `set` on a fresh daemon; checks they agree (and equal `expected` when given).
void check_order_independence(const std::string& name, const std::vector<callback>& set,
                              const std::optional<final_state>& expected) {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  auto reversed = set;
  std::reverse(reversed.begin(), reversed.end());
  const auto sid_a = sid_for(name, 'a');
  const auto sid_b = sid_for(name, 'b');
  const auto sid_c = sid_for(name, 'c');
  const auto sid_d = sid_for(name, 'd');

  // A and B registered first; D registered without its MessageSid.
  auto answer = register_sends(*ops, json::array({twilio_send(name + "-a", base + 1s, sid_a),
                                                  twilio_send(name + "-b", base + 2s, sid_b),
                                                  twilio_send(name + "-d", base + 4s)}));
  CHECK(answer["accepted"] == 3);

  for (const auto& cb : set)
    post_ok(*hooks, d, sid_a, cb);
  for (const auto& cb : reversed) {
    post_ok(*hooks, d, sid_b, cb);
    post_ok(*hooks, d, sid_b, cb);
  }
  post_ok(*hooks, d, sid_b, reversed.back());
  for (const auto& cb : set)
    post_ok(*hooks, d, sid_c, cb);
  for (const auto& cb : reversed)
    post_ok(*hooks, d, sid_d, cb);

  answer = register_sends(*ops, json::array({twilio_send(name + "-c", base + 3s, sid_c)}));
  CHECK(answer["accepted"] == 1);
  answer = register_sends(*ops, json::array({twilio_send(name + "-d", base + 4s, sid_d)}));
  CHECK(answer["updated"] == 1);
  CHECK(answer["accepted"] == 0);

  std::vector<std::string> words;
  for (const auto& cb : set)
    words.push_back(cb.status);
  std::sort(words.begin(), words.end());

  const auto a = get_json(*ops, "/v1/sends/" + name + "-a");
  INFO("set " << name << "; A = " << a.dump());
  if (expected)
    CHECK(state_of(a) == *expected);
  for (const char* way : {"-b", "-c", "-d"}) {
    const auto other = get_json(*ops, "/v1/sends/" + name + way);
    INFO("send " << name << way << " = " << other.dump());
    CHECK(state_of(other) == state_of(a));
    // Every distinct callback once in the history, duplicates dropped.
    CHECK(webhook_words(other) == words);
  }
  CHECK(webhook_words(a) == words);
}

} // namespace

TEST_CASE("order independence: delivered and undelivered settle on sent", "[integration][order]") {
  check_order_independence("dlv", {{"queued", ""}, {"sent", ""}, {"delivered", ""}, {"undelivered", "30003"}},
                           final_state{"sent", nullptr, nullptr, nullptr});
}

TEST_CASE("order independence: sent alone stays pending", "[integration][order]") {
  check_order_independence("snt", {{"queued", ""}, {"sent", ""}}, final_state{"pending", nullptr, nullptr, nullptr});
}

TEST_CASE("order independence: a stale sent after undelivered stays failed", "[integration][order]") {
  check_order_independence("und", {{"sent", ""}, {"undelivered", "30005"}},
                           final_state{"failed", "twilio:30005", "Unknown destination handset", "invalid_recipient"});
}

TEST_CASE("order independence: partially_delivered is uncertain ME09", "[integration][order]") {
  check_order_independence("prt", {{"sent", ""}, {"partially_delivered", ""}},
                           final_state{"uncertain", "ME09", "Uncertain delivery status", "unknown"});
}

// Two failures of one message (Twilio sends no event time: the contract takes the time of receipt). Whichever
// wins, it must not depend on which callback happened to arrive last.
TEST_CASE("order independence: two different failures", "[integration][order]") {
  check_order_independence("two", {{"failed", "30007"}, {"undelivered", "30003"}}, std::nullopt);
}
