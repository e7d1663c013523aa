#pragma once
/// Day-log rows rendered for the exports without building a JSON tree per row: a JSONL line byte for byte
/// equal to dump(row_view(row)), and the XLSX export's typed cells. This is the exports' hot path (millions of
/// rows); tests hold both to row_view.

#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "db/records.hpp"
#include "db/xlsx_writer.hpp"
#include "daemon/views.hpp"

namespace deliveryd::daemon {

/// The columns of the XLSX export: send_id, time, type, source_id, source_name, status, medium, vendor, contact,
/// code, reason, description, category, cost, legs.
const std::vector<std::string>& xlsx_header();

/// A logical send's attempts as one text: "send_id:medium:status[:code]" joined by "; "; "" without legs.
std::string legs_text(const db::log_row& row);

/// Renders rows with one view context; keeps small buffers between rows. Not thread-safe.
class row_text {
public:
  explicit row_text(view_context view) : view_{std::move(view)} {}

  /// Appends dump(row_view(row)) and '\n' to `out`.
  void append_jsonl(std::string& out, const db::log_row& row);

  /// The row's XLSX cells, in xlsx_header()'s order; texts point into `row` and into this object, valid until
  /// the next call.
  std::span<const db::xlsx_cell> xlsx_cells(const db::log_row& row);

private:
  /// The JSON text of a number as nlohmann's dump writes it (the few distinct costs are remembered).
  const std::string& number_text(double value);

  view_context view_;
  std::vector<std::pair<double, std::string>> numbers_;
  std::string legs_;
  std::array<db::xlsx_cell, 15> cells_;
};

} // namespace deliveryd::daemon
