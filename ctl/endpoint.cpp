#include "ctl/endpoint.hpp"
#include "core/text.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace deliveryd::ctl {

namespace {

using core::trim;

/// The content of a file, or why it cannot be read.
struct file_text {
  std::optional<std::string> text; ///< nullopt when the file cannot be read
  std::string why;                 ///< why not
};

file_text read_text(const std::string& path, std::size_t limit) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    return {std::nullopt, "it is a directory"};
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, std::strerror(errno)};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  auto text = std::move(buffer).str();
  if (text.size() > limit)
    return {std::nullopt, "it is too large"};
  return {std::move(text), {}};
}

/// Splits "host:port" ("[v6]:port" too); a wildcard host becomes the loopback address of its family.
bool split_listen(std::string_view text, ops_endpoint& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return false;
  std::string host{text.substr(0, colon)};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = text.substr(colon + 1);
  int number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || number < 1 || number > 65535)
    return false;
  if (host == "0.0.0.0" || host == "*")
    host = "127.0.0.1";
  else if (host == "::")
    host = "::1";
  out.host = host;
  out.port = number;
  return true;
}

void read_token(const std::string& path, ops_endpoint& out) {
  auto file = read_text(path, 64 * 1024);
  if (!file.text) {
    out.token_problem = "the ops token file " + path + " cannot be read (" + file.why + ")";
    return;
  }
  auto token = trim(*file.text);
  if (token.empty())
    out.token_problem = "the ops token file " + path + " is empty";
  else
    out.token = std::string{token};
}

} // namespace

std::string ops_endpoint::display() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::variant<ops_endpoint, endpoint_error> endpoint_from_toml(const std::string& text, const std::string& source,
                                                              const std::optional<std::string>& token_file) {
  ops_endpoint out;
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return endpoint_error{source + ": invalid TOML at line " + std::to_string(e.source().begin.line) + ": "
                          + std::string{e.description()}};
  }
  std::optional<std::string> configured_token_file;
  if (const auto* ops = root.get("ops"); ops != nullptr) {
    if (!ops->is_table())
      return endpoint_error{source + ": ops must be a section [ops]"};
    const auto& table = *ops->as_table();
    if (const auto* listen = table.get("listen")) {
      if (!listen->is_string() || !split_listen(listen->as_string()->get(), out))
        return endpoint_error{source + ": [ops] listen must be \"host:port\""};
    }
    if (const auto* file = table.get("token_file")) {
      if (!file->is_string() || file->as_string()->get().empty())
        return endpoint_error{source + ": [ops] token_file must name a file"};
      configured_token_file = file->as_string()->get();
    }
  }
  if (token_file)
    read_token(*token_file, out);
  else if (configured_token_file)
    read_token(*configured_token_file, out);
  return out;
}

std::string config_file(const std::optional<std::string>& flag, const char* env) {
  if (flag)
    return *flag;
  if (env != nullptr && *env != '\0')
    return env;
  return default_config_path;
}

std::variant<ops_endpoint, endpoint_error> load_endpoint(const std::optional<std::string>& flag, const char* env,
                                                         const std::optional<std::string>& token_file) {
  const bool named = flag || (env != nullptr && *env != '\0');
  const std::string path = config_file(flag, env);
  auto file = read_text(path, 16 * 1024 * 1024);
  if (!file.text) {
    std::error_code ignored;
    if (!named && !std::filesystem::exists(path, ignored)) {
      ops_endpoint defaults;
      if (token_file)
        read_token(*token_file, defaults);
      return defaults;
    }
    return endpoint_error{path + ": cannot read deliveryd's configuration (" + file.why + ")"};
  }
  return endpoint_from_toml(*file.text, path, token_file);
}

} // namespace deliveryd::ctl
