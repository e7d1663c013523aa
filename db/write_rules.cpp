#include "db/write_rules.hpp"

#include "core/codes.hpp"
#include "core/money.hpp"
#include "core/month.hpp"
#include "adapters/crypto.hpp"

namespace deliveryd::db {

using adapters::intake::rejection;
using adapters::intake::send_request;

namespace {

std::string text(std::string_view v) { return std::string{v}; }

bool has_source_scope(const rollup_key& key) {
  return !key.source_id.empty() && (key.type == "campaign" || key.type == "one_time");
}

} // namespace

std::string vendor_text(const send_request& s) { return s.vendor ? text(core::to_string(*s.vendor)) : ""; }

std::string excluded_text(const send_request& s) { return s.excluded ? std::to_string(*s.excluded) : ""; }

core::event intake_event(const send_request& s, core::timestamp now) {
  core::event e;
  e.source = core::event_source::intake;
  e.vendor_time = now;
  if (s.excluded) {
    e.outcome = core::status::excluded;
    e.code = std::to_string(*s.excluded);
    const auto* info = core::find_code(e.code);
    e.cat = info ? info->cat : core::category::unknown;
    e.reason = core::reason_for(e.outcome, e.code, "", e.cat);
  }
  return e;
}

std::pair<repost, std::string> compare(const stored_send& old, const send_request& s) {
  auto differs = [](const std::string& stored, const std::string& given) {
    return !given.empty() && given != stored;
  };
  if (text(core::to_string(s.type)) != old.type) return {repost::conflict, "type"};
  if (text(core::to_string(s.medium)) != old.medium) return {repost::conflict, "medium"};
  if (s.contact != old.contact) return {repost::conflict, "contact"};
  if (core::to_millis(s.requested_at) != old.requested_at) return {repost::conflict, "requested_at"};
  if (differs(old.source_id, s.source_id)) return {repost::conflict, "source_id"};
  if (differs(old.source_name, s.source_name)) return {repost::conflict, "source_name"};
  if (differs(old.vendor, vendor_text(s))) return {repost::conflict, "vendor"};
  if (differs(old.excluded_code, excluded_text(s))) return {repost::conflict, "excluded"};
  if (differs(old.fallback_of, s.fallback_of.value_or(""))) return {repost::conflict, "fallback_of"};
  if (s.vendor_message_id && !old.vendor_message_id.empty() && *s.vendor_message_id != old.vendor_message_id)
    return {repost::conflict, "vendor_message_id"};
  if (s.vendor_message_id && old.vendor_message_id.empty())
    return {repost::update, ""};
  return {repost::duplicate, ""};
}

rejection conflict(const send_request& s, const std::string& what) {
  return {s.index, s.send_id, "conflict",
          "send " + s.send_id + " is already registered with a different " + what
            + "; a send_id can only be re-posted unchanged or with a vendor_message_id it did not have"};
}

std::optional<std::int64_t> first_poll_at(const poll_table& polls, std::optional<core::vendor> vendor,
                                          core::timestamp requested_at, core::timestamp now) {
  if (!vendor)
    return std::nullopt;
  auto it = polls.find(*vendor);
  if (it == polls.end())
    return std::nullopt;
  return core::to_millis((it->second.after_registration ? now : requested_at) + it->second.delay);
}

new_send plan_new_send(const send_request& s, core::timestamp now, const deadline_table& deadlines,
                       const poll_table& polls, const core::zone& zone) {
  new_send n;
  n.event = intake_event(s, now);
  n.state = core::state_of(n.event);
  if (n.state.current == core::status::pending && s.vendor)
    if (auto it = deadlines.find(*s.vendor); it != deadlines.end())
      n.deadline = core::to_millis(s.requested_at + it->second);
  if (n.state.current == core::status::pending && s.vendor_message_id)
    n.first_poll = first_poll_at(polls, s.vendor, s.requested_at, now);
  auto& key = n.key;
  key.day = zone.day_of(s.requested_at);
  key.type = text(core::to_string(s.type));
  key.source_id = s.source_id;
  key.medium = text(core::to_string(s.medium));
  key.fallback_of = s.fallback_of.value_or("");
  key.leg = s.fallback_of.has_value();
  key.status = text(core::to_string(n.state.current));
  key.effective = key.status;
  key.send_id = s.send_id;
  key.vendor = vendor_text(s);
  return n;
}

void tally::count(const rollup_key& key, const std::string& status, int sends, int logical) {
  auto add = [&](const std::string& scope, const std::string& scope_id) {
    auto& sums = rollups[rollup_id{scope, scope_id, key.day, key.medium, status}];
    sums.first += sends;
    sums.second += logical;
  };
  add("all", "");
  if (has_source_scope(key))
    add(key.type, key.source_id);
  if (sends != 0 && status == "pending" && !key.vendor.empty())
    pending[key.vendor] += sends;
}

void tally::count_source(const rollup_key& key, const std::string& name, int logical) {
  if (!has_source_scope(key))
    return;
  auto& [sends, latest] = sources[source_id{core::month_of(key.day), key.type, key.source_id}];
  sends += logical;
  if (!name.empty())
    latest = name;
}

void tally::move_group(const std::optional<rollup_key>& before, const rollup_key& after) {
  const auto& was = before ? before->effective : after.status;
  if (was == after.effective)
    return;
  count(after, was, 0, -1);
  count(after, after.effective, 0, 1);
}

void tally::count_price(const rollup_key& key, const std::string& old_price, const std::string& old_unit,
                        const std::string& price, const std::string& unit) {
  auto add = [&](const std::string& currency, std::int64_t micros) {
    prices[price_id{"all", "", key.day, currency}] += micros;
    if (has_source_scope(key))
      prices[price_id{key.type, key.source_id, key.day, currency}] += micros;
  };
  if (auto old = core::abs_micros(old_price); old && !old_unit.empty())
    add(old_unit, -*old);
  if (auto now = core::abs_micros(price); now && !unit.empty())
    add(unit, *now);
}

std::int64_t vendor_message_key(std::string_view vendor, std::string_view vendor_message_id) {
  std::string input;
  input.reserve(vendor.size() + 1 + vendor_message_id.size());
  input.append(vendor).push_back('\0');
  input.append(vendor_message_id);
  const auto digest = adapters::sha256(input);
  std::int64_t key = 0;
  for (int i = 0; i < 6; ++i)
    key = (key << 8) | digest[static_cast<std::size_t>(i)];
  return key;
}

} // namespace deliveryd::db
