#pragma once
/// A mixed load of every vendor for the crash tests, with a journal of every request and its answer, and the check
/// of a ledger file against that journal.
///
/// Each round of a worker registers nine sends in one intake batch (two Twilio SMS, two e-mails, a carrier SMS
/// reported by Jasmin DLR and one by aggregator JSON, two Alimtalk sends, and a decoy of a rotating vendor), then
/// posts exactly one final report per send through its vendor's webhook: signed Twilio callbacks, a signed SendGrid
/// batch, a Jasmin DLR and an aggregator report with the carrier token, a Kakao push with the push token. One
/// send per round has its report posted before the intake (a held event), some acknowledged reports are posted a
/// second time, byte for byte (duplicates), the decoy only gets a forged report (403), and some rounds post an
/// intake body that does not parse (400). With one final report per send, the expected state of every send is
/// unambiguous: pending until its report is stored, then that report's status and code.

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "load_support.hpp"
#include "vendor_hooks.hpp"

namespace it {

/// One send of the load and the final report it gets.
struct load_send {
  json item;                     ///< the intake item
  std::string vendor;            ///< its vendor word
  std::string vendor_message_id; ///< as registered
  std::string contact;           ///< as the ledger stores it (E.164, or the domain lower-cased)
  std::int64_t requested_at_ms = 0; ///< as the ledger stores it
  std::string status;            ///< the status its final report sets: "sent" or "failed"
  std::string code;              ///< and the code ("" when sent)
  bool decoy = false;            ///< only a forged report is posted for it: it must stay pending
};

/// What a request of the load was meant to be.
enum class request_kind {
  intake,     ///< a batch of sends (must be 2xx)
  report,     ///< a genuine vendor report (must be 2xx)
  forged,     ///< a report with a wrong signature or token (must be 403)
  bad_intake, ///< an intake body that does not parse (must be 400)
};

/// One request of the load and how it was answered.
struct load_request {
  request_kind kind = request_kind::intake;
  std::string route;                 ///< which webhook or listener, for messages: "intake", "twilio", "jasmin", …
  std::vector<std::string> send_ids; ///< the sends it carried (intake) or reported on (webhooks)
  answer outcome = answer::none;
  int http_status = 0;               ///< when answered
  bool in_flight = false;            ///< unanswered after the connection was made: the kill cut it in flight
};

/// Everything the load did.
struct load_journal {
  std::map<std::string, load_send> sends;  ///< by send_id
  std::vector<load_request> requests;      ///< in no particular order across workers
  std::vector<std::string> anomalies;      ///< answers that were 2xx but not what they should say
  std::size_t dropped_while_up = 0;        ///< requests without an answer although the daemon was not killed

  /// Adds another journal's sends and requests (their send ids are distinct).
  void append(load_journal&& other);
};

/// The load's workers against one life of the daemon; they stop at the first request that gets no answer after
/// kill_coming() (the daemon is gone), or at finish().
class mixed_load {
public:
  /// Starts `workers` threads; send ids start with `prefix` (unique per life), requested_at is `base`.
  mixed_load(const daemon_process& d, std::string prefix, int workers, seconds_point base);
  ~mixed_load();
  mixed_load(const mixed_load&) = delete;
  mixed_load& operator=(const mixed_load&) = delete;

  /// To call right before the daemon is killed: from then on a request without an answer ends its worker.
  void kill_coming() { killed_ = true; }

  /// Requests answered so far, over every worker.
  std::size_t answered() const { return answered_.load(); }

  /// Stops the workers, joins them and returns their merged journal.
  load_journal finish();

private:
  void run(int worker);

  const daemon_process& d_;
  std::string prefix_;
  seconds_point base_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> killed_{false};
  std::atomic<std::size_t> answered_{0};
  std::vector<load_journal> journals_; ///< one per worker, written only by it
  std::vector<sendgrid_signer> signers_; ///< one per worker
  std::vector<std::thread> threads_;
};

/// The intake items of the sends whose intake was answered 2xx.
json acknowledged_items(const load_journal& journal);

/// What the ledger holds of a journal.
struct journal_tally {
  std::size_t acked_sends = 0;      ///< sends whose intake was answered 2xx
  std::size_t stored_sends = 0;     ///< of those, stored with the fields they were registered with
  std::size_t acked_reports = 0;    ///< reports with a post answered 2xx
  std::size_t stored_reports = 0;   ///< of those, stored once, and deciding their send's status and code
  std::size_t unanswered = 0;       ///< requests without an answer
  std::size_t in_flight = 0;        ///< of those, cut after their connection was made
  std::size_t whole = 0;            ///< of those, stored whole (every send or report of them)
  std::size_t partial = 0;          ///< of those, stored in part (must be 0)
  std::size_t refused = 0;          ///< requests answered non-2xx
  std::size_t refused_traces = 0;   ///< sends or events that a refused request left (must be 0)
  std::size_t unexplained = 0;      ///< unacknowledged items in a state no outcome of their requests explains
  std::size_t wrong_answers = 0;    ///< genuine requests answered non-2xx, forged or bad ones not as they should
  std::vector<std::string> problems; ///< the first few findings, for the failure message

  /// Notes a finding (the first 20 are kept).
  void problem(std::string what);
};

/// Reads the ledger file (read-only, the daemon stopped or running) and checks every send and report of the
/// journal against what its requests' answers allow.
journal_tally check_journal(const fs::path& ledger, const load_journal& journal);

} // namespace it
