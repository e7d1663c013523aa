#pragma once
/// Every actor interface of deliveryd, in CAF 0.17 syntax, behind aliases so that a move to CAF 1.x touches
/// this file only.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/jobs.hpp"
#include "db/records.hpp"

// Jobs are passed by shared pointer between actors of one process; they are never serialised.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::intake_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::events_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::health_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::twilio_callback_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::vendor_webhook_job_ptr)

/// Group commit: commit what has queued up.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, flush_atom, "flush")
/// Periodic timer: deadlines and health.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, tick_atom, "tick")
/// Orderly stop: finish queued work, then quit.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, stop_atom, "stop")
/// The WAL has been synced for this many committed groups (from the ledger's sync thread to the ledger).
CAF_ADD_ATOM(deliveryd, deliveryd::actors, synced_atom, "synced")
/// A sync to the disk failed (from the ledger's sync thread to the ledger): it must take nothing more.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, lost_atom, "lost")
/// The ack log acknowledged more records (from the log's thread to the ledger): the ledger reads and applies them.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, logged_atom, "logged")
/// A poll's result has been committed (or has failed): the send may be fetched again.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, polled_atom, "polled")

namespace deliveryd::actors {
/// Sends whose next poll is due, read by a worker for a poller.
using due_polls_ptr = std::shared_ptr<const std::vector<db::poll_target>>;
} // namespace deliveryd::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::due_polls_ptr)

namespace deliveryd::actors {

/// The ledger: owns the writer connection, reconciles and commits in groups. Spawned detached: its commits
/// block its own thread, never CAF's cooperative scheduler.
using ledger_actor = caf::typed_actor<
  /// Registers sends; answers through the job after the commit.
  caf::reacts_to<intake_job_ptr>,
  /// Stores and applies vendor events; answers through the job after the commit.
  caf::reacts_to<events_job_ptr>,
  /// Reports whether commits work.
  caf::reacts_to<health_job_ptr>,
  /// Commits everything queued since the last commit (sent to itself).
  caf::reacts_to<flush_atom>,
  /// Its sync thread made this many committed groups durable: the open transaction may commit.
  caf::reacts_to<synced_atom, std::uint64_t>,
  /// Its sync thread saw a sync fail (why): the ledger takes nothing more, and the daemon restarts.
  caf::reacts_to<lost_atom, std::string>,
  /// The ack log acknowledged records up to this position: they are applied in a coming transaction.
  caf::reacts_to<logged_atom, std::uint64_t>,
  /// Fires due deadlines and re-probes a failing disk (sent to itself every second).
  caf::reacts_to<tick_atom>,
  /// Commits what is queued and quits.
  caf::reacts_to<stop_atom>>;

/// The Twilio vendor actor: verifies, parses and maps status callbacks, then hands them to the ledger.
using twilio_actor = caf::typed_actor<
  /// Handles one status callback; answers through the job.
  caf::reacts_to<twilio_callback_job_ptr>>;

// The three webhook actors below share one handler signature, so CAF 0.17 makes their aliases one type: the
// names say which vendor a handle belongs to, the type does not enforce it.

/// The e-mail vendor actor (SendGrid Event Webhook): verifies the ECDSA signature and the timestamp, parses and
/// maps the batch, then hands the usable events to the ledger.
using email_actor = caf::typed_actor<
  /// Handles one POST /webhooks/email; answers through the job after the commit.
  caf::reacts_to<vendor_webhook_job_ptr>>;

/// The SMS carrier vendor actor: checks the shared token, maps a Jasmin DLR or an aggregator report, then hands
/// the events to the ledger.
using carrier_actor = caf::typed_actor<
  /// Handles one POST /webhooks/carrier; answers through the job after the commit (`ACK/Jasmin` for a DLR).
  caf::reacts_to<vendor_webhook_job_ptr>>;

/// The Kakao push actor: checks the push token, maps the pushed Alimtalk results, then hands them to the ledger.
using kakao_push_actor = caf::typed_actor<
  /// Handles one POST /webhooks/kakao; answers through the job after the commit.
  caf::reacts_to<vendor_webhook_job_ptr>>;

/// A polling vendor actor (Kakao results, Twilio messages): finds due sends, fetches them on worker threads
/// with bounded concurrency and pacing, and hands what it found to the ledger.
using poller_actor = caf::typed_actor<
  /// Looks for due sends and starts fetches (sent to itself every second).
  caf::reacts_to<tick_atom>,
  /// Due sends found by a worker: starts fetches for those not already in flight.
  caf::reacts_to<due_polls_ptr>,
  /// A fetch of the send with this row id is done and committed: it may be fetched again.
  caf::reacts_to<polled_atom, std::int64_t>>;

} // namespace deliveryd::actors
