#pragma once
/// UTF-8 validity, byte by byte: what text written into JSON and XML needs.

#include <cstddef>
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

} // namespace deliveryd::core
