#pragma once
/// Building the paths of outbound vendor requests: percent-encoding one path segment (RFC 3986 §3.3).
/// Header-only and pure, shared by the vendors' clients (Kakao result path, Twilio message path).

#include <string>
#include <string_view>

namespace deliveryd::adapters {

/// True for the bytes a path segment carries as they are: RFC 3986 unreserved (ALPHA DIGIT - . _ ~) plus ':'
/// and '@'. The sub-delimiters (! $ & ' ( ) * + , ; =) are legal in a segment too, but are encoded so that
/// no gateway can read them as structure; ':' stays so that NCP service ids ("ncp:kkobizmsg:kr:…") are
/// sent, and signed, as NCP documents them.
constexpr bool is_segment_safe(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == ':' || c == '@';
}

/// Percent-encodes `text` as one path segment: safe bytes as they are, every other byte as %XX (upper-case hex,
/// UTF-8 bytes one by one). A segment that is exactly "." or ".." is encoded as "%2E" / "%2E%2E", so that it
/// cannot be removed as a dot segment on the way.
inline std::string encode_path_segment(std::string_view text) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  if (text == "." || text == "..") {
    for (std::size_t i = 0; i < text.size(); ++i)
      out += "%2E";
    return out;
  }
  out.reserve(text.size());
  for (const char c : text) {
    if (is_segment_safe(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0x0F]);
    }
  }
  return out;
}

} // namespace deliveryd::adapters
