// The ledger writer's operations: register sends, apply vendor events and polls, fire deadlines.
#include <algorithm>
#include <stdexcept>

#include "core/codes.hpp"
#include "db/sqlite/schema.hpp"
#include "db/sqlite/store_impl.hpp"

namespace deliveryd::db::sqlite {

using adapters::intake::rejection;
using adapters::intake::send_request;

namespace {

std::string text(std::string_view v) { return std::string{v}; }

} // namespace

intake_outcome ledger_store::register_sends(const std::vector<send_request>& sends, std::vector<rejection> rejected,
                                            core::timestamp now) {
  auto& d = *self_;
  intake_outcome out;
  events_outcome attached; // held events applied on the way: not part of the intake answer
  for (const auto& s : sends) {
    // A new send is the common case: insert_new finds out (the insert meets a taken send_id, a probe of the
    // message key a taken vendor id), which spares reading the send. Only a send that is already there is read
    // and compared.
    if (insert_new(s, now, attached)) {
      ++out.accepted;
      continue;
    }
    const auto vendor = vendor_text(s);
    auto old = d.load_send(s.send_id);
    if (s.vendor_message_id) {
      auto owner = d.load_by_message(vendor, *s.vendor_message_id);
      if (owner && (!old || old->id != owner->id)) {
        rejected.push_back(conflict(s, "vendor_message_id (" + *s.vendor_message_id
                                         + " already belongs to another send)"));
        continue;
      }
    }
    if (!old) // the insert met a unique key that neither lookup finds: the schema and this code disagree
      throw std::logic_error{"send " + s.send_id + " could not be inserted, yet no send holds its keys"};
    auto [kind, field] = compare(*old, s);
    if (kind == repost::conflict) {
      rejected.push_back(conflict(s, field));
    } else if (kind == repost::duplicate) {
      ++out.duplicates;
    } else {
      auto& q = d.set_vendor_message_id;
      q.reset();
      q.clearBindings();
      q.bind(1, *s.vendor_message_id);
      q.bind(2, static_cast<std::int64_t>(core::to_millis(now)));
      // Polling starts once the vendor's id is known.
      if (old->state.current == core::status::pending || old->state.current == core::status::uncertain)
        if (auto first = first_poll_at(d.polls, core::parse_vendor(old->vendor), core::from_millis(old->requested_at), now))
          q.bind(3, static_cast<std::int64_t>(*first));
      std::optional<std::int64_t> message_key;
      if (!old->vendor.empty()) { // a send without a vendor has no message key, as in insert_new
        message_key = vendor_message_key(old->vendor, *s.vendor_message_id);
        q.bind(4, *message_key);
      }
      q.bind(5, static_cast<std::int64_t>(old->id));
      q.exec();
      if (message_key)
        d.keys.put(*message_key, old->id);
      auto e = intake_event(s, now);
      e.outcome = old->state.current; // an update changes no state: the history shows it as it was
      e.code = old->state.code;
      d.append_event(old->id, old->vendor, *s.vendor_message_id, e, now, &old->state, "");
      const bool in_failover = old->medium == "alimtalk" || !old->fallback_of.empty();
      d.attach_held({old->id, old->state, in_failover}, old->vendor, *s.vendor_message_id, now, attached);
      ++out.updated;
    }
  }
  std::stable_sort(rejected.begin(), rejected.end(),
                   [](const rejection& a, const rejection& b) { return a.index < b.index; });
  out.rejected = std::move(rejected);
  d.settle_autocommit();
  return out;
}

bool ledger_store::insert_new(const send_request& s, core::timestamp now, events_outcome& attached) {
  auto& d = *self_;
  auto plan = plan_new_send(s, now, d.deadlines, d.polls, *d.zone);
  const auto& e = plan.event;
  const auto& state = plan.state;
  auto& key = plan.key;
  const auto& vendor = key.vendor;
  // The message key's index is not unique (keys may collide), so a taken vendor id is found by a probe; it
  // descends to the leaf that the insert then writes.
  std::optional<std::int64_t> message_key;
  if (s.vendor && s.vendor_message_id) {
    message_key = vendor_message_key(vendor, *s.vendor_message_id);
    if (d.is_message_taken(*message_key, vendor, *s.vendor_message_id))
      return false;
  }
  auto& q = d.insert_send;
  q.reset();
  q.clearBindings();
  q.bind(1, s.send_id);
  q.bind(2, key.type);
  if (!s.source_id.empty()) q.bind(3, s.source_id);
  if (!s.source_name.empty()) q.bind(4, s.source_name);
  q.bind(5, key.medium);
  if (s.vendor) q.bind(6, vendor);
  q.bind(7, s.contact);
  q.bind(8, static_cast<std::int64_t>(core::to_millis(s.requested_at)));
  if (s.vendor_message_id) q.bind(9, *s.vendor_message_id);
  if (s.fallback_of) q.bind(10, *s.fallback_of);
  if (s.excluded) q.bind(11, excluded_text(s));
  q.bind(12, key.status);
  q.bind(13, state.code);
  q.bind(14, state.reason);
  q.bind(15, text(core::to_string(state.cat)));
  q.bind(16, static_cast<std::int64_t>(core::to_millis(state.decided_at)));
  if (plan.deadline) q.bind(17, static_cast<std::int64_t>(*plan.deadline));
  q.bind(18, static_cast<std::int64_t>(core::to_millis(now)));
  if (plan.first_poll) q.bind(19, static_cast<std::int64_t>(*plan.first_poll));
  q.bind(20, key.day);
  if (message_key)
    q.bind(21, static_cast<std::int64_t>(*message_key));
  if (q.exec() == 0)
    return false; // ON CONFLICT DO NOTHING: its send_id is taken
  key.id = d.db.getLastInsertRowid();
  if (message_key)
    d.keys.put(*message_key, key.id);
  d.counts.count(key, key.status, 1, key.leg ? 0 : 1);
  d.counts.count_source(key, s.source_name, key.leg ? 0 : 1);
  d.append_event(key.id, vendor, s.vendor_message_id.value_or(""), e, now, &state, "");
  // Only a leg or an Alimtalk send can concern a failover group (a new Alimtalk send only when legs came before
  // it); in_failover_sql decides, as it does for every later state change.
  bool in_failover = false;
  if (key.leg || s.medium == core::medium::alimtalk) {
    auto& group = d.in_failover_of;
    group.reset();
    group.bind(1, static_cast<std::int64_t>(key.id));
    in_failover = group.executeStep() && group.getColumn(0).getInt() != 0;
    group.reset();
  }
  if (s.vendor_message_id)
    d.attach_held({key.id, state, in_failover, key}, vendor, *s.vendor_message_id, now, attached);
  if (in_failover) {
    // The group's logical state may change now that this send is here (legs that came first, or a new leg).
    const auto parent = d.group_parent(key.id);
    d.refresh_failover(key.id);
    d.settle_group(parent, key.id);
  }
  return true;
}

events_outcome ledger_store::apply_events(const std::vector<vendor_event>& events, core::timestamp now) {
  auto& d = *self_;
  events_outcome out;
  for (const auto& v : events) {
    const auto vendor = text(core::to_string(v.vendor));
    auto send = d.load_by_message(vendor, v.vendor_message_id);
    if (!send) {
      if (d.append_event(std::nullopt, vendor, v.vendor_message_id, v.event, v.received_at, nullptr, v.raw))
        ++out.held;
      else
        ++out.duplicates;
      continue;
    }
    d.apply_to(*send, vendor, v.vendor_message_id, v.event, v.received_at, v.raw, now, out);
  }
  d.settle_autocommit();
  return out;
}

events_outcome ledger_store::apply_polls(const std::vector<poll_update>& polls, core::timestamp now) {
  auto& d = *self_;
  events_outcome out;
  for (const auto& p : polls) {
    const auto vendor = text(core::to_string(p.vendor));
    auto send = d.load_by_message(vendor, p.vendor_message_id);
    if (!send)
      continue; // polls only fetch registered sends; one purged meanwhile has nothing left to update
    if (p.event)
      d.apply_to(*send, vendor, p.vendor_message_id, *p.event, p.received_at, p.raw, now, out);
    if (!p.price.empty()) {
      auto& old = d.price_of;
      old.reset();
      old.bind(1, static_cast<std::int64_t>(send->id));
      if (old.executeStep()) {
        const auto old_price = old.getColumn(0).getString();
        const auto old_unit = old.getColumn(1).getString();
        old.reset();
        if (old_price != p.price || old_unit != p.price_unit)
          if (auto key = d.load_key(send->id))
            d.counts.count_price(*key, old_price, old_unit, p.price, p.price_unit);
      }
      old.reset();
    }
    auto& q = d.set_poll;
    q.reset();
    q.clearBindings();
    if (p.next_poll_at)
      q.bind(1, static_cast<std::int64_t>(core::to_millis(*p.next_poll_at)));
    q.bind(2, p.attempts);
    if (!p.price.empty()) {
      q.bind(3, p.price);
      q.bind(4, p.price_unit);
    }
    q.bind(5, static_cast<std::int64_t>(send->id));
    q.exec();
  }
  d.settle_autocommit();
  return out;
}

deadline_outcome ledger_store::fire_deadlines(core::timestamp now, std::size_t limit,
                                              std::map<core::vendor, std::size_t>* per_vendor) {
  auto& d = *self_;
  std::vector<send_ref> due;
  std::vector<std::int64_t> settled; // final before their deadline: only the deadline is cleared
  auto& q = d.select_due;
  q.reset();
  q.bind(1, static_cast<std::int64_t>(core::to_millis(now)));
  q.bind(2, static_cast<std::int64_t>(limit));
  while (q.executeStep()) {
    send_ref ref{q.getColumn(0).getInt64(), read_state(q, 1), q.getColumn(6).getInt() != 0};
    if (ref.state.current != core::status::pending) {
      settled.push_back(ref.id);
      continue;
    }
    due.push_back(std::move(ref));
    if (per_vendor)
      if (auto v = core::parse_vendor(q.getColumn(7).getString()))
        ++(*per_vendor)[*v];
  }
  q.reset();
  auto clear_deadline = [&d](std::int64_t id) {
    auto& clear = d.clear_deadline;
    clear.reset();
    clear.bind(1, static_cast<std::int64_t>(id));
    clear.exec();
  };
  const auto e = core::deadline_event(now);
  for (const auto& ref : due) {
    auto step = core::reconcile(ref.state, e, now);
    core::event stored = e;
    stored.dedupe_key.clear(); // a deadline fires once per send: its row's deadline_at is cleared below
    d.append_event(ref.id, "", "", stored, now, &step.state, "");
    d.write_state(ref, step.state, now);
    clear_deadline(ref.id);
  }
  for (auto id : settled)
    clear_deadline(id);
  d.settle_autocommit();
  return {due.size(), due.size() + settled.size() == limit};
}

} // namespace deliveryd::db::sqlite
