#pragma once
/// UTF-8 validity, byte by byte: what text written into JSON and XML needs.

#include <cstddef>
#include <string>
#include <string_view>

namespace deliveryd::core {

/// The length (1-4) of the well-formed UTF-8 sequence starting at `text[pos]`, or 0 when there is none there
/// (a stray continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, or a cut sequence).
constexpr std::size_t utf8_sequence(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char c = byte(pos);
  if (c < 0x80)
    return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; // no overlong forms
    if (c == 0xED)
      hi = 0x9F; // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F; // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < len || byte(pos + 1) < lo || byte(pos + 1) > hi)
    return 0;
  for (std::size_t i = 2; i < len; ++i)
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF)
      return 0;
  return len;
}

/// True when `text` is well-formed UTF-8 (control characters allowed).
constexpr bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence(text, i);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

/// True when `text` is well-formed UTF-8 without control characters (C0, DEL, C1, so no NUL), the rule intake
/// applies to every field it stores. With `line_breaks`, tab, LF and CR are allowed too (free text such as a
/// vendor's reason, which XML 1.0 and thus XLSX can still carry).
constexpr bool is_printable_utf8(std::string_view text, bool line_breaks = false) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t len = utf8_sequence(text, i);
    if (len == 0)
      return false;
    const bool c0 = c < 0x20 && !(line_breaks && (c == '\t' || c == '\n' || c == '\r'));
    const bool c1 = c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F; // U+0080..U+009F
    if (c0 || c == 0x7F || c1)
      return false;
    i += len;
  }
  return true;
}

/// `text` as well-formed UTF-8 without NUL: each byte that starts no well-formed sequence, and each NUL, becomes
/// U+FFFD. For stores whose text type refuses such bytes (PostgreSQL's), where SQLite keeps them as they came.
inline std::string to_storable_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence(text, i);
    if (len == 0 || text[i] == '\0') {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

/// True when `text` is what to_storable_utf8 leaves as it is.
constexpr bool is_storable_utf8(std::string_view text) noexcept {
  return is_valid_utf8(text) && text.find('\0') == std::string_view::npos;
}

} // namespace deliveryd::core
