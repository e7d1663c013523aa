#include "adapters/form.hpp"

#include "core/utf8.hpp"

namespace deliveryd::adapters {

namespace {

/// The value of a hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Decodes one name or value: '+' is a space, %XX an escaped byte. nullopt on a malformed escape, a NUL byte
/// or invalid UTF-8.
std::optional<std::string> decode_component(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (raw.size() - i < 3)
        return std::nullopt;
      const int hi = hex_value(raw[i + 1]);
      const int lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  if (out.find('\0') != std::string::npos || !core::is_valid_utf8(out))
    return std::nullopt;
  return out;
}

} // namespace

std::optional<form_params> parse_form(std::string_view body) {
  form_params params;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty())
      continue; // "a=1&&b=2" and a trailing '&' carry no parameter
    const auto eq = pair.find('=');
    auto name = decode_component(pair.substr(0, eq));
    auto value = decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value)
      return std::nullopt;
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

} // namespace deliveryd::adapters
