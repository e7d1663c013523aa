#include "daemon/views.hpp"

#include "core/codes.hpp"

namespace deliveryd::daemon {

namespace {

nlohmann::json text_or_null(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

/// The code table's description, else the category's sentence; null when there is no code.
nlohmann::json description_of(const db::log_row& row) {
  const auto text = row_description(row);
  return text ? nlohmann::json(std::string{*text}) : nlohmann::json(nullptr);
}

} // namespace

double attempt_cost(std::string_view status, std::string_view medium, const config::pricing_config& p) {
  const auto s = core::parse_status(status);
  const auto m = core::parse_medium(medium);
  return s && m && core::is_billable(*s) ? p.unit_price(*m) : 0.0;
}

double row_cost(const db::log_row& row, const config::pricing_config& p) {
  if (row.legs.empty())
    return attempt_cost(row.status, row.medium, p);
  double sum = 0;
  for (const auto& l : row.legs)
    sum += attempt_cost(l.status, l.medium, p);
  return sum;
}

std::optional<std::string_view> row_description(const db::log_row& row) {
  if (row.code.empty())
    return std::nullopt;
  if (const auto* info = core::find_code(row.code))
    return info->description;
  if (auto cat = core::parse_category(row.category); cat && *cat != core::category::none)
    return core::describe(*cat);
  return std::nullopt;
}

nlohmann::json row_view(const db::log_row& row, const view_context& ctx) {
  nlohmann::json out{
    {"send_id", row.send_id},
    {"time", ctx.zone.format(row.requested_at)},
    {"type", row.type},
    {"source_id", text_or_null(row.source_id)},
    {"source_name", text_or_null(row.source_name)},
    {"status", row.status},
    {"medium", row.medium},
    {"vendor", text_or_null(row.vendor)},
    {"contact", row.contact},
    {"code", text_or_null(row.code)},
    {"reason", text_or_null(row.reason)},
    {"description", description_of(row)},
    {"category", text_or_null(row.category)},
    {"cost", row_cost(row, ctx.pricing)},
  };
  if (!row.legs.empty()) {
    auto legs = nlohmann::json::array();
    for (const auto& l : row.legs)
      legs.push_back({{"send_id", l.send_id}, {"medium", l.medium}, {"vendor", text_or_null(l.vendor)},
                      {"status", l.status}, {"code", text_or_null(l.code)},
                      {"cost", attempt_cost(l.status, l.medium, ctx.pricing)}});
    out["legs"] = std::move(legs);
  }
  return out;
}

nlohmann::json send_view(const db::send_detail& send, const view_context& ctx) {
  auto out = row_view(send.row, ctx);
  out["requested_at"] = ctx.zone.format(send.row.requested_at);
  out["vendor_message_id"] = text_or_null(send.vendor_message_id);
  out["vendor_price"] = text_or_null(send.vendor_price);
  out["vendor_price_unit"] = text_or_null(send.vendor_price_unit);
  if (!send.fallback_of.empty())
    out["fallback_of"] = send.fallback_of;
  auto history = nlohmann::json::array();
  for (const auto& h : send.history)
    history.push_back({
      {"at", ctx.zone.format(h.at)},
      {"source", h.source},
      {"status", h.status},
      {"code", text_or_null(h.code)},
      {"vendor_status", text_or_null(h.vendor_status)},
      {"vendor_code", text_or_null(h.vendor_code)},
    });
  out["history"] = std::move(history);
  return out;
}

nlohmann::json codes_view() {
  auto out = nlohmann::json::array();
  for (const auto& c : core::code_table())
    out.push_back({
      {"code", c.code},
      {"reason", c.reason},
      {"description", c.description},
      {"category", core::to_string(c.cat)},
    });
  return out;
}

nlohmann::json intake_view(const db::intake_outcome& outcome) {
  auto rejected = nlohmann::json::array();
  for (const auto& r : outcome.rejected)
    rejected.push_back({{"index", r.index}, {"send_id", r.send_id}, {"error", r.error}, {"detail", r.detail}});
  return {
    {"accepted", outcome.accepted},
    {"duplicates", outcome.duplicates},
    {"updated", outcome.updated},
    {"rejected", std::move(rejected)},
  };
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace deliveryd::daemon
