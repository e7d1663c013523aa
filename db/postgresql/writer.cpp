// The PostgreSQL ledger's writer: one connection per daemon, its group transactions, and the row-level steps of
// the shared rules (db/write_rules.hpp) in SQL that stays correct while other daemons write the same ledger:
// - a send's row is locked (FOR UPDATE) before its state is read and reconciled, so two daemons applying events
//   to one send take turns, and the second reconciles with what the first committed;
// - a failover group's Alimtalk send is locked before its logical state is read;
// - events for a message not registered yet and the registration of that message serialise on an advisory lock
//   of the message, so a held event is never stored beside a registration that could not see it;
// - uniqueness (send_id, vendor message id, an event's dedupe key) is the constraints', with ON CONFLICT;
// - counts are added (rollups.sends + excluded.sends), never set, in one order, just before the commit;
// - deadlines are taken with SKIP LOCKED, and the purge by the one daemon holding its advisory lock.
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/failover.hpp"
#include "core/polling.hpp"
#include "db/postgresql/backend.hpp"
#include "db/postgresql/connection.hpp"
#include "db/postgresql/schema.hpp"
#include "db/write_rules.hpp"
#include "core/month.hpp"
#include "core/utf8.hpp"

namespace deliveryd::db::postgresql {

using adapters::intake::rejection;
using adapters::intake::send_request;

namespace {

std::string text(std::string_view v) { return std::string{v}; }

std::optional<std::string> opt(const std::string& s) { return s.empty() ? std::nullopt : std::optional{s}; }

/// A text column in a JSON batch: null when empty, as opt() binds it.
nlohmann::json json_text(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }
nlohmann::json json_int(const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

/// Whether a send's state change concerns a failover group: it is a leg, or an Alimtalk send that has legs.
constexpr const char* in_failover_sql =
  "(fallback_of IS NOT NULL OR (medium = 'alimtalk' AND EXISTS (SELECT 1 FROM sends AS leg "
  "WHERE leg.fallback_of = sends.send_id)))";

/// Where a send counts, in the order read_key reads them.
constexpr const char* key_columns = "day, type, coalesce(source_id, ''), medium, coalesce(fallback_of, ''), status, "
                                    "coalesce(logical_status, status), send_id, coalesce(vendor, '')";

constexpr const char* state_columns = "status, code, reason, category, decided_at";

rollup_key read_key(const pqxx::row& r, int first, std::int64_t id) {
  rollup_key k;
  k.id = id;
  k.day = r[first].as<std::int32_t>();
  k.type = r[first + 1].as<std::string>();
  k.source_id = r[first + 2].as<std::string>();
  k.medium = r[first + 3].as<std::string>();
  k.fallback_of = r[first + 4].as<std::string>();
  k.leg = !k.fallback_of.empty();
  k.status = r[first + 5].as<std::string>();
  k.effective = r[first + 6].as<std::string>();
  k.send_id = r[first + 7].as<std::string>();
  k.vendor = r[first + 8].as<std::string>();
  return k;
}

core::send_state read_state(const pqxx::row& r, int first) {
  core::send_state s;
  s.current = core::parse_status(r[first].as<std::string>()).value_or(core::status::pending);
  s.code = r[first + 1].as<std::string>();
  s.reason = r[first + 2].as<std::string>();
  s.cat = core::parse_category(r[first + 3].as<std::string>()).value_or(core::category::unknown);
  s.decided_at = core::from_millis(r[first + 4].as<std::int64_t>());
  return s;
}

/// The statements, prepared on every new connection.
const std::vector<std::pair<const char*, std::string>>& statements() {
  static const std::vector<std::pair<const char*, std::string>> all{
    {"find_send_by_id",
     "SELECT id, type, coalesce(source_id, ''), coalesce(source_name, ''), medium, coalesce(vendor, ''), contact, "
     "requested_at, coalesce(vendor_message_id, ''), coalesce(fallback_of, ''), coalesce(excluded_code, ''), "
     "status, code, reason, category, decided_at FROM sends WHERE send_id = $1 FOR UPDATE"},
    {"find_send_by_message", std::string{"SELECT id, "} + state_columns + ", " + in_failover_sql + ", " + key_columns
                               + " FROM sends WHERE vendor = $1 AND vendor_message_id = $2 FOR UPDATE"},
    {"set_vendor_message_id", "UPDATE sends SET vendor_message_id = $1, updated_at = $2, "
                              "next_poll_at = coalesce(next_poll_at, $3) WHERE id = $4"},
    {"update_state", "UPDATE sends SET status = $1, code = $2, reason = $3, category = $4, decided_at = $5, "
                     "updated_at = $6, next_poll_at = CASE WHEN $8 THEN NULL ELSE next_poll_at END WHERE id = $7"},
    {"insert_event", "INSERT INTO events (send, vendor, vendor_message_id, dedupe_key, source, outcome, code, reason, "
                     "category, vendor_time, received_at, vendor_status, vendor_code, status_after, code_after, raw) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
                     "ON CONFLICT DO NOTHING"},
    // A vendor event and the state it leads to, in one round trip: the state only when the event was stored (not
    // a duplicate of its dedupe key).
    {"insert_event_and_state",
     "WITH ev AS (INSERT INTO events (send, vendor, vendor_message_id, dedupe_key, source, outcome, code, reason, "
     "category, vendor_time, received_at, vendor_status, vendor_code, status_after, code_after, raw) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING "
     "RETURNING id), st AS (UPDATE sends SET status = $17, code = $18, reason = $19, category = $20, "
     "decided_at = $21, updated_at = $22, next_poll_at = CASE WHEN $23 THEN NULL ELSE next_poll_at END "
     "WHERE id = $1 AND EXISTS (SELECT 1 FROM ev) RETURNING id) "
     "SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM st)"},
    {"select_held", "SELECT id, source, outcome, code, reason, category, vendor_time, received_at, vendor_status, "
                    "vendor_code, coalesce(dedupe_key, ''), coalesce(raw, '') FROM events "
                    "WHERE vendor = $1 AND vendor_message_id = $2 AND send IS NULL ORDER BY id"},
    {"delete_event", "DELETE FROM events WHERE id = $1"},
    {"select_due", std::string{"SELECT id, "} + state_columns + ", " + in_failover_sql
                     + ", coalesce(vendor, '') FROM sends WHERE deadline_at <= $1 ORDER BY deadline_at LIMIT $2 "
                       "FOR UPDATE SKIP LOCKED"},
    {"clear_deadline", "UPDATE sends SET deadline_at = NULL WHERE id = $1"},
    {"touch_probe", "INSERT INTO write_probe (host, written_at) VALUES ($1, $2) "
                    "ON CONFLICT (host) DO UPDATE SET written_at = excluded.written_at"},
    {"set_poll", "UPDATE sends SET next_poll_at = $1, poll_attempts = $2, vendor_price = coalesce($3, vendor_price), "
                 "vendor_price_unit = coalesce($4, vendor_price_unit), poll_claimed_until = NULL, "
                 "poll_claimed_by = NULL WHERE id = $5"},
    {"failover_key", "SELECT send_id, coalesce(fallback_of, '') FROM sends WHERE id = $1"},
    {"failover_parent", std::string{"SELECT id, "} + state_columns
                          + " FROM sends WHERE send_id = $1 AND medium = 'alimtalk' FOR UPDATE"},
    {"failover_legs", std::string{"SELECT "} + state_columns + " FROM sends WHERE fallback_of = $1 ORDER BY id"},
    {"set_logical", "UPDATE sends SET logical_status = $1, logical_code = $2, logical_reason = $3, "
                    "logical_category = $4 WHERE id = $5"},
    {"load_key", std::string{"SELECT "} + key_columns + " FROM sends WHERE id = $1"},
    {"parent_of", "SELECT id FROM sends WHERE send_id = $1 AND medium = 'alimtalk' FOR UPDATE"},
    {"rollup_add", "INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, scope_id, day, medium, status) "
                   "DO UPDATE SET sends = rollups.sends + excluded.sends, logical = rollups.logical + excluded.logical"},
    {"price_add", "INSERT INTO price_rollups (scope, scope_id, day, currency, micros) VALUES ($1, $2, $3, $4, $5) "
                  "ON CONFLICT (scope, scope_id, day, currency) DO UPDATE SET micros = price_rollups.micros + "
                  "excluded.micros"},
    {"price_of", "SELECT coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') FROM sends WHERE id = $1"},
    {"pending_add", "INSERT INTO pending_sends (vendor, sends) VALUES ($1, $2) "
                    "ON CONFLICT (vendor) DO UPDATE SET sends = pending_sends.sends + excluded.sends"},
    {"source_add", "INSERT INTO sources (month, scope, scope_id, name, logical) VALUES ($1, $2, $3, $4, $5) "
                   "ON CONFLICT (month, scope, scope_id) DO UPDATE SET logical = sources.logical + excluded.logical, "
                   "name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE sources.name END"},
    // Messages' locks, in message_slots slots (write_rules' vendor_message_key modulo): an event that finds no send
    // takes its slot alone, registrations share theirs. Slots, not one lock per message: the server's lock table
    // holds a few thousand locks for every session together, and a group of intake batches registers thousands.
    {"lock_message", "SELECT pg_advisory_xact_lock(" + std::to_string(message_lock) + ", $1::int)"},
    {"share_messages", "SELECT pg_advisory_xact_lock_shared(" + std::to_string(message_lock) + ", slot::int) "
                       "FROM (SELECT DISTINCT unnest($1::bigint[]) AS slot ORDER BY 1) AS slots"},
    // A batch of new sends in one statement, in the order given (n); those whose send_id or vendor message id is
    // taken are left out, and the caller compares them with the stored send one by one.
    {"insert_sends",
     "INSERT INTO sends (send_id, type, source_id, source_name, medium, vendor, contact, requested_at, "
     "vendor_message_id, fallback_of, excluded_code, status, code, reason, category, decided_at, deadline_at, "
     "updated_at, next_poll_at, day) SELECT send_id, type, source_id, source_name, medium, vendor, contact, "
     "requested_at, vendor_message_id, fallback_of, excluded_code, status, code, reason, category, decided_at, "
     "deadline_at, updated_at, next_poll_at, day FROM json_to_recordset($1::json) AS r(n bigint, send_id text, "
     "type text, source_id text, source_name text, medium text, vendor text, contact text, requested_at bigint, "
     "vendor_message_id text, fallback_of text, excluded_code text, status text, code text, reason text, "
     "category text, decided_at bigint, deadline_at bigint, updated_at bigint, next_poll_at bigint, day integer) "
     "ORDER BY n ON CONFLICT DO NOTHING RETURNING id, send_id, coalesce(vendor_message_id, '')"},
    {"insert_events",
     "INSERT INTO events (send, vendor, vendor_message_id, dedupe_key, source, outcome, code, reason, category, "
     "vendor_time, received_at, vendor_status, vendor_code, status_after, code_after) SELECT send, vendor, "
     "vendor_message_id, dedupe_key, source, outcome, code, reason, category, vendor_time, received_at, "
     "vendor_status, vendor_code, status_after, code_after FROM json_to_recordset($1::json) AS r(n bigint, "
     "send bigint, vendor text, vendor_message_id text, dedupe_key text, source text, outcome text, code text, "
     "reason text, category text, vendor_time bigint, received_at bigint, vendor_status text, vendor_code text, "
     "status_after text, code_after text) ORDER BY n ON CONFLICT DO NOTHING"},
    {"held_among", "SELECT DISTINCT e.vendor, e.vendor_message_id FROM events AS e JOIN json_to_recordset($1::json) "
                   "AS k(vendor text, id text) ON e.vendor = k.vendor AND e.vendor_message_id = k.id "
                   "WHERE e.send IS NULL"},
    {"in_failover_among", std::string{"SELECT id FROM sends WHERE id = ANY($1::bigint[]) AND "} + in_failover_sql},
    {"try_purge_lock", "SELECT pg_try_advisory_xact_lock($1)"},
    {"take_purged", "SELECT id, status = 'pending' AND vendor IS NOT NULL, coalesce(vendor, ''), day, type, "
                    "coalesce(source_id, ''), fallback_of IS NULL FROM sends WHERE requested_at < $1 "
                    "ORDER BY requested_at LIMIT $2 FOR UPDATE"},
    {"purge_events", "DELETE FROM events WHERE send = ANY($1::bigint[])"},
    {"purge_sends", "DELETE FROM sends WHERE id = ANY($1::bigint[])"},
    {"purge_held", "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE send IS NULL AND received_at < $1 "
                   "LIMIT $2)"},
    {"held_left", "SELECT EXISTS (SELECT 1 FROM events WHERE send IS NULL AND received_at < $1)"},
    {"purge_rollups", "DELETE FROM rollups WHERE day < $1"},
    {"purge_prices", "DELETE FROM price_rollups WHERE day < $1"},
    {"purge_sources", "DELETE FROM sources WHERE month < $1"},
  };
  return all;
}

class writer final : public ledger_writer {
public:
  writer(const ledger_options& options, core::zone zone) : options_{options}, zone_{std::move(zone)} {}

  /// Connects (again) and prepares the statements.
  void connect_now() {
    conn_.reset();
    auto c = connect(options_.postgresql.url, options_.sync != durability::none);
    for (const auto& [name, sql] : statements())
      c->prepare(name, sql);
    conn_ = std::move(c);
  }

  pqxx::connection& connection() { return *conn_; }

  result<void> begin() override {
    if (tx_)
      return ledger_error{fault::unavailable, "a transaction is already open"};
    try {
      open_transaction();
      return {};
    } catch (const std::exception& e) {
      auto error = describe(e, "cannot start a transaction", options_.postgresql.url);
      tx_.reset();
      conn_.reset();
      return error;
    }
  }

  result<void> commit() override {
    if (!tx_)
      return ledger_error{fault::unavailable, "no transaction is open"};
    try {
      commit_own();
      counts_.clear();
      return {};
    } catch (const std::exception& e) {
      auto error = describe(e, "cannot commit", options_.postgresql.url);
      rollback();
      if (connection_lost(e) || !conn_->is_open())
        conn_.reset();
      return error;
    }
  }

  void rollback() noexcept override {
    counts_.clear();
    try {
      if (tx_)
        tx_->abort();
    } catch (...) {
      // The connection is gone: the server rolled the transaction back.
    }
    tx_.reset();
  }

  durability sync_mode() const noexcept override {
    // synchronous_commit: a commit has reached the server's disk when it returns.
    return options_.sync == durability::none ? durability::none : durability::on_commit;
  }

  result<void> make_durable() override { return {}; }

  result<intake_outcome> register_sends(const std::vector<send_request>& sends, std::vector<rejection> rejected,
                                        core::timestamp now) override {
    return guarded("cannot register sends", [&] { return register_all(sends, std::move(rejected), now); });
  }

  result<events_outcome> apply_events(const std::vector<vendor_event>& events, core::timestamp now) override {
    return guarded("cannot apply vendor events", [&] {
      events_outcome out;
      for (const auto& v : events) {
        const auto vendor = text(core::to_string(v.vendor));
        auto send = load_by_message(vendor, v.vendor_message_id);
        if (!send) {
          // Its registration may be on its way at another daemon: take the message's lock, then look again.
          lock_message(vendor, v.vendor_message_id);
          send = load_by_message(vendor, v.vendor_message_id);
        }
        if (!send) {
          if (append_event(std::nullopt, vendor, v.vendor_message_id, v.event, v.received_at, nullptr, v.raw))
            ++out.held;
          else
            ++out.duplicates;
          continue;
        }
        apply_to(*send, vendor, v.vendor_message_id, v.event, v.received_at, v.raw, now, out);
      }
      return out;
    });
  }

  result<events_outcome> apply_polls(const std::vector<poll_update>& polls, core::timestamp now) override {
    return guarded("cannot apply polls", [&] {
      events_outcome out;
      for (const auto& p : polls) {
        const auto vendor = text(core::to_string(p.vendor));
        auto send = load_by_message(vendor, p.vendor_message_id);
        if (!send)
          continue; // purged meanwhile
        if (p.event)
          apply_to(*send, vendor, p.vendor_message_id, *p.event, p.received_at, p.raw, now, out);
        if (!p.price.empty()) {
          auto old = tx_->exec_prepared1("price_of", send->id);
          const auto old_price = old[0].as<std::string>();
          const auto old_unit = old[1].as<std::string>();
          if (old_price != p.price || old_unit != p.price_unit)
            if (auto key = load_key(send->id))
              counts_.count_price(*key, old_price, old_unit, p.price, p.price_unit);
        }
        std::optional<std::int64_t> next;
        if (p.next_poll_at)
          next = core::to_millis(*p.next_poll_at);
        tx_->exec_prepared0("set_poll", next, p.attempts, opt(p.price), p.price.empty() ? std::nullopt : std::optional{p.price_unit},
                            send->id);
      }
      return out;
    });
  }

  result<deadline_outcome> fire_deadlines(core::timestamp now, std::size_t limit,
                                          std::map<core::vendor, std::size_t>* per_vendor) override {
    return guarded("cannot fire deadlines", [&] {
      std::vector<send_ref> due;
      std::vector<std::int64_t> settled;
      std::map<core::vendor, std::size_t> fired;
      for (const auto& r : tx_->exec_prepared("select_due", std::int64_t{core::to_millis(now)},
                                              static_cast<std::int64_t>(limit))) {
        send_ref ref{r[0].as<std::int64_t>(), read_state(r, 1), r[6].as<bool>()};
        if (ref.state.current != core::status::pending) {
          settled.push_back(ref.id);
          continue;
        }
        due.push_back(std::move(ref));
        if (auto v = core::parse_vendor(r[7].as<std::string>()))
          ++fired[*v];
      }
      const auto e = core::deadline_event(now);
      for (const auto& ref : due) {
        auto step = core::reconcile(ref.state, e, now);
        core::event stored = e;
        stored.dedupe_key.clear();
        append_event(ref.id, "", "", stored, now, &step.state, "");
        write_state(ref, step.state, now);
        tx_->exec_prepared0("clear_deadline", ref.id);
      }
      for (auto id : settled)
        tx_->exec_prepared0("clear_deadline", id);
      if (per_vendor)
        for (auto [v, n] : fired)
          (*per_vendor)[v] += n;
      return deadline_outcome{due.size(), due.size() + settled.size() == limit};
    });
  }

  result<purge_outcome> purge(core::timestamp now, int retention_days, std::size_t limit) override {
    return guarded("cannot purge", [&] { return purge_step(now, retention_days, limit); });
  }

  result<void> write_probe(core::timestamp now) override {
    return guarded("cannot write the probe", [&] {
      tx_->exec_prepared0("touch_probe", options_.postgresql.host_id, std::int64_t{core::to_millis(now)});
    });
  }

  bool probe() noexcept override {
    try {
      if (!conn_ || !conn_->is_open())
        connect_now();
      if (tx_)
        return tx_->exec1("SELECT 1")[0].as<int>() == 1;
      pqxx::nontransaction n{*conn_};
      return n.exec1("SELECT 1")[0].as<int>() == 1;
    } catch (...) {
      return false;
    }
  }

private:
  /// Runs `f` inside the group transaction, or (called outside one, as tests and tools do) in a transaction of
  /// its own that commits with it; what it throws becomes the interface's error, and a lost connection is
  /// dropped for the next begin() to open again.
  template <class F>
  auto guarded(const char* doing, F&& f) -> result<std::conditional_t<std::is_void_v<decltype(f())>, void,
                                                                        decltype(f())>> {
    const bool own = !tx_;
    try {
      if (own)
        open_transaction();
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        if (own)
          commit_own();
        return {};
      } else {
        auto value = f();
        if (own)
          commit_own();
        return value;
      }
    } catch (const std::exception& e) {
      auto error = describe(e, doing, options_.postgresql.url);
      if (own)
        rollback();
      if (connection_lost(e) || (conn_ && !conn_->is_open())) {
        tx_.reset();
        conn_.reset();
      }
      return error;
    }
  }

  /// Connects again if the connection was lost, and starts a transaction with no counts yet.
  void open_transaction() {
    if (!conn_ || !conn_->is_open())
      connect_now();
    counts_.clear();
    tx_ = std::make_unique<pqxx::work>(*conn_);
  }

  void commit_own() {
    flush_counts();
    tx_->commit();
    tx_.reset();
  }

  intake_outcome register_all(const std::vector<send_request>& sends, std::vector<rejection> rejected,
                              core::timestamp now) {
    intake_outcome out;
    events_outcome attached;
    // In send_id order (the first of equal ones first), so that two daemons registering overlapping batches lock
    // their rows in one order and wait for each other instead of deadlocking; answers do not depend on it.
    std::vector<const send_request*> ordered;
    ordered.reserve(sends.size());
    for (const auto& s : sends)
      ordered.push_back(&s);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const send_request* a, const send_request* b) { return a->send_id < b->send_id; });
    const auto fresh = insert_new(ordered, now, attached);
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      if (fresh[i]) {
        ++out.accepted;
        continue;
      }
      const auto& s = *ordered[i];
      const auto vendor = vendor_text(s);
      auto old = load_send(s.send_id);
      if (s.vendor_message_id) {
        auto owner = load_by_message(vendor, *s.vendor_message_id);
        if (owner && (!old || old->id != owner->id)) {
          rejected.push_back(conflict(s, "vendor_message_id (" + *s.vendor_message_id
                                           + " already belongs to another send)"));
          continue;
        }
      }
      if (!old)
        throw std::logic_error{"send " + s.send_id + " could not be inserted, yet no send holds its keys"};
      auto [kind, field] = compare(*old, s);
      if (kind == repost::conflict) {
        rejected.push_back(conflict(s, field));
      } else if (kind == repost::duplicate) {
        ++out.duplicates;
      } else {
        std::optional<std::int64_t> first;
        if (old->state.current == core::status::pending || old->state.current == core::status::uncertain)
          first = first_poll_at(options_.polls, core::parse_vendor(old->vendor),
                                core::from_millis(old->requested_at), now);
        tx_->exec_prepared0("set_vendor_message_id", *s.vendor_message_id, std::int64_t{core::to_millis(now)}, first,
                            old->id);
        auto e = intake_event(s, now);
        e.outcome = old->state.current;
        e.code = old->state.code;
        append_event(old->id, old->vendor, *s.vendor_message_id, e, now, &old->state, "");
        const bool in_failover = old->medium == "alimtalk" || !old->fallback_of.empty();
        share_messages({vendor_message_key(old->vendor, *s.vendor_message_id)});
        attach_held({old->id, old->state, in_failover}, old->vendor, *s.vendor_message_id, now, attached);
        ++out.updated;
      }
    }
    std::stable_sort(rejected.begin(), rejected.end(),
                     [](const rejection& a, const rejection& b) { return a.index < b.index; });
    out.rejected = std::move(rejected);
    return out;
  }

  /// Registers those of `ordered` that are new, in a few statements for the whole batch: the sends, their intake
  /// events, then, one send at a time, only what concerns few (events held for them, failover groups). Returns
  /// which were new; the others hold a send_id or vendor message id that a send already has.
  std::vector<bool> insert_new(const std::vector<const send_request*>& ordered, core::timestamp now,
                               events_outcome& attached) {
    std::vector<new_send> plans;
    plans.reserve(ordered.size());
    nlohmann::json rows = nlohmann::json::array();
    std::vector<std::int64_t> slots;
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      const auto& s = *ordered[i];
      plans.push_back(plan_new_send(s, now, options_.deadlines, options_.polls, zone_));
      const auto& plan = plans.back();
      const auto& key = plan.key;
      rows.push_back({{"n", i}, {"send_id", s.send_id}, {"type", key.type}, {"source_id", json_text(s.source_id)},
                      {"source_name", json_text(s.source_name)}, {"medium", key.medium},
                      {"vendor", json_text(key.vendor)}, {"contact", s.contact},
                      {"requested_at", core::to_millis(s.requested_at)},
                      {"vendor_message_id", json_text(s.vendor_message_id.value_or(""))},
                      {"fallback_of", json_text(s.fallback_of.value_or(""))},
                      {"excluded_code", json_text(excluded_text(s))}, {"status", key.status},
                      {"code", plan.state.code}, {"reason", plan.state.reason},
                      {"category", core::to_string(plan.state.cat)},
                      {"decided_at", core::to_millis(plan.state.decided_at)}, {"deadline_at", json_int(plan.deadline)},
                      {"updated_at", core::to_millis(now)}, {"next_poll_at", json_int(plan.first_poll)},
                      {"day", key.day}});
      if (s.vendor_message_id)
        slots.push_back(vendor_message_key(key.vendor, *s.vendor_message_id) % message_slots);
    }
    // Before the sends exist for others: an event for one of them that another daemon holds meanwhile is either
    // committed before these locks are granted (and found below) or waits for this commit, and then finds its send.
    share_messages(std::move(slots));
    std::map<std::string, std::vector<std::pair<std::int64_t, std::string>>> inserted; // send_id: (id, message id)
    for (const auto& r : tx_->exec_prepared("insert_sends", rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
      inserted[r[1].as<std::string>()].emplace_back(r[0].as<std::int64_t>(), r[2].as<std::string>());

    std::vector<bool> fresh(ordered.size(), false);
    nlohmann::json events = nlohmann::json::array();
    nlohmann::json held_keys = nlohmann::json::array();
    std::vector<std::int64_t> grouped; // Alimtalk sends and failover legs, which may belong to a group
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      const auto& s = *ordered[i];
      auto found = inserted.find(s.send_id);
      if (found == inserted.end())
        continue;
      // The first of equal send_ids with the stored message id is the one inserted (the statement keeps order).
      auto& ids = found->second;
      auto which = std::find_if(ids.begin(), ids.end(),
                                [&](const auto& p) { return p.second == s.vendor_message_id.value_or(""); });
      if (which == ids.end())
        continue;
      auto& key = plans[i].key;
      key.id = which->first;
      ids.erase(which);
      fresh[i] = true;
      counts_.count(key, key.status, 1, key.leg ? 0 : 1);
      counts_.count_source(key, s.source_name, key.leg ? 0 : 1);
      const auto& e = plans[i].event;
      events.push_back({{"n", i}, {"send", key.id}, {"vendor", key.vendor},
                        {"vendor_message_id", json_text(s.vendor_message_id.value_or(""))},
                        {"dedupe_key", json_text(e.dedupe_key)}, {"source", core::to_string(e.source)},
                        {"outcome", core::to_string(e.outcome)}, {"code", e.code}, {"reason", e.reason},
                        {"category", core::to_string(e.cat)}, {"vendor_time", core::to_millis(e.vendor_time)},
                        {"received_at", core::to_millis(now)}, {"vendor_status", e.vendor_status},
                        {"vendor_code", e.vendor_code}, {"status_after", core::to_string(plans[i].state.current)},
                        {"code_after", plans[i].state.code}});
      if (s.vendor_message_id)
        held_keys.push_back({{"vendor", key.vendor}, {"id", *s.vendor_message_id}});
      if (key.leg || s.medium == core::medium::alimtalk)
        grouped.push_back(key.id);
    }
    if (events.empty())
      return fresh;
    tx_->exec_prepared0("insert_events", events.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::set<std::pair<std::string, std::string>> held;
    if (!held_keys.empty())
      for (const auto& r : tx_->exec_prepared("held_among", held_keys.dump(-1, ' ', false,
                                                                           nlohmann::json::error_handler_t::replace)))
        held.emplace(r[0].as<std::string>(), r[1].as<std::string>());
    std::set<std::int64_t> in_groups;
    if (!grouped.empty())
      for (const auto& r : tx_->exec_prepared("in_failover_among", bigint_array(grouped)))
        in_groups.insert(r[0].as<std::int64_t>());
    if (held.empty() && in_groups.empty())
      return fresh;
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      if (!fresh[i])
        continue;
      const auto& s = *ordered[i];
      const auto& key = plans[i].key;
      const bool in_failover = in_groups.count(key.id) > 0;
      if (s.vendor_message_id && held.count({key.vendor, *s.vendor_message_id}))
        attach_held({key.id, plans[i].state, in_failover, key}, key.vendor, *s.vendor_message_id, now, attached);
      if (in_failover) {
        const auto parent = group_parent(key.id);
        refresh_failover(key.id);
        settle_group(parent, key.id);
      }
    }
    return fresh;
  }

  /// Takes the message slots of `keys` (vendor_message_key values or slots) in shared mode, in one order.
  void share_messages(std::vector<std::int64_t> keys) {
    if (keys.empty())
      return;
    for (auto& k : keys)
      k %= message_slots;
    tx_->exec_prepared("share_messages", bigint_array(keys));
  }

  /// Takes the slot of a message alone: an event that found no send, before it looks again and holds the event.
  void lock_message(std::string_view vendor, const std::string& message_id) {
    // Keyed by the id as it comes: a held event with broken bytes locks what no registration can take.
    tx_->exec_prepared("lock_message", vendor_message_key(vendor, message_id) % message_slots);
  }

  std::optional<stored_send> load_send(const std::string& send_id) {
    auto r = tx_->exec_prepared("find_send_by_id", send_id);
    if (r.empty())
      return std::nullopt;
    const auto& q = r[0];
    stored_send s;
    s.id = q[0].as<std::int64_t>();
    s.type = q[1].as<std::string>();
    s.source_id = q[2].as<std::string>();
    s.source_name = q[3].as<std::string>();
    s.medium = q[4].as<std::string>();
    s.vendor = q[5].as<std::string>();
    s.contact = q[6].as<std::string>();
    s.requested_at = q[7].as<std::int64_t>();
    s.vendor_message_id = q[8].as<std::string>();
    s.fallback_of = q[9].as<std::string>();
    s.excluded_code = q[10].as<std::string>();
    s.state = read_state(q, 11);
    return s;
  }

  std::optional<send_ref> load_by_message(const std::string& vendor, const std::string& message_id) {
    if (!core::is_storable_utf8(message_id))
      return std::nullopt; // no send has such an id
    auto r = tx_->exec_prepared("find_send_by_message", vendor, message_id);
    if (r.empty())
      return std::nullopt;
    send_ref ref{r[0][0].as<std::int64_t>(), read_state(r[0], 1), r[0][6].as<bool>()};
    ref.key = read_key(r[0], 7, ref.id);
    return ref;
  }

  std::optional<rollup_key> load_key(std::int64_t id) {
    auto r = tx_->exec_prepared("load_key", id);
    if (r.empty())
      return std::nullopt;
    return read_key(r[0], 0, id);
  }

  /// The Alimtalk send of the group `id` belongs to, locked, with where it counts.
  std::optional<rollup_key> group_parent(std::int64_t id) {
    auto key = load_key(id);
    if (!key)
      return std::nullopt;
    if (!key->leg) {
      if (key->medium != "alimtalk")
        return std::nullopt;
      return key; // its own row: locked by whoever changes it
    }
    auto r = tx_->exec_prepared("parent_of", key->fallback_of);
    if (r.empty())
      return std::nullopt;
    return load_key(r[0][0].as<std::int64_t>());
  }

  void refresh_failover(std::int64_t id) {
    auto k = tx_->exec_prepared("failover_key", id);
    if (k.empty())
      return;
    auto parent_id = k[0][1].as<std::string>();
    if (parent_id.empty())
      parent_id = k[0][0].as<std::string>();
    auto parent = tx_->exec_prepared("failover_parent", parent_id);
    if (parent.empty())
      return;
    const auto parent_row = parent[0][0].as<std::int64_t>();
    const auto own = read_state(parent[0], 1);
    std::vector<core::send_state> legs;
    for (const auto& r : tx_->exec_prepared("failover_legs", parent_id))
      legs.push_back(read_state(r, 0));
    if (legs.empty()) {
      tx_->exec_prepared0("set_logical", nullptr, nullptr, nullptr, nullptr, parent_row);
      return;
    }
    const auto logical = core::logical_state(own, legs);
    tx_->exec_prepared0("set_logical", text(core::to_string(logical.current)), logical.code, logical.reason,
                        text(core::to_string(logical.cat)), parent_row);
  }

  void settle_group(const std::optional<rollup_key>& before, std::int64_t id) {
    if (auto after = group_parent(id))
      counts_.move_group(before, *after);
  }

  void write_state(const send_ref& send, const core::send_state& state, core::timestamp now) {
    const auto key = send.key ? send.key : load_key(send.id);
    const auto group_before = send.in_failover ? group_parent(send.id) : std::nullopt;
    const auto vendor = key ? core::parse_vendor(key->vendor) : std::nullopt;
    const bool stop_polling = vendor && core::state_stops_polling(*vendor, state.current);
    tx_->exec_prepared0("update_state", text(core::to_string(state.current)), state.code, state.reason,
                        text(core::to_string(state.cat)), std::int64_t{core::to_millis(state.decided_at)},
                        std::int64_t{core::to_millis(now)}, send.id, stop_polling);
    if (!key)
      return;
    if (send.in_failover) {
      const std::string status{core::to_string(state.current)};
      counts_.count(*key, key->status, -1, 0);
      counts_.count(*key, status, 1, 0);
      refresh_failover(send.id);
      settle_group(group_before, send.id);
    } else {
      count_state_change(*key, state);
    }
  }

  /// The roll-ups of a send outside any failover group that moves from key.status to `state`.
  void count_state_change(const rollup_key& key, const core::send_state& state) {
    const std::string status{core::to_string(state.current)};
    counts_.count(key, key.status, -1, -1);
    counts_.count(key, status, 1, 1);
  }

  bool append_event(std::optional<std::int64_t> send, std::string_view vendor, const std::string& message_id,
                    const core::event& e, core::timestamp received_at, const core::send_state* after,
                    const std::string& raw) {
    std::optional<std::string> status_after, code_after;
    if (after) {
      status_after = text(core::to_string(after->current));
      code_after = after->code;
    }
    // PostgreSQL's text takes neither NUL nor broken UTF-8, which a vendor's payload may hold: such bytes are
    // stored as U+FFFD (SQLite keeps them). A message id with them matches no send, whose ids are clean.
    const auto clean = [](const std::string& t) { return core::to_storable_utf8(t); };
    auto r = tx_->exec_prepared("insert_event", send, text(vendor), opt(clean(message_id)), opt(clean(e.dedupe_key)),
                                text(core::to_string(e.source)), text(core::to_string(e.outcome)), clean(e.code),
                                clean(e.reason), text(core::to_string(e.cat)),
                                std::int64_t{core::to_millis(e.vendor_time)}, std::int64_t{core::to_millis(received_at)},
                                clean(e.vendor_status), clean(e.vendor_code), status_after, code_after,
                                opt(clean(raw)));
    return r.affected_rows() == 1;
  }

  void apply_to(const send_ref& send, std::string_view vendor, const std::string& message_id, const core::event& e,
                core::timestamp received_at, const std::string& raw, core::timestamp now, events_outcome& out) {
    auto step = core::reconcile(send.state, e, now);
    const bool changes = std::find(step.effects.begin(), step.effects.end(), core::effect::update_state)
                         != step.effects.end();
    if (changes && send.key && !send.in_failover) {
      // The common case (a callback that moves a send outside any failover group): one statement.
      const auto& key = *send.key;
      const auto vendor_id = core::parse_vendor(key.vendor);
      const bool stop_polling = vendor_id && core::state_stops_polling(*vendor_id, step.state.current);
      const auto clean = [](const std::string& t) { return core::to_storable_utf8(t); };
      const auto r = tx_->exec_prepared1(
        "insert_event_and_state", send.id, text(vendor), opt(clean(message_id)), opt(clean(e.dedupe_key)),
        text(core::to_string(e.source)), text(core::to_string(e.outcome)), clean(e.code), clean(e.reason),
        text(core::to_string(e.cat)), std::int64_t{core::to_millis(e.vendor_time)},
        std::int64_t{core::to_millis(received_at)}, clean(e.vendor_status), clean(e.vendor_code),
        text(core::to_string(step.state.current)), step.state.code, opt(clean(raw)),
        text(core::to_string(step.state.current)), step.state.code, step.state.reason,
        text(core::to_string(step.state.cat)), std::int64_t{core::to_millis(step.state.decided_at)},
        std::int64_t{core::to_millis(now)}, stop_polling);
      if (r[0].as<std::int64_t>() == 0) {
        ++out.duplicates;
        return;
      }
      ++out.applied;
      count_state_change(key, step.state);
      for (auto fx : step.effects)
        if (fx == core::effect::correction)
          ++out.corrected;
      return;
    }
    if (!append_event(send.id, vendor, message_id, e, received_at, &step.state, raw)) {
      ++out.duplicates;
      return;
    }
    ++out.applied;
    for (auto fx : step.effects) {
      if (fx == core::effect::update_state)
        write_state(send, step.state, now);
      else if (fx == core::effect::correction)
        ++out.corrected;
    }
  }

  void attach_held(send_ref send, std::string_view vendor, const std::string& message_id, core::timestamp now,
                   events_outcome& outcome) {
    // The caller holds the message's slot (share_messages): an event for this message received at another daemon
    // meanwhile is either committed (and read below) or waits for this transaction, and then finds this send.
    auto held = tx_->exec_prepared("select_held", text(vendor), core::to_storable_utf8(message_id));
    if (held.empty())
      return;
    const auto before = send.state;
    for (const auto& r : held) {
      core::event e;
      e.source = core::parse_event_source(r[1].as<std::string>()).value_or(core::event_source::webhook);
      e.outcome = core::parse_status(r[2].as<std::string>()).value_or(core::status::pending);
      e.code = r[3].as<std::string>();
      e.reason = r[4].as<std::string>();
      e.cat = core::parse_category(r[5].as<std::string>()).value_or(core::category::unknown);
      e.vendor_time = core::from_millis(r[6].as<std::int64_t>());
      const auto received_at = core::from_millis(r[7].as<std::int64_t>());
      e.vendor_status = r[8].as<std::string>();
      e.vendor_code = r[9].as<std::string>();
      e.dedupe_key = r[10].as<std::string>();
      const auto raw = r[11].as<std::string>();
      tx_->exec_prepared0("delete_event", r[0].as<std::int64_t>());
      auto step = core::reconcile(send.state, e, received_at);
      append_event(send.id, vendor, message_id, e, received_at, &step.state, raw);
      for (auto fx : step.effects)
        if (fx == core::effect::correction)
          ++outcome.corrected;
      send.state = step.state;
      ++outcome.applied;
    }
    if (!(send.state == before))
      write_state(send, send.state, now);
  }

  purge_outcome purge_step(core::timestamp now, int retention_days, std::size_t limit) {
    purge_outcome out;
    // One daemon purges at a time; the others find the lock taken and leave the step to it.
    if (!tx_->exec_prepared1("try_purge_lock", static_cast<long long>(purge_lock))[0].as<bool>())
      return out;
    flush_counts(); // counts of the days about to go are deleted with them, not written after
    const auto first_kept = zone_.day_of(now - std::chrono::days{retention_days});
    const auto cutoff = std::int64_t{core::to_millis(zone_.start_of_day(first_kept))};
    std::vector<std::int64_t> ids;
    bool more_sends = false;
    for (const auto& r : tx_->exec_prepared("take_purged", cutoff, static_cast<std::int64_t>(limit + 1))) {
      if (ids.size() == limit) {
        more_sends = true;
        break;
      }
      ids.push_back(r[0].as<std::int64_t>());
      if (r[1].as<bool>())
        --counts_.pending[r[2].as<std::string>()];
      rollup_key k;
      k.day = r[3].as<std::int32_t>();
      k.type = r[4].as<std::string>();
      k.source_id = r[5].as<std::string>();
      if (core::month_of(k.day) >= core::month_of(first_kept) && r[6].as<bool>())
        counts_.count_source(k, "", -1);
    }
    const auto array = bigint_array(ids);
    if (!ids.empty()) {
      out.events += tx_->exec_prepared("purge_events", array).affected_rows();
      out.sends += tx_->exec_prepared("purge_sends", array).affected_rows();
    }
    const auto held = tx_->exec_prepared("purge_held", cutoff, static_cast<std::int64_t>(limit)).affected_rows();
    out.events += held;
    bool more_held = false;
    if (held == limit)
      more_held = tx_->exec_prepared1("held_left", cutoff)[0].as<bool>();
    tx_->exec_prepared0("purge_rollups", first_kept);
    tx_->exec_prepared0("purge_prices", first_kept);
    tx_->exec_prepared0("purge_sources", core::month_of(first_kept));
    out.more = more_sends || more_held;
    return out;
  }

  /// Adds the transaction's counts to their tables, in one order for every daemon (std::map's), so that two
  /// commits that touch the same rows wait for each other instead of deadlocking.
  void flush_counts() {
    for (const auto& [row, sums] : counts_.rollups)
      if (sums.first != 0 || sums.second != 0)
        tx_->exec_prepared0("rollup_add", std::get<0>(row), std::get<1>(row), std::get<2>(row), std::get<3>(row),
                            std::get<4>(row), sums.first, sums.second);
    for (const auto& [vendor, sends] : counts_.pending)
      if (sends != 0)
        tx_->exec_prepared0("pending_add", vendor, sends);
    for (const auto& [row, change] : counts_.sources)
      tx_->exec_prepared0("source_add", std::get<0>(row), std::get<1>(row), std::get<2>(row), change.second,
                          change.first);
    for (const auto& [row, micros] : counts_.prices)
      if (micros != 0)
        tx_->exec_prepared0("price_add", std::get<0>(row), std::get<1>(row), std::get<2>(row), std::get<3>(row),
                            micros);
    counts_.clear();
  }

  ledger_options options_;
  core::zone zone_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  tally counts_;
};

} // namespace

result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options) {
  const auto zone = core::zone::locate(options.zone);
  if (!zone)
    return ledger_error{fault::corrupt, "the time zone " + options.zone + " is not in the system's tz database"};
  const std::string doing = "cannot open the ledger";
  auto w = std::make_unique<writer>(options, *zone);
  try {
    w->connect_now();
    if (auto refused = migrate(w->connection(), *zone, options.on_progress))
      return ledger_error{fault::corrupt, doing + ": PostgreSQL (" + redact(options.postgresql.url) + "): " + *refused};
  } catch (const std::exception& e) {
    return describe(e, doing, options.postgresql.url);
  }
  return std::unique_ptr<ledger_writer>{std::move(w)};
}

} // namespace deliveryd::db::postgresql
