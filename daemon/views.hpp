#pragma once
/// JSON views of ledger values, in the contract's shapes.

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/time.hpp"
#include "db/reader.hpp"
#include "db/records.hpp"

namespace deliveryd::daemon {

/// What rendering needs: the zone for times and the unit prices for cost.
struct view_context {
  core::zone zone;
  config::pricing_config pricing;
};

/// A day-log row: {send_id, time, type, source_id, source_name, status, medium, vendor, contact, code, reason,
/// description, category, cost}; absent values are null.
nlohmann::json row_view(const db::log_row& row, const view_context& ctx);

/// One send: the row's fields plus requested_at, vendor_message_id, vendor_price, vendor_price_unit, history.
nlohmann::json send_view(const db::send_detail& send, const view_context& ctx);

/// The reason-code table: [{code, reason, description, category}].
nlohmann::json codes_view();

/// The intake answer: {accepted, duplicates, updated, rejected: [{index, send_id, error, detail}]}.
nlohmann::json intake_view(const db::intake_outcome& outcome);

/// Serialises without throwing on invalid UTF-8 (replaced), compactly.
std::string dump(const nlohmann::json& value);

} // namespace deliveryd::daemon
