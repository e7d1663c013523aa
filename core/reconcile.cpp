/// The reconciliation state machine. The state of a send is the maximum, under one total order, of the
/// states its events set on their own; a maximum does not depend on order or duplicates.
///
/// The total order compares, in this sequence:
///   1. rank of the status: pending 0 < uncertain 1 < failed 2 < sent 3 < excluded 4;
///   2. for `failed` only: the later `decided_at` (vendor event time) is greater;
///   3. the greater `code`, then the greater `reason` (both compared byte-wise, as std::string and SQLite's
///      BINARY collation do), then the greater `category` (its enum value);
///   4. for every status but `failed`: the EARLIER `decided_at` is greater (a send is sent, excluded or
///      uncertain from the first event that said so).
/// Every field of `send_state` takes part, so two states compare equal only when they are equal.

#include "core/reconcile.hpp"

#include "core/codes.hpp"

namespace deliveryd::core {
namespace {

// The fields of a state, viewed without copying: what the total order compares.
struct state_key {
  status current;
  std::string_view code;
  std::string_view reason;
  category cat;
  timestamp decided_at;
};

// The category a failure or exclusion carries: its own, else the code table's, else unknown.
category failure_category(std::string_view code, category given) noexcept {
  if (given != category::none)
    return given;
  if (const auto* row = find_code(code))
    return row->cat;
  return category::unknown;
}

// `reason_for` without the copy; the view points into the code table, `vendor_text` or static text.
std::string_view reason_view(status outcome, std::string_view code, std::string_view vendor_text,
                             category cat) noexcept {
  if (outcome == status::sent || outcome == status::pending)
    return {};
  if (const auto* row = find_code(code))
    return row->reason;
  if (!vendor_text.empty())
    return vendor_text;
  return describe(cat == category::none ? category::unknown : cat);
}

// The key of the state `e` sets on its own (see `state_of`).
state_key key_of(const event& e) noexcept {
  switch (e.outcome) {
    case status::pending:
      return {status::pending, {}, {}, category::none, timestamp{}};
    case status::sent:
      return {status::sent, {}, {}, category::none, e.vendor_time};
    case status::uncertain:
      return {status::uncertain, uncertain_code,
              reason_view(status::uncertain, uncertain_code, {}, category::unknown), category::unknown,
              e.vendor_time};
    case status::failed:
    case status::excluded:
      break;
  }
  const category cat = failure_category(e.code, e.cat);
  return {e.outcome, e.code, reason_view(e.outcome, e.code, e.reason, cat), cat, e.vendor_time};
}

state_key key_of(const send_state& s) noexcept {
  return {s.current, s.code, s.reason, s.cat, s.decided_at};
}

// -1, 0 or 1 as `a` is less than, equal to or greater than `b`.
template <class T>
int compare(const T& a, const T& b) noexcept {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// True when `a` is strictly greater than `b` in the total order described at the top of this file.
bool greater(const state_key& a, const state_key& b) noexcept {
  if (const int by_rank = compare(rank(a.current), rank(b.current)); by_rank != 0)
    return by_rank > 0;
  if (a.current == status::failed) {
    if (const int by_time = compare(a.decided_at, b.decided_at); by_time != 0)
      return by_time > 0;
  }
  if (const int by_code = a.code.compare(b.code); by_code != 0)
    return by_code > 0;
  if (const int by_reason = a.reason.compare(b.reason); by_reason != 0)
    return by_reason > 0;
  if (const int by_cat = compare(a.cat, b.cat); by_cat != 0)
    return by_cat > 0;
  return a.current != status::failed && a.decided_at < b.decided_at;
}

} // namespace

int rank(status value) noexcept {
  switch (value) {
    case status::pending:
      return 0;
    case status::uncertain:
      return 1;
    case status::failed:
      return 2;
    case status::sent:
      return 3;
    case status::excluded:
      return 4;
  }
  return 0;
}

bool outranks(const event& candidate, const send_state& current) noexcept {
  return greater(key_of(candidate), key_of(current));
}

send_state state_of(const event& e) {
  const state_key key = key_of(e);
  return send_state{key.current, std::string{key.code}, std::string{key.reason}, key.cat, key.decided_at};
}

std::string reason_for(status outcome, std::string_view code, std::string_view vendor_text, category cat) {
  return std::string{reason_view(outcome, code, vendor_text, cat)};
}

transition reconcile(const std::optional<send_state>& current, const event& e, timestamp /*now*/) {
  if (!current)
    return transition{send_state{}, {effect::hold}};
  transition result{*current, {effect::append_history}};
  if (!outranks(e, *current))
    return result;
  result.state = state_of(e);
  result.effects.push_back(effect::update_state);
  const bool definitive = result.state.current == status::sent || result.state.current == status::failed;
  if (current->current == status::uncertain && definitive)
    result.effects.push_back(effect::correction);
  return result;
}

event deadline_event(timestamp now) {
  event e;
  e.source = event_source::deadline;
  e.outcome = status::uncertain;
  e.code = std::string{uncertain_code};
  e.reason = reason_for(status::uncertain, uncertain_code, {}, category::unknown);
  e.cat = category::unknown;
  e.vendor_time = now;
  e.dedupe_key = "deadline";
  return e;
}

bool deadline_due(const send_state& current, timestamp requested_at, std::chrono::milliseconds uncertain_after,
                  timestamp now) noexcept {
  return current.current == status::pending && now >= requested_at + uncertain_after;
}

} // namespace deliveryd::core
