#pragma once
/// Every actor interface of deliveryd, in CAF 0.17 syntax, behind aliases so that a move to CAF 1.x touches
/// this file only.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/jobs.hpp"

// Jobs are passed by shared pointer between actors of one process; they are never serialised.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::intake_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::events_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::health_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deliveryd::actors::twilio_callback_job_ptr)

/// Group commit: commit what has queued up.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, flush_atom, "flush")
/// Periodic timer: deadlines and health.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, tick_atom, "tick")
/// Orderly stop: finish queued work, then quit.
CAF_ADD_ATOM(deliveryd, deliveryd::actors, stop_atom, "stop")

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
  /// Fires due deadlines and re-probes a failing disk (sent to itself every second).
  caf::reacts_to<tick_atom>,
  /// Commits what is queued and quits.
  caf::reacts_to<stop_atom>>;

/// The Twilio vendor actor: verifies, parses and maps status callbacks, then hands them to the ledger.
using twilio_actor = caf::typed_actor<
  /// Handles one status callback; answers through the job.
  caf::reacts_to<twilio_callback_job_ptr>>;

} // namespace deliveryd::actors
