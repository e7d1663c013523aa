#pragma once
/// JSON views of ledger values, in the contract's shapes.

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/time.hpp"
#include "db/records.hpp"
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

/// The contract's cost of one attempt (core::is_billable, pricing_config::unit_price): its medium's unit price when
/// sent or uncertain, else nothing. Statuses and media are the contract's words; any other word costs nothing.
double attempt_cost(std::string_view status, std::string_view medium, const config::pricing_config& p);

/// The cost of a day-log row: its own, or for a logical send with failover the sum of its attempts'.
double row_cost(const db::log_row& row, const config::pricing_config& p);

/// The description of a row's code: the code table's (which may be ""), else its category's sentence; nullopt
/// without a code or a known category.
std::optional<std::string_view> row_description(const db::log_row& row);

/// One send: the row's fields plus requested_at, vendor_message_id, vendor_price, vendor_price_unit, history.
nlohmann::json send_view(const db::send_detail& send, const view_context& ctx);

/// The reason-code table: [{code, reason, description, category}].
nlohmann::json codes_view();

/// The intake answer: {accepted, duplicates, updated, rejected: [{index, send_id, error, detail}]}.
nlohmann::json intake_view(const db::intake_outcome& outcome);

/// Serialises without throwing on invalid UTF-8 (replaced), compactly.
std::string dump(const nlohmann::json& value);

} // namespace deliveryd::daemon
