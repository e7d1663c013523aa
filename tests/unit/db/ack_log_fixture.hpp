#pragma once
/// Appending to a real ack log in a test and waiting for its answer: for the log's own tests, the ledger actor's
/// and copy-ledger's.

#include <future>
#include <string>
#include <vector>

#include "db/ack_log.hpp"

namespace deliveryd::testing {

/// Appends one record holding `events` and waits until it is durable; the error, "" when acknowledged ("full",
/// "ledger failing" or "failing" when the log did not queue it).
inline std::string append_wait(db::ack_log& log, const std::vector<db::vendor_event>& events) {
  std::promise<std::string> answered;
  auto answer = answered.get_future();
  switch (log.append(events, [&answered](const std::string& why) { answered.set_value(why); })) {
    case db::ack_log::admission::queued: return answer.get();
    case db::ack_log::admission::full: return "full";
    case db::ack_log::admission::ledger_failing: return "ledger failing";
    case db::ack_log::admission::failing: return "failing";
  }
  return "failing";
}

} // namespace deliveryd::testing
