#include "mixed_load.hpp"

#include <array>
#include <optional>

#include "vendor_hooks.hpp"

namespace it {

namespace {

using namespace std::chrono_literals;

/// The vendors a round's decoy rotates through.
constexpr std::array<const char*, 4> decoy_vendors{"twilio", "email", "carrier", "kakao"};

/// The carrier's route with the token in the query, and with a wrong one.
const std::string carrier_target = std::string{"/webhooks/carrier?token="} + carrier_token;
const std::string carrier_forged_target = "/webhooks/carrier?token=not-the-token";

/// A webhook request ready to post, and to post again byte for byte.
struct report_request {
  std::string route;                 ///< twilio, email, jasmin, aggregator, kakao
  std::vector<std::string> send_ids; ///< the sends it reports on
  form_params form;                  ///< twilio, jasmin
  json batch = json::array();        ///< email, aggregator, kakao
  bool forged = false;               ///< signed with the wrong key, or with the wrong token
};

/// One round of a worker: the sends, their intake body and their reports.
struct round_plan {
  std::vector<load_send> sends;
  json intake = json::array();
  std::optional<report_request> held;  ///< posted before the intake
  std::vector<report_request> reports; ///< posted after it
  report_request forged;               ///< the decoy's
};

/// The medium of each vendor's sends in the load.
std::string medium_of(const std::string& vendor) {
  if (vendor == "email")
    return "email";
  return vendor == "kakao" ? "alimtalk" : "sms";
}

/// A vendor message id derived from the send id, unique as the send id is (Twilio's is SM + 32 characters).
std::string message_id_of(const std::string& vendor, const std::string& send_id, bool aggregator) {
  if (vendor == "twilio") {
    auto sid = "SM" + send_id;
    sid.resize(34, '0');
    return sid;
  }
  if (vendor == "email")
    return "sg" + send_id;
  if (vendor == "carrier")
    return (aggregator ? "agg-" : "dlr-") + send_id;
  return "msg-" + send_id;
}

/// The send `k` of a round (0-7 reported, 8 the decoy) and the final status and code its report sets.
load_send make_send(const std::string& send_id, int worker, int round, int k, seconds_point at) {
  static constexpr std::array<const char*, 8> vendors{"twilio", "twilio", "email", "email",
                                                      "carrier", "carrier", "kakao", "kakao"};
  load_send s;
  s.decoy = k == 8;
  s.vendor = s.decoy ? decoy_vendors[static_cast<std::size_t>(round) % decoy_vendors.size()] : vendors[k];
  s.vendor_message_id = message_id_of(s.vendor, send_id, k == 5);
  const bool email = s.vendor == "email";
  const std::string contact = email ? "user" + std::to_string(worker) + "@Example.COM" : "010-1234-5678";
  s.contact = email ? "user" + std::to_string(worker) + "@example.com" : "+821012345678";
  s.requested_at_ms = at.time_since_epoch().count() * 1000;
  s.item = vendor_send(send_id, medium_of(s.vendor), s.vendor, contact, at, s.vendor_message_id);
  const bool odd = round % 2 == 1;
  static const std::array<std::pair<const char*, const char*>, 8> finals{{
    {"sent", ""}, {"failed", "twilio:30003"}, {"sent", ""}, {"failed", "email:bounce"},
    {"sent", ""}, {"sent", ""}, {"sent", ""}, {"failed", "kakao:3018"}}};
  if (!s.decoy) {
    s.status = finals[k].first;
    s.code = finals[k].second;
    if ((k == 4 || k == 5) && odd) { // the carrier's reports alternate between delivered and failed
      s.status = "failed";
      s.code = k == 4 ? "carrier:UNDELIV" : "carrier:4401";
    }
  }
  return s;
}

/// The genuine report of send `k` (0-7), alone in its request; `failed` as make_send decided.
report_request report_of(const load_send& s, int k, seconds_point at) {
  const auto id = s.item["send_id"].get<std::string>();
  const bool failed = s.status == "failed";
  report_request r;
  r.send_ids = {id};
  if (s.vendor == "twilio") {
    r.route = "twilio";
    r.form = failed ? twilio_callback(s.vendor_message_id, "undelivered", "30003")
                    : twilio_callback(s.vendor_message_id, "delivered");
  } else if (s.vendor == "email") {
    r.route = "email";
    auto event = sg_event(failed ? "bounce" : "delivered", s.vendor_message_id, "ev-" + id, at);
    if (failed) {
      event["type"] = "bounce";
      event["status"] = "5.1.1";
      event["reason"] = "550 5.1.1 The email account that you tried to reach does not exist";
      event["bounce_classification"] = "Invalid Address";
    }
    r.batch.push_back(std::move(event));
  } else if (s.vendor == "carrier" && k == 4) {
    r.route = "jasmin";
    r.form = jasmin_dlr(s.vendor_message_id, failed ? "UNDELIV" : "DELIVRD", failed ? "001" : "000");
  } else if (s.vendor == "carrier") {
    r.route = "aggregator";
    r.batch.push_back(aggregator_result(s.vendor_message_id, failed ? "4401" : "4100", at));
  } else {
    r.route = "kakao";
    r.batch.push_back(kakao_result(s.vendor_message_id, failed ? "3018" : "0000", at));
  }
  return r;
}

/// Joins `next` into the last request of the same route when that route takes batches (e-mail, Kakao).
void add_report(std::vector<report_request>& reports, report_request next) {
  if ((next.route == "email" || next.route == "kakao") && !reports.empty() && reports.back().route == next.route) {
    reports.back().send_ids.push_back(next.send_ids.front());
    reports.back().batch.push_back(std::move(next.batch.front()));
    return;
  }
  reports.push_back(std::move(next));
}

/// A forged report for the decoy: a delivery that must not be believed.
report_request forged_report(const load_send& decoy, seconds_point at) {
  load_send delivered = decoy;
  delivered.status = "sent";
  auto r = report_of(delivered, decoy.vendor == "carrier" ? 4 : 0, at);
  r.forged = true;
  return r;
}

/// Round `round` of `worker`: nine sends requested at `base` + round % 50 s, their reports 30 s later.
round_plan make_round(const std::string& prefix, int worker, int round, seconds_point base) {
  round_plan plan;
  const auto at = base + std::chrono::seconds{round % 50};
  const int held = round % 8; // which send's report comes before its send
  for (int k = 0; k <= 8; ++k) {
    plan.sends.push_back(make_send(prefix + "k" + std::to_string(k), worker, round, k, at));
    plan.intake.push_back(plan.sends.back().item);
  }
  for (int k = 0; k < 8; ++k) {
    auto report = report_of(plan.sends[static_cast<std::size_t>(k)], k, at + 30s);
    if (k == held)
      plan.held = std::move(report);
    else
      add_report(plan.reports, std::move(report));
  }
  plan.forged = forged_report(plan.sends[8], at + 30s);
  return plan;
}

/// Posts a report; `forged` ones carry a signature of other bytes or a wrong token.
httplib::Result post_report(httplib::Client& hooks, const std::string& public_url, const sendgrid_signer& signer,
                            const report_request& r) {
  if (r.route == "twilio")
    return post_twilio(hooks, public_url, r.form, twilio_path, r.forged ? "not-the-auth-token" : auth_token);
  if (r.route == "jasmin")
    return hooks.Post((r.forged ? carrier_forged_target : carrier_target).c_str(), form_encode(r.form),
                      "application/x-www-form-urlencoded");
  const auto body = r.batch.dump();
  if (r.route == "email") {
    const auto timestamp = unix_now();
    const auto signature = signer.sign(timestamp, r.forged ? body + " " : body);
    return post_email(hooks, body, timestamp, signature);
  }
  const bool carrier = r.route == "aggregator";
  const std::string token = r.forged ? "not-the-token" : (carrier ? carrier_token : kakao_push_token);
  return hooks.Post(carrier ? "/webhooks/carrier" : "/webhooks/kakao",
                    {{carrier ? "X-Carrier-Token" : "X-Kakao-Token", token}}, body, "application/json");
}

/// An intake body cut in the middle of its first item: 400, and the send it names must not exist.
std::string bad_intake_body(const std::string& send_id) {
  return R"([{"send_id": ")" + send_id + R"(", "type": "follow_up", "medium": "sms", "vendor": "twil)";
}

} // namespace

void load_journal::append(load_journal&& other) {
  sends.merge(other.sends);
  requests.insert(requests.end(), std::make_move_iterator(other.requests.begin()),
                  std::make_move_iterator(other.requests.end()));
  anomalies.insert(anomalies.end(), other.anomalies.begin(), other.anomalies.end());
  dropped_while_up += other.dropped_while_up;
}

mixed_load::mixed_load(const daemon_process& d, std::string prefix, int workers, seconds_point base)
  : d_{d}, prefix_{std::move(prefix)}, base_{base} {
  journals_.resize(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w)
    signers_.emplace_back(); // read on this thread: the constructor may fail the test
  for (int w = 0; w < workers; ++w)
    threads_.emplace_back([this, w] { run(w); });
}

mixed_load::~mixed_load() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

load_journal mixed_load::finish() {
  stop_ = true;
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  load_journal all;
  for (auto& j : journals_)
    all.append(std::move(j));
  return all;
}

void mixed_load::run(int worker) {
  auto& journal = journals_[static_cast<std::size_t>(worker)];
  const auto& signer = signers_[static_cast<std::size_t>(worker)];
  auto ops = d_.ops_client();
  auto hooks = d_.webhooks_client();
  const auto public_url = d_.public_url();
  // Journals a request; false when the worker must end (the daemon is gone, or keeps dropping requests).
  auto record = [&](request_kind kind, const std::string& route, const std::vector<std::string>& ids,
                    const httplib::Result& res) {
    load_request r{kind, route, ids, answer_of(res), res ? res->status : 0,
                   !res && res.error() != httplib::Error::Connection};
    journal.requests.push_back(r);
    if (r.outcome != answer::none) {
      ++answered_;
      return true;
    }
    if (killed_)
      return false;
    ++journal.dropped_while_up;
    std::this_thread::sleep_for(10ms);
    return journal.dropped_while_up < 20;
  };
  for (int round = 0; !stop_; ++round) {
    const auto prefix = prefix_ + "w" + std::to_string(worker) + "r" + std::to_string(round);
    auto plan = make_round(prefix, worker, round, base_);
    std::vector<std::string> ids;
    for (const auto& s : plan.sends) {
      ids.push_back(s.item["send_id"].get<std::string>());
      journal.sends.emplace(ids.back(), s);
    }
    if (plan.held && !record(request_kind::report, plan.held->route, plan.held->send_ids,
                             post_report(*hooks, public_url, signer, *plan.held)))
      return;
    auto intake = post_sends(*ops, plan.intake);
    if (intake && intake->status == 200) {
      const auto body = json::parse(intake->body, nullptr, false);
      if (!body.is_object() || body.value("accepted", 0) != static_cast<int>(ids.size()))
        journal.anomalies.push_back("intake of " + prefix + " answered " + intake->body.substr(0, 200));
    }
    if (!record(request_kind::intake, "intake", ids, intake))
      return;
    if (answer_of(intake) != answer::acked)
      continue;
    const report_request* first_acked = nullptr;
    for (const auto& r : plan.reports) {
      auto res = post_report(*hooks, public_url, signer, r);
      if (!first_acked && answer_of(res) == answer::acked)
        first_acked = &r;
      if (!record(request_kind::report, r.route, r.send_ids, res))
        return;
    }
    // Vendors resend what they think was lost: the same bytes again must change nothing.
    if (round % 3 == 1 && first_acked
        && !record(request_kind::report, first_acked->route, first_acked->send_ids,
                   post_report(*hooks, public_url, signer, *first_acked)))
      return;
    if (!record(request_kind::forged, plan.forged.route, plan.forged.send_ids,
                post_report(*hooks, public_url, signer, plan.forged)))
      return;
    if (round % 4 == 3) {
      const auto bad_id = prefix + "bad";
      if (!record(request_kind::bad_intake, "intake", {bad_id},
                  ops->Post("/v1/sends", bad_intake_body(bad_id), "application/json")))
        return;
    }
  }
}

json acknowledged_items(const load_journal& journal) {
  json items = json::array();
  for (const auto& r : journal.requests)
    if (r.kind == request_kind::intake && r.outcome == answer::acked)
      for (const auto& id : r.send_ids)
        items.push_back(journal.sends.at(id).item);
  return items;
}

void journal_tally::problem(std::string what) {
  if (problems.size() < 20)
    problems.push_back(std::move(what));
}

} // namespace it
