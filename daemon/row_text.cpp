#include "daemon/row_text.hpp"

#include "core/utf8.hpp"

namespace deliveryd::daemon {

namespace {

/// How many distinct numbers a row_text remembers (costs take a handful of values).
constexpr std::size_t remembered_numbers = 64;

/// Appends `text` as a JSON string exactly as nlohmann's dump (ensure_ascii off) writes it: quotes, backslash and
/// control characters escaped, the rest as is. Invalid UTF-8 is left to nlohmann itself (its "replace" rule).
void append_string(std::string& out, std::string_view text) {
  const auto mark = out.size();
  out += '"';
  std::size_t plain = 0; // start of the bytes not copied yet
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const auto len = core::utf8_sequence(text, i);
      if (len == 0) {
        out.resize(mark);
        out += dump(nlohmann::json(std::string{text}));
        return;
      }
      i += len;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(text.data() + plain, i - plain);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: {
        constexpr const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      }
    }
    plain = ++i;
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
}

/// A string, or null when it is empty (row_view's text_or_null).
void append_text_or_null(std::string& out, std::string_view text) {
  if (text.empty())
    out += "null";
  else
    append_string(out, text);
}

/// A text cell, blank when empty.
db::xlsx_cell text_cell(std::string_view text) {
  return text.empty() ? db::xlsx_cell{} : db::xlsx_cell{text};
}

} // namespace

const std::vector<std::string>& xlsx_header() {
  static const std::vector<std::string> header{"send_id", "time",   "type",    "source_id", "source_name",
                                               "status",  "medium", "vendor",  "contact",   "code",
                                               "reason",  "description", "category", "cost", "legs"};
  return header;
}

std::string legs_text(const db::log_row& row) {
  std::string out;
  for (const auto& leg : row.legs) {
    if (!out.empty())
      out += "; ";
    out += leg.send_id + ':' + leg.medium + ':' + leg.status;
    if (!leg.code.empty())
      out += ':' + leg.code;
  }
  return out;
}

const std::string& row_text::number_text(double value) {
  for (const auto& [known, text] : numbers_)
    if (known == value)
      return text;
  if (numbers_.size() == remembered_numbers)
    numbers_.pop_back();
  numbers_.emplace_back(value, dump(nlohmann::json(value)));
  return numbers_.back().second;
}

void row_text::append_jsonl(std::string& out, const db::log_row& row) {
  // nlohmann keeps an object's keys sorted: this is the order dump(row_view(row)) writes them in.
  const auto description = row_description(row);
  out += "{\"category\":";
  append_text_or_null(out, row.category);
  out += ",\"code\":";
  append_text_or_null(out, row.code);
  out += ",\"contact\":";
  append_string(out, row.contact);
  out += ",\"cost\":";
  out += number_text(row_cost(row, view_.pricing));
  out += ",\"description\":";
  if (description)
    append_string(out, *description);
  else
    out += "null";
  if (!row.legs.empty()) {
    out += ",\"legs\":[";
    for (std::size_t i = 0; i < row.legs.size(); ++i) {
      const auto& l = row.legs[i];
      out += i == 0 ? "{\"code\":" : ",{\"code\":";
      append_text_or_null(out, l.code);
      out += ",\"cost\":";
      out += number_text(attempt_cost(l.status, l.medium, view_.pricing));
      out += ",\"medium\":";
      append_string(out, l.medium);
      out += ",\"send_id\":";
      append_string(out, l.send_id);
      out += ",\"status\":";
      append_string(out, l.status);
      out += ",\"vendor\":";
      append_text_or_null(out, l.vendor);
      out += '}';
    }
    out += ']';
  }
  out += ",\"medium\":";
  append_string(out, row.medium);
  out += ",\"reason\":";
  append_text_or_null(out, row.reason);
  out += ",\"send_id\":";
  append_string(out, row.send_id);
  out += ",\"source_id\":";
  append_text_or_null(out, row.source_id);
  out += ",\"source_name\":";
  append_text_or_null(out, row.source_name);
  out += ",\"status\":";
  append_string(out, row.status);
  out += ",\"time\":";
  append_string(out, view_.zone.format(row.requested_at));
  out += ",\"type\":";
  append_string(out, row.type);
  out += ",\"vendor\":";
  append_text_or_null(out, row.vendor);
  out += "}\n";
}

std::span<const db::xlsx_cell> row_text::xlsx_cells(const db::log_row& row) {
  legs_ = legs_text(row);
  const auto description = row_description(row);
  cells_ = {text_cell(row.send_id),
            db::xlsx_datetime{view_.zone.local_millis(row.requested_at)},
            text_cell(row.type),
            text_cell(row.source_id),
            text_cell(row.source_name),
            text_cell(row.status),
            text_cell(row.medium),
            text_cell(row.vendor),
            text_cell(row.contact),
            text_cell(row.code),
            text_cell(row.reason),
            description ? text_cell(*description) : db::xlsx_cell{},
            text_cell(row.category),
            row_cost(row, view_.pricing),
            text_cell(legs_)};
  return cells_;
}

} // namespace deliveryd::daemon
