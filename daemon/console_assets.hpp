#pragma once
/// The console's files (console/), compiled into the binary at build time by cmake/embed_console.cmake.

#include <cstddef>
#include <span>
#include <string_view>

namespace deliveryd::daemon {

/// One file of the console.
struct console_asset {
  std::string_view name;         ///< its name in console/ ("index.html", "console.js", …)
  std::string_view content_type; ///< with a charset for text
  std::string_view etag;         ///< the first 20 hex digits of the SHA-256 of its content (not quoted)
  const unsigned char* data;      ///< the file as written
  std::size_t size;               ///< bytes at `data`
  const unsigned char* gzip_data; ///< the file gzip-compressed (level 9) at build time
  std::size_t gzip_size;          ///< bytes at `gzip_data`

  /// The file as written.
  std::string_view content() const noexcept { return {reinterpret_cast<const char*>(data), size}; }
  /// The file gzip-compressed.
  std::string_view gzip() const noexcept { return {reinterpret_cast<const char*>(gzip_data), gzip_size}; }
};

/// Every file of the console, sorted by name.
std::span<const console_asset> console_assets() noexcept;

} // namespace deliveryd::daemon
