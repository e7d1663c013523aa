#include "daemon/app.hpp"

#include <atomic>
#include <csignal>
#include <string>
#include <thread>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/carrier_actor.hpp"
#include "actors/email_actor.hpp"
#include "actors/kakao_push_actor.hpp"
#include "actors/ledger_actor.hpp"
#include "actors/twilio_actor.hpp"
#include "adapters/crypto.hpp"
#include "core/redact.hpp"
#include "core/thread_name.hpp"
#include "daemon/http_common.hpp"
#include "daemon/http_server.hpp"
#include "daemon/notify.hpp"
#include "daemon/pollers.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

core::timestamp system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

/// One HTTP listener on a thread of its own.
class listener {
public:
  listener(const char* name, std::size_t max_body, connection_limits limits, pool_limits threads)
    : name_{name}, server_{limits, threads} {
    configure_server(server_, max_body);
  }

  http_server& server() { return server_; }

  /// Binds the address; false (after logging why) when it cannot.
  bool bind(const std::string& listen) {
    auto addr = split_listen(listen);
    if (!addr || !bind_listener(server_, addr->host, addr->port)) {
      spdlog::critical("{} bind_failed: cannot listen on {} (in use, or not an address of this host)", name_, listen);
      return false;
    }
    spdlog::info("{} listening: {}", name_, listen);
    thread_ = std::thread{[this] {
      core::name_this_thread(std::string{name_} + "-accept");
      server_.listen_after_bind();
    }};
    return true;
  }

  /// Closes the idle connections and starts the stop budget of the requests in flight; returns at once.
  void begin_stop() { server_.begin_stop(); }

  /// Stops accepting, lets in-flight requests finish (within the stop budget), joins the thread.
  void stop() {
    server_.stop_accepting();
    if (thread_.joinable())
      thread_.join();
  }

private:
  const char* name_;
  http_server server_;
  std::thread thread_;
};

/// A listener's connection limits: its idle_timeout, the rest as http_server's defaults.
connection_limits limits_with(std::chrono::milliseconds idle_timeout) {
  connection_limits out;
  out.idle_timeout = idle_timeout;
  return out;
}

db::deadline_table deadlines_of(const config::daemon_config& cfg) {
  db::deadline_table t;
  if (cfg.twilio) t[core::vendor::twilio] = cfg.twilio->uncertain_after;
  if (cfg.email) t[core::vendor::email] = cfg.email->uncertain_after;
  if (cfg.carrier) t[core::vendor::carrier] = cfg.carrier->uncertain_after;
  if (cfg.kakao) t[core::vendor::kakao] = cfg.kakao->uncertain_after;
  return t;
}

/// Blocks until SIGTERM or SIGINT (blocked in every thread, so only this wait sees them).
int wait_for_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

/// Asks the ledger whether it answers at all (the watchdog's question).
bool ledger_answers(const actors::ledger_actor& ledger) {
  auto job = std::make_shared<actors::health_job>();
  auto [done, future] = make_reply<actors::health_report>();
  job->done = std::move(done);
  caf::anon_send(ledger, std::move(job));
  return future.wait_for(std::chrono::seconds{10}) == std::future_status::ready;
}

/// The id that ties `ledger` and its ack log in `dir` together: the ledger's own, or for a ledger made before ids
/// existed, the one its log already names (a backup restored beside its log keeps replaying it) or a new one.
db::result<std::string> ack_log_owner(db::ledger_writer& ledger, const std::filesystem::path& dir) {
  auto id = ledger.ledger_id();
  if (!id || !id->empty())
    return id;
  auto named = db::ack_log::ledger_id_in(dir);
  if (!named)
    return named;
  const auto chosen = named->empty() ? adapters::random_token(16) : *named;
  if (auto set = ledger.set_ledger_id(chosen); !set)
    return set.error();
  return chosen;
}

} // namespace

int run(const config::daemon_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // every thread started below inherits the mask

  auto zone = core::zone::locate(cfg.time.zone);
  if (!zone) {
    spdlog::critical("config bad_zone: {} is not in this system's time zone database", cfg.time.zone);
    return 1;
  }
  std::optional<adapters::email::verification_key> email_key; // parsed once; a bad key stops the start
  if (cfg.email && !(email_key = actors::load_email_key(cfg.email->verification_key)))
    return 1;
  db::ledger_options store;
  store.kind = cfg.storage.backend == config::storage_backend::postgresql ? db::backend::postgresql : db::backend::sqlite;
  store.path = cfg.storage.path;
  store.postgresql.url = cfg.storage.url;
  store.postgresql.host_id = cfg.storage.host_id;
  store.deadlines = deadlines_of(cfg);
  store.sync = db::durability::after_sync;
  store.polls = polls_of(cfg);
  store.zone = cfg.time.zone;
  store.on_progress = [](const std::string& what) {
    spdlog::info("start-up: {}", what);
    notify_starting(what); // more start time from systemd, as long as the work goes on
  };
  auto opened = db::open_writer(store);
  if (!opened) {
    spdlog::critical("ledger open_failed: {}", opened.error().message);
    return 1;
  }
  spdlog::info("ledger opened: {}", store.kind == db::backend::postgresql
                                      ? "PostgreSQL " + core::redact_conninfo(cfg.storage.url) + " as host "
                                          + cfg.storage.host_id
                                      : cfg.storage.path);

  actors::counters stats; // declared before the actor system: it outlives every actor
  actors::backlog gate;    // likewise
  actors::backlog log_gate; // with an ack log: its events acknowledged and not committed by the ledger
  caf::actor_system_config caf_cfg;
  caf_cfg.set("scheduler.max-threads", 2);
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{caf_cfg};
  // The ack log (SQLite): webhooks are acknowledged once their events are synced in it, and the ledger applies
  // them behind it; it reads from the position the ledger committed, so what a crash left unapplied comes first.
  std::atomic<bool> durability_lost{false};
  auto lose_durability = [&durability_lost](const std::string& why) {
    durability_lost = true;
    spdlog::critical("deliveryd stopping: a sync of the ledger failed ({}); it exits with status {} so that it "
                     "starts again on what the disk holds",
                     why, exit_durability_lost);
    ::kill(::getpid(), SIGTERM); // the main thread waits for it (sigwait)
  };
  std::unique_ptr<db::ack_log> log;
  std::uint64_t log_start = 0;
  std::optional<actors::ledger_actor> ledger_handle; // set once spawned, before any webhook is taken
  if ((*opened)->keeps_log_position()) {
    auto position = (*opened)->log_position();
    db::ack_log_options log_options;
    log_options.dir = cfg.storage.path + ".acklog";
    log_options.on_lost = [&lose_durability](const std::string& why) { lose_durability("ack log: " + why); };
    log_options.on_acked = [&ledger_handle](std::uint64_t end) {
      caf::anon_send(*ledger_handle, actors::logged_atom_v, end);
    };
    auto owner = position ? ack_log_owner(**opened, log_options.dir) : db::result<std::string>{position.error()};
    if (owner)
      log_options.ledger_id = *owner;
    auto made = owner ? db::ack_log::open(std::move(log_options), *position)
                      : db::result<std::unique_ptr<db::ack_log>>{owner.error()};
    if (!made) {
      spdlog::critical("ledger open_failed: the ack log: {}", made.error().message);
      return 1;
    }
    log = std::move(*made);
    log_start = *position;
    if (const auto behind = log->acknowledged() - log_start; behind > 0)
      spdlog::info("ack log opened: {} bytes acknowledged and not applied yet are applied first", behind);
  }
  actors::ledger_deps ledger_deps;
  ledger_deps.store = std::move(*opened);
  ledger_deps.log = log.get();
  ledger_deps.log_start = log_start;
  ledger_deps.log_replay_end = log ? log->acknowledged() : 0;
  ledger_deps.gate = &log_gate;
  // Webhooks count in the ack log's own bound when there is a log, in the ledger's with intake otherwise.
  auto* hooks_gate = log ? &log_gate : &gate;
  ledger_deps.clock = system_now;
  ledger_deps.stats = &stats;
  ledger_deps.retention_days = cfg.storage.retention_days;
  // A failed sync of the ledger: this process's view of the file may hold pages the disk never got. It stops
  // (answering what is in flight 503) and exits with exit_durability_lost; systemd starts it again, and the
  // start reads the ledger from what the disk holds (db/sqlite/store.cpp drops the file's cached pages first).
  ledger_deps.on_durability_lost = lose_durability;
  auto ledger = actors::spawn_ledger(sys, std::move(ledger_deps));
  ledger_handle = ledger;
  std::optional<actors::twilio_actor> twilio;
  if (cfg.twilio)
    twilio = actors::spawn_twilio(sys, {cfg.twilio->auth_token, cfg.twilio->webhook_shared_key, ledger, &stats, hooks_gate, log.get()});
  std::optional<actors::email_actor> email;
  if (cfg.email)
    email = actors::spawn_email(sys, {*email_key, cfg.email->max_skew, ledger, &stats, hooks_gate, log.get()});
  std::optional<actors::carrier_actor> carrier;
  if (cfg.carrier)
    carrier = actors::spawn_carrier(sys, {cfg.carrier->token, *zone, ledger, &stats, hooks_gate, log.get()});
  std::optional<actors::kakao_push_actor> kakao_push; // without a push_token, POST /webhooks/kakao is 404
  if (cfg.kakao && cfg.kakao->push_token)
    kakao_push = actors::spawn_kakao_push(sys, {*cfg.kakao->push_token, *zone, ledger, &stats, hooks_gate, log.get()});

  // SQLite's read connections cost a file handle each and are as many as the threads that read; a PostgreSQL
  // server counts its connections, so each daemon keeps to [storage] pool.
  db::reader_pool readers{store, store.kind == db::backend::postgresql ? static_cast<std::size_t>(cfg.storage.pool) : 0};
  std::vector<core::vendor> enabled;
  for (auto [on, v] : {std::pair{cfg.twilio.has_value(), core::vendor::twilio},
                       std::pair{cfg.email.has_value(), core::vendor::email},
                       std::pair{cfg.carrier.has_value(), core::vendor::carrier},
                       std::pair{cfg.kakao.has_value(), core::vendor::kakao}})
    if (on)
      enabled.push_back(v);

  auto pollers = spawn_pollers(sys, cfg, *zone, readers, ledger, stats, system_now);

  listener hooks{"webhooks", cfg.webhooks.max_body_bytes, limits_with(cfg.webhooks.idle_timeout), webhooks_threads};
  listener ops{"ops", cfg.ops.max_body_bytes, limits_with(cfg.ops.idle_timeout), ops_threads};
  install_webhook_routes(hooks.server(),
                         {cfg.webhooks.public_url, twilio, email, carrier, kakao_push, system_now, hooks_gate,
                          cfg.webhooks.max_body_bytes, log ? std::chrono::milliseconds{2000} : std::chrono::milliseconds{0}});
  ops_deps ops_wiring{ledger, &readers, {*zone, cfg.pricing}, cfg.intake.default_region,
                      cfg.storage.retention_days, enabled, cfg.ops.token, cfg.ops.read_token, system_now,
                      &stats, &gate, cfg.ops.max_body_bytes};
  ops_wiring.log = log.get();
  ops_wiring.log_gate = log ? &log_gate : nullptr;
  install_ops_routes(ops.server(), std::move(ops_wiring));
  int code = 0;
  if (hooks.bind(cfg.webhooks.listen) && ops.bind(cfg.ops.listen)) {
    notify_ready();
    spdlog::info("deliveryd ready");
    watchdog dog{[&ledger] { return ledger_answers(ledger); }};
    const int sig = wait_for_signal(signals);
    if (durability_lost)
      code = exit_durability_lost;
    else
      spdlog::info("deliveryd stopping: signal {}, draining in-flight commits", sig);
    notify_stopping();
  } else {
    code = 1;
  }
  // Order matters: listeners first (in-flight requests still get their commits), then the actors. Both listeners
  // start their stop budget together.
  hooks.begin_stop();
  ops.begin_stop();
  hooks.stop();
  ops.stop();
  caf::scoped_actor self{sys};
  if (twilio)
    self->send_exit(*twilio, caf::exit_reason::user_shutdown);
  if (email)
    self->send_exit(*email, caf::exit_reason::user_shutdown);
  if (carrier)
    self->send_exit(*carrier, caf::exit_reason::user_shutdown);
  if (kakao_push)
    self->send_exit(*kakao_push, caf::exit_reason::user_shutdown);
  for (auto& poller : pollers) // each waits for its running fetches; their results still reach the ledger
    self->send_exit(poller, caf::exit_reason::user_shutdown);
  for (auto& poller : pollers)
    self->wait_for(poller);
  if (log)
    log->stop(); // what it holds is synced and answered; the ledger applies it all before it stops
  self->send(ledger, actors::stop_atom_v);
  self->wait_for(ledger);
  spdlog::info("deliveryd stopped{}", code == exit_durability_lost ? " (a sync of the ledger failed)" : "");
  return code;
}

} // namespace deliveryd::daemon
