#pragma once
/// What tests that read exports back through shell tools (unzip) share: a command's output, and counting a
/// piece of text in it.

#include <array>
#include <cstdio>
#include <string>

namespace deliveryd::testing {

/// Output of a shell command, "" when it fails.
inline std::string run(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    std::array<char, 4096> buffer;
    std::size_t got = 0;
    while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
      out.append(buffer.data(), got);
    ::pclose(pipe);
  }
  return out;
}

/// How many times `needle` occurs in `text`, without overlaps.
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

} // namespace deliveryd::testing
