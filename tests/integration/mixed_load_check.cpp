// check_journal: what the ledger file holds of a mixed load, against what the answers of its requests allow.
#include <map>
#include <set>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "mixed_load.hpp"

namespace it {

namespace {

/// What the requests of the journal say about one send.
struct send_outcomes {
  bool intake_posted = false;   ///< an intake request carried it
  answer intake = answer::none; ///< that request's answer
  bool report_acked = false;    ///< a post of its report was answered 2xx
  bool report_unanswered = false;
  bool report_refused = false;
};

/// What the ledger holds of one send.
struct observed_send {
  bool stored = false;
  std::string status, code;
  std::string mismatch;   ///< the first registered field that differs, "" when all are as posted
  int webhook_events = 0; ///< events of source webhook attached to it
  int held_events = 0;    ///< events held for its vendor message id (no send)

  /// Its report is in the ledger: attached to it, or held when it is not stored.
  int reports() const { return webhook_events + held_events; }
};

/// Prepared reads of the ledger.
class ledger_view {
public:
  explicit ledger_view(const fs::path& ledger)
    : db_{ledger.string(), SQLite::OPEN_READONLY},
      send_{db_, "SELECT id, status, code, type, medium, vendor, contact, requested_at, vendor_message_id "
                 "FROM sends WHERE send_id = ?"},
      webhook_{db_, "SELECT count(*) FROM events WHERE send = ? AND source = 'webhook'"},
      held_{db_, "SELECT count(*) FROM events WHERE send IS NULL AND vendor = ? AND vendor_message_id = ?"} {}

  /// Whether a send id is registered.
  bool exists(const std::string& send_id) {
    send_.reset();
    send_.bind(1, send_id);
    return send_.executeStep();
  }

  observed_send observe(const std::string& send_id, const load_send& s) {
    observed_send o;
    held_.reset();
    held_.bind(1, s.vendor);
    held_.bind(2, s.vendor_message_id);
    held_.executeStep();
    o.held_events = held_.getColumn(0).getInt();
    send_.reset();
    send_.bind(1, send_id);
    if (!send_.executeStep())
      return o;
    o.stored = true;
    o.status = send_.getColumn(1).getString();
    o.code = send_.getColumn(2).getString();
    o.mismatch = mismatch_of(s);
    webhook_.reset();
    webhook_.bind(1, send_.getColumn(0).getInt64());
    webhook_.executeStep();
    o.webhook_events = webhook_.getColumn(0).getInt();
    return o;
  }

private:
  /// The first registered field of the current row that is not as posted.
  std::string mismatch_of(const load_send& s) {
    const auto text = [&](int column) { return send_.getColumn(column).getString(); };
    if (text(3) != s.item["type"])
      return "type " + text(3);
    if (text(4) != s.item["medium"])
      return "medium " + text(4);
    if (text(5) != s.vendor)
      return "vendor " + text(5);
    if (text(6) != s.contact)
      return "contact " + text(6);
    if (send_.getColumn(7).getInt64() != s.requested_at_ms)
      return "requested_at " + text(7);
    if (text(8) != s.vendor_message_id)
      return "vendor_message_id " + text(8);
    return {};
  }

  SQLite::Database db_;
  SQLite::Statement send_, webhook_, held_;
};

std::map<std::string, send_outcomes> outcomes_of(const load_journal& journal) {
  std::map<std::string, send_outcomes> out;
  for (const auto& r : journal.requests) {
    for (const auto& id : r.send_ids) {
      auto& o = out[id];
      if (r.kind == request_kind::intake) {
        o.intake_posted = true;
        o.intake = r.outcome;
      }
      else if (r.kind == request_kind::report) {
        o.report_acked |= r.outcome == answer::acked;
        o.report_unanswered |= r.outcome == answer::none;
        o.report_refused |= r.outcome == answer::refused;
      }
    }
  }
  return out;
}

std::string describe_send(const std::string& id, const observed_send& o) {
  if (!o.stored)
    return id + " (not stored, " + std::to_string(o.held_events) + " held events)";
  return id + " (" + o.status + (o.code.empty() ? "" : " " + o.code) + ", " + std::to_string(o.webhook_events)
         + " webhook events, " + std::to_string(o.held_events) + " held)";
}

/// Checks the send's registration against its intake's answer.
void check_intake(journal_tally& t, const std::string& id, const send_outcomes& out, const observed_send& o) {
  if (out.intake == answer::acked) {
    ++t.acked_sends;
    if (o.stored && o.mismatch.empty())
      ++t.stored_sends;
    else
      t.problem("acknowledged send " + id + (o.stored ? " stored with another " + o.mismatch : " is missing"));
  } else if (out.intake == answer::refused && o.stored) {
    ++t.refused_traces;
    t.problem("send " + id + " of an intake answered non-2xx is stored");
  } else if (!out.intake_posted && o.stored) {
    ++t.unexplained;
    t.problem("send " + id + " is stored but was never posted");
  }
}

/// Checks the send's state against the answers to its report.
void check_report(journal_tally& t, const std::string& id, const load_send& s, const send_outcomes& out,
                  const observed_send& o) {
  const bool pending = o.reports() == 0 && (!o.stored || o.status == "pending");
  if (s.decoy) {
    if (!pending) {
      ++t.refused_traces;
      t.problem("a forged report left a trace: " + describe_send(id, o));
    }
    return;
  }
  const bool applied = o.reports() == 1 && (o.held_events == 0 || !o.stored)
                       && (!o.stored || (o.status == s.status && o.code == s.code));
  if (out.report_acked) {
    ++t.acked_reports;
    if (applied)
      ++t.stored_reports;
    else
      t.problem("acknowledged report (" + s.status + " " + s.code + ") of " + describe_send(id, o));
  } else if (out.report_unanswered) {
    if (!applied && !pending) {
      ++t.unexplained;
      t.problem("unanswered report (" + s.status + " " + s.code + ") left " + describe_send(id, o));
    }
  } else if (!pending) {
    ++(out.report_refused ? t.refused_traces : t.unexplained);
    t.problem("report never acknowledged nor cut, yet " + describe_send(id, o));
  }
}

/// Counts the requests' answers; a genuine request must be 2xx, a forged one 403, a bad intake 400.
void check_answers(journal_tally& t, const load_request& r) {
  if (r.outcome == answer::none) {
    ++t.unanswered;
    t.in_flight += r.in_flight ? 1 : 0;
    return;
  }
  if (r.outcome == answer::refused)
    ++t.refused;
  const bool right = r.kind == request_kind::forged       ? r.http_status == 403
                     : r.kind == request_kind::bad_intake ? r.http_status == 400
                                                          : r.outcome == answer::acked;
  if (!right) {
    ++t.wrong_answers;
    t.problem(r.route + " request for " + r.send_ids.front() + " answered " + std::to_string(r.http_status));
  }
}

/// A request cut by a kill is all or nothing: every send (intake) or report (webhook batch) of it, or none.
void check_whole(journal_tally& t, const load_request& r, const std::map<std::string, observed_send>& seen) {
  if (r.outcome != answer::none || r.kind == request_kind::forged || r.kind == request_kind::bad_intake)
    return;
  std::size_t present = 0;
  for (const auto& id : r.send_ids) {
    const auto& o = seen.at(id);
    present += r.kind == request_kind::intake ? (o.stored ? 1 : 0) : (o.reports() > 0 ? 1 : 0);
  }
  t.whole += present == r.send_ids.size() ? 1 : 0;
  if (present != 0 && present != r.send_ids.size()) {
    ++t.partial;
    t.problem("unanswered " + r.route + " request for " + r.send_ids.front() + " is stored in part: "
              + std::to_string(present) + " of " + std::to_string(r.send_ids.size()));
  }
}

} // namespace

journal_tally check_journal(const fs::path& ledger, const load_journal& journal) {
  journal_tally t;
  ledger_view view{ledger};
  const auto outcomes = outcomes_of(journal);
  std::map<std::string, observed_send> seen;
  for (const auto& [id, s] : journal.sends) {
    const auto& o = seen.emplace(id, view.observe(id, s)).first->second;
    const auto out = outcomes.count(id) != 0 ? outcomes.at(id) : send_outcomes{};
    check_intake(t, id, out, o);
    check_report(t, id, s, out, o);
  }
  for (const auto& r : journal.requests) {
    check_answers(t, r);
    check_whole(t, r, seen);
    if (r.kind == request_kind::bad_intake && view.exists(r.send_ids.front())) {
      ++t.refused_traces;
      t.problem("send " + r.send_ids.front() + " of an intake answered 400 is stored");
    }
  }
  for (const auto& a : journal.anomalies)
    t.problem(a);
  t.wrong_answers += journal.anomalies.size();
  return t;
}

} // namespace it
