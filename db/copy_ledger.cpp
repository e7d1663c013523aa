// Copying an SQLite ledger into a PostgreSQL one: what a run does given what the target holds (start, go on,
// nothing, or refuse), then the chunks of sends, the held events and the counts, each step a value or an error.
#include "db/copy_ledger.hpp"

#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "core/redact.hpp"
#include "db/ack_log.hpp"
#include "db/copy_rows.hpp"
#include "db/postgresql/import.hpp"
#include "db/sqlite/copy_source.hpp"

namespace deliveryd::db {

const copy_table& sends_table() {
  static const copy_table table{
    "sends",
    {"id", "send_id", "type", "source_id", "source_name", "medium", "vendor", "contact", "requested_at",
     "vendor_message_id", "fallback_of", "excluded_code", "status", "code", "reason", "category", "decided_at",
     "vendor_price", "vendor_price_unit", "deadline_at", "updated_at", "next_poll_at", "poll_attempts",
     "logical_status", "logical_code", "logical_reason", "logical_category", "day"}};
  return table;
}

const copy_table& events_table() {
  static const copy_table table{
    "events",
    {"id", "send", "vendor", "vendor_message_id", "dedupe_key", "source", "outcome", "code", "reason", "category",
     "vendor_time", "received_at", "vendor_status", "vendor_code", "status_after", "code_after", "raw"}};
  return table;
}

const std::vector<copy_table>& count_tables() {
  static const std::vector<copy_table> tables{
    {"rollups", {"scope", "scope_id", "day", "medium", "status", "sends", "logical"}},
    {"price_rollups", {"scope", "scope_id", "day", "currency", "micros"}},
    {"pending_sends", {"vendor", "sends"}},
    {"sources", {"month", "scope", "scope_id", "name", "logical"}},
  };
  return tables;
}

namespace {

/// What a run does.
enum class copy_step {
  start,  ///< a new copy into an empty ledger
  resume, ///< the copy of this source goes on where it stopped
  done,   ///< the copy of this source has finished: nothing to do
};

/// What a run does with a target in `state`, for a source `from` whose census is `census`; an error (nothing
/// written) when it must refuse.
result<copy_step> next_step(const std::string& from, const copy_census& census,
                            const postgresql::import_state& state, const std::string& where) {
  const auto refuse = [&](const std::string& why) {
    return ledger_error{fault::corrupt, "cannot copy into " + where + ": " + why};
  };
  if (!state.copy) {
    if (state.sends > 0 || state.events > 0)
      return refuse("it holds " + std::to_string(state.sends) + " sends and " + std::to_string(state.events)
                    + " events that did not come from a copy (daemons write to it?); copy-ledger copies into a "
                      "new, empty ledger only");
    return copy_step::start;
  }
  const auto& mark = *state.copy;
  if (mark.fingerprint == census.fingerprint)
    return mark.finished ? copy_step::done : copy_step::resume;
  if (mark.finished)
    return refuse("it holds a finished copy of " + mark.source + ", which is not what " + from
                  + " holds now; copy-ledger copies into a new, empty ledger only");
  if (mark.source == from)
    return refuse(from + " changed since its copy began (a daemon wrote to it?): stop every daemon on it, empty "
                         "the PostgreSQL ledger (drop and create its database) and copy again");
  return refuse("a copy of " + mark.source + " into it has not finished; run copy-ledger --from " + mark.source
                + " to finish it (or empty the PostgreSQL ledger to copy another)");
}

/// Creates or migrates the ledger the normal way, its days counted in the source's zone.
result<void> make_schema(const ledger_options& target, const std::string& zone) {
  auto options = target;
  options.zone = zone;
  options.sync = durability::on_commit;
  auto writer = open_writer(options);
  if (!writer)
    return writer.error();
  return {};
}

/// One run, from an opened source and target on.
class copy_run {
public:
  copy_run(const copy_options& options, sqlite::copy_source& source, postgresql::import_target& target)
    : options_{options}, source_{source}, target_{target}, census_{source.census()} {}

  /// Copies the sends after `sends_after` and the held events after `held_after`, then the counts.
  result<copy_outcome> run(std::int64_t sends_after, std::int64_t held_after, copy_progress progress) {
    progress_ = progress;
    tell();
    auto sends = copy_sends(sends_after);
    if (!sends)
      return sends.error();
    if (!*sends)
      return outcome();
    auto held = copy_held(held_after);
    if (!held)
      return held.error();
    if (!*held)
      return outcome();
    if (auto finished = finish(); !finished)
      return finished.error();
    auto out = outcome();
    out.finished = true;
    return out;
  }

private:
  /// True when every send is copied, false when max_chunks stopped it first.
  result<bool> copy_sends(std::int64_t after) {
    for (;;) {
      if (limit_reached())
        return false;
      auto chunk = source_.sends_after(after, options_.chunk_sends);
      if (!chunk)
        return chunk.error();
      if (chunk->sends.empty())
        return true;
      if (auto added = target_.add_chunk(*chunk, after); !added)
        return added.error();
      after = chunk->last_id;
      step(chunk->sends.size(), chunk->events.size());
    }
  }

  /// True when every held event is copied, false when max_chunks stopped it first.
  result<bool> copy_held(std::int64_t after) {
    for (;;) {
      if (limit_reached())
        return false;
      auto held = source_.held_after(after, options_.chunk_sends);
      if (!held)
        return held.error();
      if (held->empty())
        return true;
      if (auto added = target_.add_held(*held, after); !added)
        return added.error();
      after = std::stoll(*held->back().front());
      step(0, held->size());
    }
  }

  result<void> finish() {
    std::vector<std::pair<copy_table, std::vector<copy_row>>> tables;
    for (const auto& table : count_tables()) {
      auto rows = source_.rows_of(table);
      if (!rows)
        return rows.error();
      tables.emplace_back(table, std::move(*rows));
    }
    auto now = source_.census_now();
    if (!now)
      return now.error();
    if (now->fingerprint != census_.fingerprint)
      return ledger_error{fault::corrupt, options_.from + " changed while it was copied (is a daemon running on "
                                                          "it?): stop it, empty the PostgreSQL ledger and copy again"};
    return target_.finish(tables, census_);
  }

  bool limit_reached() const { return options_.max_chunks != 0 && chunks_ >= options_.max_chunks; }

  void step(std::size_t sends, std::size_t events) {
    ++chunks_;
    progress_.sends += static_cast<std::int64_t>(sends);
    progress_.events += static_cast<std::int64_t>(events);
    tell();
  }

  void tell() const {
    if (options_.on_progress)
      options_.on_progress(progress_);
  }

  /// What the run did so far.
  copy_outcome outcome() const {
    copy_outcome out;
    out.sends = progress_.sends;
    out.events = progress_.events;
    out.held = census_.held;
    out.zone = census_.zone;
    return out;
  }

  const copy_options& options_;
  sqlite::copy_source& source_;
  postgresql::import_target& target_;
  copy_census census_;
  copy_progress progress_;
  std::size_t chunks_ = 0;
};

} // namespace

/// An error when the ack log beside the SQLite ledger `from` holds acknowledged webhooks its ledger has not
/// applied (a daemon that crashed, or still runs): the copy would lack them. A folder that names another ledger
/// holds none of this one's (the daemon refuses to start beside it), and its positions are not this ledger's.
result<void> unapplied_webhooks(const std::string& from) {
  std::uint64_t applied = 0;
  std::string id;
  try {
    SQLite::Database db{from, SQLite::OPEN_READONLY};
    SQLite::Statement q{db, "SELECT key, value FROM meta WHERE key IN ('ack_log_position', 'ledger_id')"};
    while (q.executeStep()) {
      if (q.getColumn(0).getString() == "ledger_id")
        id = q.getColumn(1).getString();
      else
        applied = std::stoull(q.getColumn(1).getString());
    }
  } catch (const std::exception& e) {
    return ledger_error{fault::unavailable, "cannot read " + from + ": " + e.what()};
  }
  const auto dir = from + ".acklog";
  auto owner = ack_log::ledger_id_in(dir);
  if (!owner)
    return owner.error();
  if (!id.empty() && !owner->empty() && *owner != id)
    return {};
  auto behind = ack_log::unapplied(dir, applied);
  if (!behind)
    return behind.error();
  if (*behind > 0)
    return ledger_error{fault::corrupt, "the ack log " + from + ".acklog holds " + std::to_string(*behind) +
                                          " bytes of acknowledged webhooks that " + from + " does not have yet (a "
                                          "daemon was killed, or still runs): start deliveryd on it once and stop it "
                                          "with systemctl stop, which applies them, then copy"};
  return {};
}

result<copy_outcome> copy_ledger(const copy_options& options) {
  if (options.target.kind != backend::postgresql)
    return ledger_error{fault::corrupt, "copy-ledger copies into a PostgreSQL ledger only"};
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(options.from, ec);
  const auto from = ec ? options.from : absolute.lexically_normal().string();
  auto source = sqlite::copy_source::open(from);
  if (!source)
    return source.error();
  if (auto behind = unapplied_webhooks(from); !behind)
    return behind.error();
  const auto census = (*source)->census();
  const auto& url = options.target.postgresql.url;
  auto target = postgresql::import_target::connect(url);
  if (!target)
    return target.error();
  auto state = (*target)->state();
  if (!state)
    return state.error();
  auto step = next_step(from, census, *state, "PostgreSQL (" + core::redact_conninfo(url) + ")");
  if (!step)
    return step.error();
  copy_progress progress{state->sends, census.sends, state->events, census.events};
  if (*step == copy_step::done) {
    copy_outcome out;
    out.already_done = out.finished = true;
    out.sends = state->sends;
    out.events = state->events;
    out.held = census.held;
    out.zone = census.zone;
    return out;
  }
  std::int64_t sends_after = 0, held_after = 0;
  if (*step == copy_step::start) {
    if (auto made = make_schema(options.target, census.zone); !made)
      return made.error();
    if (auto begun = (*target)->begin(from, census); !begun)
      return begun.error();
  } else {
    sends_after = state->copy->sends_after;
    held_after = state->copy->held_after;
  }
  copy_run run{options, **source, **target};
  auto out = run.run(sends_after, held_after, progress);
  if (out)
    out->resumed = *step == copy_step::resume;
  return out;
}

} // namespace deliveryd::db
