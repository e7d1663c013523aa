#pragma once
/// A look at a JSON text before nlohmann-json parses it, for what that parser accepts but deliveryd must not.
/// Header-only and pure, shared by every adapter that parses JSON (intake, SendGrid, carrier, Kakao, Twilio polls).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/utf8.hpp"

namespace deliveryd::adapters {

/// The deepest nesting of arrays and objects a JSON text may have. Intake items and vendor payloads nest three
/// levels at most. nlohmann-json 3.11 parses and destroys any depth without recursion, but serialising a value
/// recurses once per level (the adapters re-serialise each element into `raw`: 500,000 levels overflow a thread's
/// stack), and every level costs about 100 bytes of heap (16 MiB of '[' would take 1.5 GiB).
inline constexpr std::size_t max_json_depth = 64;

/// What is wrong with a JSON text, found before parsing.
struct json_text_problem {
  /// Which rule the text breaks.
  enum class kind {
    not_utf8, ///< a byte sequence that is not well-formed UTF-8
    nul_byte, ///< a NUL byte
    too_deep, ///< more than max_json_depth levels of arrays and objects
  };
  kind what = kind::not_utf8; ///< the rule broken
  std::size_t byte = 0;       ///< 1-based position of the offending byte
};

/// The first reason not to hand `text` to the JSON parser, or nullopt when there is none:
/// - bytes that are not UTF-8 (RFC 8259 §8.1; the parser refuses them inside strings too, but could not say why);
/// - a NUL byte: nlohmann-json takes it for the end of the input and silently drops whatever follows a complete
///   value (`[…]\0[…]` would parse as the first array alone);
/// - arrays and objects nested deeper than `max_json_depth` (counted outside strings; the text need not be valid
///   JSON, the parser judges the rest).
constexpr std::optional<json_text_problem> find_json_text_problem(std::string_view text) noexcept {
  using kind = json_text_problem::kind;
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) { // no structural character is ever part of a multi-byte sequence
      const std::size_t len = core::utf8_sequence(text, i);
      if (len == 0)
        return json_text_problem{kind::not_utf8, i + 1};
      i += len;
      continue;
    }
    ++i;
    if (c == 0)
      return json_text_problem{kind::nul_byte, i};
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        return json_text_problem{kind::too_deep, i};
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

/// "<subject> <what is wrong> (byte N)": the sentence of an error answer, e.g. "the body holds a NUL byte (byte
/// 17)".
inline std::string describe(const json_text_problem& problem, std::string_view subject) {
  std::string out{subject};
  switch (problem.what) {
    case json_text_problem::kind::not_utf8: out += " is not valid UTF-8"; break;
    case json_text_problem::kind::nul_byte: out += " holds a NUL byte"; break;
    case json_text_problem::kind::too_deep:
      out += " nests arrays and objects deeper than " + std::to_string(max_json_depth) + " levels";
      break;
  }
  return out + " (byte " + std::to_string(problem.byte) + ")";
}

} // namespace deliveryd::adapters
