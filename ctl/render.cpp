#include "ctl/render.hpp"

#include <algorithm>
#include <array>

#include "ctl/tables.hpp"

namespace deliveryd::ctl {

namespace {

using json = nlohmann::json;

constexpr std::array<const char*, 5> statuses = {"pending", "sent", "failed", "excluded", "uncertain"};
constexpr std::array<const char*, 4> media = {"sms", "lms", "alimtalk", "email"};

/// `object[key]` when object is an object holding key, else null (never throws, never inserts).
const json& field(const json& object, const char* key) {
  static const json null_value;
  if (!object.is_object())
    return null_value;
  auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::int64_t count_of(const json& value) {
  if (value.is_number_integer())
    return value.get<std::int64_t>();
  if (value.is_number())
    return static_cast<std::int64_t>(value.get<double>());
  return 0;
}

double amount_of(const json& value) { return value.is_number() ? value.get<double>() : 0.0; }

std::string text_of(const json& value) { return value.is_string() ? value.get<std::string>() : std::string{}; }

/// Failed, excluded and uncertain rows carry a reason worth showing.
bool has_reason(const std::string& status) {
  return status == "failed" || status == "excluded" || status == "uncertain";
}

std::string upper(std::string text) {
  for (auto& c : text)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return text;
}

std::string source_of(const json& row) {
  const auto name = text_of(field(row, "source_name"));
  const auto id = text_of(field(row, "source_id"));
  if (name.empty())
    return id.empty() ? "-" : id;
  return id.empty() ? name : name + " (" + id + ")";
}

std::string status_table(const json& summary) {
  text_table t;
  t.column("STATUS").column("SENDS", align::right);
  const auto& by_status = field(summary, "by_status");
  for (const auto* s : statuses)
    t.row({s, format_count(count_of(field(by_status, s)))});
  t.row({"total", format_count(count_of(field(summary, "total")))});
  return t.render();
}

std::string medium_table(const json& summary) {
  const auto currency = text_of(field(summary, "currency"));
  text_table t;
  t.column("MEDIUM").column("SENDS", align::right).column(currency.empty() ? "COST" : "COST (" + currency + ")",
                                                          align::right);
  const auto& by_medium = field(summary, "by_medium");
  std::int64_t sends = 0;
  double cost = 0;
  auto add = [&](const std::string& medium, const json& entry) {
    sends += count_of(field(entry, "count"));
    cost += amount_of(field(entry, "cost"));
    t.row({medium, format_count(count_of(field(entry, "count"))), format_amount(amount_of(field(entry, "cost")))});
  };
  for (const auto* m : media)
    add(m, field(by_medium, m));
  if (by_medium.is_object()) // media this version does not know, in the daemon's order
    for (const auto& [name, entry] : by_medium.items())
      if (std::find(media.begin(), media.end(), name) == media.end())
        add(name, entry);
  t.row({"all media", format_count(sends), format_amount(cost)});
  return t.render();
}

std::string vendor_price_table(const json& summary) {
  const auto& prices = field(summary, "vendor_prices");
  if (!prices.is_object() || prices.empty())
    return "Vendor-reported prices: none\n";
  text_table t;
  t.column("CURRENCY").column("VENDOR-REPORTED", align::right);
  for (const auto& [currency, amount] : prices.items())
    t.row({currency, format_amount(amount_of(amount))});
  return t.render();
}

std::string day_table(const json& summary) {
  const auto& days = field(summary, "days");
  text_table t;
  t.column("DATE").column("TOTAL", align::right);
  for (const auto* s : statuses)
    t.column(upper(s), align::right);
  if (days.is_array())
    for (const auto& day : days) {
      if (count_of(field(day, "total")) == 0) // the daemon lists every day of the month; a terminal needs less
        continue;
      std::vector<std::string> cells{cell(field(day, "date")), format_count(count_of(field(day, "total")))};
      for (const auto* s : statuses)
        cells.push_back(format_count(count_of(field(day, s))));
      t.row(std::move(cells));
    }
  return t.empty() ? "No sends this month.\n" : t.render();
}

} // namespace

std::string cell(const json& value) {
  if (value.is_string())
    return value.get<std::string>().empty() ? "-" : value.get<std::string>();
  if (value.is_number_integer())
    return format_count(value.get<std::int64_t>());
  if (value.is_number())
    return format_amount(value.get<double>());
  if (value.is_boolean())
    return value.get<bool>() ? "yes" : "no";
  if (value.is_null())
    return "-";
  return value.dump();
}

std::string time_of_day(const std::string& rfc3339) {
  // "YYYY-MM-DDThh:mm:ss..." : the eight characters after the 'T'.
  if (rfc3339.size() >= 19 && rfc3339[10] == 'T')
    return rfc3339.substr(11, 8);
  return rfc3339;
}

std::string render_summary(const json& summary, const std::string& filter) {
  std::string out = "Month " + cell(field(summary, "month")) + " (" + cell(field(summary, "zone")) + "), "
                    + (filter.empty() ? "all sends" : filter) + ": "
                    + format_count(count_of(field(summary, "total"))) + " sends\n\n";
  out += status_table(summary) + "\n";
  out += medium_table(summary) + "\n";
  out += vendor_price_table(summary) + "\n";
  out += day_table(summary);
  return out;
}

std::string render_day_rows(const json& rows) {
  if (!rows.is_array() || rows.empty())
    return "No sends.\n";
  text_table t;
  t.column("TIME").column("SEND ID").column("TYPE").column("SOURCE").column("STATUS").column("MEDIUM");
  t.column("VENDOR").column("CONTACT").column("COST", align::right).column("CODE").column("REASON");
  for (const auto& row : rows) {
    const auto status = text_of(field(row, "status"));
    const bool reason = has_reason(status);
    t.row({time_of_day(text_of(field(row, "time"))), cell(field(row, "send_id")), cell(field(row, "type")),
           source_of(row), cell(field(row, "status")), cell(field(row, "medium")), cell(field(row, "vendor")),
           cell(field(row, "contact")), format_amount(amount_of(field(row, "cost"))),
           reason ? cell(field(row, "code")) : "", reason ? cell(field(row, "reason")) : ""});
    const auto& legs = field(row, "legs");
    if (!legs.is_array())
      continue;
    for (const auto& leg : legs) {
      const bool leg_reason = has_reason(text_of(field(leg, "status")));
      t.row({"", "  leg " + cell(field(leg, "send_id")), "", "", cell(field(leg, "status")), cell(field(leg, "medium")),
             cell(field(leg, "vendor")), "", format_amount(amount_of(field(leg, "cost"))),
             leg_reason ? cell(field(leg, "code")) : "", ""});
    }
  }
  return t.render();
}

std::string render_send(const json& send) {
  auto price = text_of(field(send, "vendor_price"));
  if (!price.empty() && field(send, "vendor_price_unit").is_string())
    price += " " + text_of(field(send, "vendor_price_unit"));
  const auto status = text_of(field(send, "status"));
  const bool reason = has_reason(status);
  std::string out = render_fields({
    {"send_id", cell(field(send, "send_id"))},
    {"status", cell(field(send, "status"))},
    {"requested_at", cell(field(send, "requested_at"))},
    {"type", cell(field(send, "type"))},
    {"source", source_of(send)},
    {"medium", cell(field(send, "medium"))},
    {"vendor", cell(field(send, "vendor"))},
    {"contact", cell(field(send, "contact"))},
    {"code", reason ? cell(field(send, "code")) : ""},
    {"reason", reason ? cell(field(send, "reason")) : ""},
    {"description", reason ? cell(field(send, "description")) : ""},
    {"category", reason ? cell(field(send, "category")) : ""},
    {"cost", format_amount(amount_of(field(send, "cost")))},
    {"vendor_message_id", cell(field(send, "vendor_message_id"))},
    {"vendor_price", price.empty() ? "-" : price},
    {"fallback_of", text_of(field(send, "fallback_of"))},
  });
  if (const auto& legs = field(send, "legs"); legs.is_array() && !legs.empty()) {
    text_table t;
    t.column("LEG").column("MEDIUM").column("VENDOR").column("STATUS").column("CODE").column("COST", align::right);
    for (const auto& leg : legs)
      t.row({cell(field(leg, "send_id")), cell(field(leg, "medium")), cell(field(leg, "vendor")),
             cell(field(leg, "status")), cell(field(leg, "code")), format_amount(amount_of(field(leg, "cost")))});
    out += "\n" + t.render();
  }
  text_table h;
  h.column("AT").column("SOURCE").column("STATUS").column("CODE").column("VENDOR STATUS").column("VENDOR CODE");
  const auto& history = field(send, "history");
  if (history.is_array())
    for (const auto& e : history)
      h.row({cell(field(e, "at")), cell(field(e, "source")), cell(field(e, "status")), cell(field(e, "code")),
             cell(field(e, "vendor_status")), cell(field(e, "vendor_code"))});
  out += "\nHistory\n" + (h.empty() ? std::string{"(none)\n"} : h.render());
  return out;
}

std::string render_codes(const json& codes) {
  text_table t;
  t.column("CODE").column("CATEGORY").column("REASON").column("DESCRIPTION");
  if (codes.is_array())
    for (const auto& c : codes)
      t.row({cell(field(c, "code")), cell(field(c, "category")), cell(field(c, "reason")),
             cell(field(c, "description"))});
  return t.render();
}

} // namespace deliveryd::ctl
