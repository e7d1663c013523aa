#include "daemon/pollers.hpp"

#include "adapters/kakao/client.hpp"
#include "adapters/twilio/client.hpp"

namespace deliveryd::daemon {

namespace {

actors::poller_deps kakao_poller(const config::kakao_config& k, const core::zone& zone) {
  actors::poller_deps deps;
  deps.vendor = core::vendor::kakao;
  adapters::kakao::client_config client{k.api_base, k.service_id, k.access_key, k.secret_key, zone};
  deps.fetch = [client](const db::poll_target& t, core::timestamp now) {
    return adapters::kakao::fetch_result_of(client, t.vendor_message_id, now);
  };
  deps.plan = [interval = k.poll_interval, window = k.recheck_window](
                const db::poll_target& t, const adapters::fetch_result& found, core::timestamp now, double unit) {
    return core::plan_kakao(found.outcome, t.attempts, t.requested_at, now, interval, window, unit);
  };
  return deps;
}

actors::poller_deps twilio_poller(const config::twilio_config& t) {
  actors::poller_deps deps;
  deps.vendor = core::vendor::twilio;
  adapters::twilio::client_config client{t.api_base, t.account_sid, t.auth_token};
  deps.fetch = [client](const db::poll_target& target, core::timestamp now) {
    return adapters::twilio::fetch_message(client, target.vendor_message_id, now);
  };
  // The back-off starts at poll_after: a send still pending then is fetched again poll_after later, doubling
  // up to the hourly cap, like a Kakao send from its poll_interval.
  deps.plan = [base = t.poll_after, window = t.price_window, give_up = t.uncertain_after](
                const db::poll_target& target, const adapters::fetch_result& found, core::timestamp now,
                double unit) {
    const bool priced = target.priced || !found.price.empty();
    const bool send_final = target.status != core::status::pending;
    return core::plan_twilio(found.outcome, send_final, priced, target.attempts, target.requested_at, now, base,
                             window, give_up, unit);
  };
  return deps;
}

} // namespace

db::poll_table polls_of(const config::daemon_config& cfg) {
  db::poll_table table;
  if (cfg.kakao)
    table[core::vendor::kakao] = {true, cfg.kakao->poll_interval};
  if (cfg.twilio)
    table[core::vendor::twilio] = {false, cfg.twilio->poll_after};
  return table;
}

std::vector<actors::poller_actor> spawn_pollers(caf::actor_system& sys, const config::daemon_config& cfg,
                                                const core::zone& zone, db::reader_pool& readers,
                                                actors::ledger_actor ledger, actors::counters& stats,
                                                std::function<core::timestamp()> clock) {
  std::vector<actors::poller_deps> wanted;
  if (cfg.kakao)
    wanted.push_back(kakao_poller(*cfg.kakao, zone));
  if (cfg.twilio)
    wanted.push_back(twilio_poller(*cfg.twilio));
  std::vector<actors::poller_actor> out;
  for (auto& deps : wanted) {
    deps.readers = &readers;
    deps.ledger = ledger;
    deps.stats = &stats;
    deps.clock = clock;
    out.push_back(actors::spawn_poller(sys, std::move(deps)));
  }
  return out;
}

} // namespace deliveryd::daemon
