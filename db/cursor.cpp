// The day log's cursor as text: the same for every back end, since a cursor a client holds must stay readable.
#include <array>
#include <charconv>

#include "db/records.hpp"

namespace deliveryd::db {

namespace {

/// Writes the text of a cursor into `buf` (large enough for two int64 in base 36 and the dot).
std::string_view write_cursor(const log_cursor& c, std::array<char, 48>& buf) noexcept {
  auto* end = std::to_chars(buf.data(), buf.data() + buf.size(), c.requested_at, 36).ptr;
  *end++ = '.';
  end = std::to_chars(end, buf.data() + buf.size(), c.id, 36).ptr;
  return {buf.data(), static_cast<std::size_t>(end - buf.data())};
}

} // namespace

std::string encode_cursor(const log_cursor& c) {
  std::array<char, 48> buf{};
  return std::string{write_cursor(c, buf)};
}

std::optional<log_cursor> decode_cursor(std::string_view text) noexcept {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= text.size() || text.size() > 40)
    return std::nullopt;
  log_cursor c;
  auto first = std::from_chars(text.data(), text.data() + dot, c.requested_at, 36);
  auto second = std::from_chars(text.data() + dot + 1, text.data() + text.size(), c.id, 36);
  if (first.ec != std::errc{} || first.ptr != text.data() + dot || second.ec != std::errc{}
      || second.ptr != text.data() + text.size() || c.requested_at < 0 || c.id < 0)
    return std::nullopt;
  // One text per cursor: from_chars also takes upper-case digits, a '-' before zero and leading zeros.
  std::array<char, 48> again{};
  if (write_cursor(c, again) != text)
    return std::nullopt;
  return c;
}

} // namespace deliveryd::db
