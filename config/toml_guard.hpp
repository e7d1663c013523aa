#pragma once
/// A look at a configuration text before toml++ parses it, for the characters that toml++ 3.3 (Debian 12) cannot
/// read safely. Header-only and pure.
///
/// toml++ 3.3 asks "is this white space?" of the character at every token boundary, of every character of a
/// key's surroundings and after each escape of a multi-line basic string. For U+00A1-U+0499 and U+FB26-U+FEFE
/// its answer (is_non_ascii_horizontal_whitespace) runs into __builtin_unreachable(): undefined behaviour, found
/// by fuzz/config_toml (upstream issues marzer/tomlplusplus#190 and #295, fixed after 3.3). Comments, one-line
/// strings and literal strings never ask, so those characters stay allowed there; anywhere else they would be a
/// TOML error anyway, except inside multi-line basic strings, which the configuration never needs.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/utf8.hpp"

namespace deliveryd::config {

/// A character toml++ 3.3 must not be shown, and where it is.
struct unsafe_character {
  std::size_t line = 0;     ///< 1-based
  char32_t code_point = 0;  ///< U+00A1-U+0499 or U+FB26-U+FEFE
};

/// True for the code points whose white-space test is undefined in toml++ 3.3.
constexpr bool trips_toml_whitespace_test(char32_t c) noexcept {
  return (c >= 0xA1 && c <= 0x499) || (c >= 0xFB26 && c <= 0xFEFE);
}

/// The code point of the well-formed UTF-8 sequence of `length` bytes at `pos`.
constexpr char32_t code_point_at(std::string_view text, std::size_t pos, std::size_t length) noexcept {
  constexpr unsigned char lead_bits[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t c = static_cast<unsigned char>(text[pos]) & lead_bits[length];
  for (std::size_t i = 1; i < length; ++i)
    c = (c << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  return c;
}

/// The number of `quote` characters from `pos` on, at most 5: a multi-line string's closing delimiter may take
/// one or two of the string's own quotes with it.
constexpr std::size_t quotes_at(std::string_view text, std::size_t pos, char quote) noexcept {
  std::size_t n = 0;
  while (n < 5 && pos + n < text.size() && text[pos + n] == quote)
    ++n;
  return n;
}

/// True for the characters after which a TOML string may begin (a key, a value, an array or inline table item).
constexpr bool starts_token_after(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=' || c == '[' || c == '{' || c == ',' || c == '.';
}

/// The first character of `text` that toml++ 3.3 would test for white space and cannot, or nullopt. Follows
/// TOML's comments and four kinds of string far enough to know where such a character is harmless: a quote that
/// does not begin a token is part of a bare word, which toml++ scans through (up to a white space, ']', '}', ','
/// or '#') testing every character. Bytes that are not UTF-8 are left to toml++, which refuses them.
constexpr std::optional<unsafe_character> find_unsafe_character(std::string_view text) noexcept {
  enum class in { toml, comment, basic, literal, multi_basic, multi_literal } at = in::toml;
  std::size_t line = 1;
  bool token_start = true; // in::toml only: whether a string could begin here
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const std::size_t length = core::utf8_sequence(text, i);
    if (length != 1) {
      const char32_t cp = length == 0 ? 0 : code_point_at(text, i, length);
      if ((at == in::toml || at == in::multi_basic) && trips_toml_whitespace_test(cp))
        return unsafe_character{line, cp};
      i += length == 0 ? 1 : length;
      token_start = false;
      continue;
    }
    const bool ascii_next = i + 1 < text.size() && text[i + 1] != '\n' && core::utf8_sequence(text, i + 1) == 1;
    const bool was_token_start = token_start;
    token_start = starts_token_after(c);
    if (c == '\n') {
      ++line;
      if (at == in::comment || at == in::basic || at == in::literal)
        at = in::toml; // a one-line string that meets a line break is an error toml++ stops at
    } else if (at == in::toml && c == '#') {
      at = in::comment;
    } else if (at == in::toml && was_token_start && (c == '"' || c == '\'')) {
      const bool multi = quotes_at(text, i, c) >= 3;
      at = c == '"' ? (multi ? in::multi_basic : in::basic) : (multi ? in::multi_literal : in::literal);
      i += multi ? 3 : 1;
      continue;
    } else if ((at == in::basic || at == in::multi_basic) && c == '\\' && ascii_next) {
      i += 2; // an escaped quote or backslash does not end the string
      continue;
    } else if ((at == in::basic && c == '"') || (at == in::literal && c == '\'')) {
      at = in::toml;
    } else if ((at == in::multi_basic && c == '"') || (at == in::multi_literal && c == '\'')) {
      const std::size_t n = quotes_at(text, i, c);
      if (n >= 3)
        at = in::toml;
      i += n;
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

/// The code point as four upper-case hex digits ("00E9"), as U+ and \u write it.
inline std::string hex_digits(const unsafe_character& c) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (int shift = 12; shift >= 0; shift -= 4)
    out += hex[(c.code_point >> shift) & 0xF];
  return out;
}

} // namespace deliveryd::config
