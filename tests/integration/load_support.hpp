#pragma once
/// What the tests that load the daemon and then look into its ledger share: how a request was answered, intake in
/// large chunks, the ledger's integrity, and the report bodies of the vendors that the mixed load posts.

#include <string>

#include "harness.hpp"

namespace it {

/// What became of one request, as its client saw it.
enum class answer {
  acked,   ///< answered 2xx
  refused, ///< answered, but not 2xx
  none,    ///< no answer: the connection failed or was cut
};

/// The answer class of a result.
answer answer_of(const httplib::Result& result);

/// The summed counts of intake answers.
struct intake_counts {
  std::size_t accepted = 0;   ///< new sends
  std::size_t duplicates = 0; ///< identical to a stored send
  std::size_t updated = 0;    ///< a stored send learnt its vendor_message_id
  std::size_t rejected = 0;   ///< items refused
};

/// POSTs `items` in requests of at most 5,000 (the contract allows 10,000) and sums the answers; fails the test
/// when one is not a 200 with counts.
intake_counts post_in_chunks(httplib::Client& ops, const json& items);

/// `PRAGMA integrity_check` of a ledger file, read-only: "ok" when it is sound.
std::string integrity_of(const fs::path& ledger);

/// A level-2 Jasmin DLR for carrier message `id` with SMPP stat word `stat`.
form_params jasmin_dlr(const std::string& id, const std::string& stat, const std::string& err = "000");

/// One SendGrid event for X-Message-Id `message_id` (sg_message_id carries SendGrid's filter suffix).
json sg_event(const std::string& event, const std::string& message_id, const std::string& event_id, seconds_point at);

/// One element of a Korean aggregator report.
json aggregator_result(const std::string& message_id, const std::string& result_code, seconds_point done_at);

/// One element of a Kakao push.
json kakao_result(const std::string& message_id, const std::string& result_code, seconds_point done_at);

} // namespace it
