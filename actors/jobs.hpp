#pragma once
/// The work items that travel from the listeners to the actors. Each carries a completion callback that the
/// actor calls exactly once, after the work is durable (or has failed): the listener thread waits on it.
/// Jobs travel as shared pointers so that a hand-off costs one pointer copy, not a serialisation.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "adapters/intake/intake.hpp"
#include "db/records.hpp"

namespace deliveryd::actors {

/// Why the ledger could not do what was asked.
enum class ledger_failure {
  storage_failing, ///< the commit failed (disk full, read-only, I/O error): nothing of the job is stored
  shutting_down,   ///< the daemon is stopping and takes no new work
  overloaded,      ///< the ledger's backlog is full (actors/backlog.hpp): nothing was handed to it
};

/// The sentence of a request refused because the ledger cannot commit (`why`): intake's, and the webhooks' while
/// the ack log takes nothing the ledger could not apply.
inline std::string commit_refusal(const std::string& why) {
  return "the ledger could not commit (" + why + "); nothing was stored, retry later";
}

/// A ledger answer: the outcome, or a failure with a sentence for a person.
template <class T>
struct ledger_result {
  std::variant<T, ledger_failure> value;
  std::string detail; ///< set with a failure
};

/// Register or update sends from the pipeline.
struct intake_job {
  std::vector<adapters::intake::send_request> sends;
  std::vector<adapters::intake::rejection> rejected; ///< the parser's rejections, merged into the answer
  core::timestamp received_at{};
  std::function<void(ledger_result<db::intake_outcome>)> done;
};

/// Store and apply vendor events, and what polls found.
struct events_job {
  std::vector<db::vendor_event> events;
  std::vector<db::poll_update> polls;
  std::function<void(ledger_result<db::events_outcome>)> done;
};

/// Whether the ledger can commit.
struct health_report {
  bool ok = true;
  std::string detail; ///< why not, for a person
};

/// Ask whether the ledger can commit.
struct health_job {
  std::function<void(health_report)> done;
};

/// What a vendor actor says about one webhook request.
struct webhook_result {
  /// The kinds of answer; the listener turns them into HTTP.
  enum class kind {
    stored,          ///< applied or held, durable
    ignored,         ///< nothing to record (e.g. an inbound-only status), acknowledged
    bad_signature,   ///< authentication failed: 403
    malformed,       ///< the body or a required field is unusable: 400
    storage_failing, ///< the ledger could not commit: 503
    overloaded,      ///< the ledger's backlog is full, nothing was handed to it: 503 with a short Retry-After
  };
  kind what = kind::stored;
  std::string detail;          ///< a sentence for a person, for every kind but stored
  db::events_outcome counts;   ///< for stored
  /// For stored and ignored: the exact body the vendor expects instead of the JSON acknowledgement (Jasmin
  /// resends a DLR unless the answer is `ACK/Jasmin`); nullopt for the JSON acknowledgement.
  std::optional<std::string> reply_body{};
  std::string reply_type{};    ///< Content-Type of reply_body
};

/// A Twilio status callback as received.
struct twilio_callback_job {
  std::string full_url;         ///< public_url + the request target, exactly as Twilio called it
  std::string body;             ///< the raw form body
  std::string signature;        ///< X-Twilio-Signature
  std::string rule_settings;    ///< X-Twilio-Webhooks-Signature-Settings, "" if absent
  core::timestamp received_at{};
  std::function<void(webhook_result)> done;
};

/// A vendor webhook request as received, for the vendor actors that need only the request target, a few
/// headers, the content type and the raw body (e-mail, carrier, Kakao push).
struct vendor_webhook_job {
  std::string target;       ///< path and query exactly as requested ("/webhooks/carrier?token=…&id=…")
  std::string content_type; ///< the Content-Type header, "" if absent
  std::vector<std::pair<std::string, std::string>> headers; ///< the headers the actor reads, those present only
  std::string body;         ///< the raw body, never re-serialised (signatures cover its bytes)
  core::timestamp received_at{};
  std::function<void(webhook_result)> done;

  /// The value of header `name` (ASCII case-insensitive), "" when it was not sent.
  std::string_view header(std::string_view name) const noexcept;
  /// The query string of `target` without its '?', "" when there is none.
  std::string_view query() const noexcept;
};

using intake_job_ptr = std::shared_ptr<intake_job>;
using events_job_ptr = std::shared_ptr<events_job>;
using health_job_ptr = std::shared_ptr<health_job>;
using twilio_callback_job_ptr = std::shared_ptr<twilio_callback_job>;
using vendor_webhook_job_ptr = std::shared_ptr<vendor_webhook_job>;

} // namespace deliveryd::actors
