/// Loading the TOML configuration: one reader per section that knows its keys, checks types and collects the
/// first error as a sentence naming the file and the key. Secret values never appear in an error.

#include "config/config.hpp"
#include "core/text.hpp"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <utility>

#include <unistd.h>

#include <phonenumbers/phonenumberutil.h>
#include <toml++/toml.h>

#include "config/toml_guard.hpp"
#include "core/redact.hpp"
#include "core/time.hpp"

namespace deliveryd::config {
namespace {

/// The largest secret file we read; anything bigger is a wrong path, not a key.
constexpr std::size_t max_secret_file_bytes = 64 * 1024;

/// The article and name of a TOML type, for "must be a string, not an integer".
std::string_view describe(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

/// " (line N)" for a node that knows where it came from.
std::string line_of(const toml::source_region& where) {
  if (where.begin.line == 0)
    return {};
  return " (line " + std::to_string(where.begin.line) + ")";
}

using core::trim;

/// Reads a whole file; nullopt with `why` set when it cannot be read or is too large.
std::optional<std::string> read_file(const std::string& path, std::size_t limit, std::string& why) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    why = "it is a directory";
    return std::nullopt;
  }
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return std::nullopt;
  }
  auto text = std::move(buffer).str();
  if (text.size() > limit) {
    why = "larger than " + std::to_string(limit / 1024) + " KiB";
    return std::nullopt;
  }
  return text;
}

/// Reads the keys of one section. The first error wins; after it every call does nothing.
class section_reader {
public:
  section_reader(const toml::table* table, std::string section, const std::string& source,
                 std::optional<config_error>& error)
    : table_{table}, section_{std::move(section)}, source_{source}, error_{error} {}

  /// Fails on the first key of the section that is not in `known`.
  void refuse_unknown(std::initializer_list<std::string_view> known) {
    if (failed() || table_ == nullptr)
      return;
    for (auto&& [key, node] : *table_) {
      bool found = false;
      for (auto name : known)
        found = found || key.str() == name;
      if (!found) {
        fail_raw("unknown key [" + section_ + "] " + std::string{key.str()} + line_of(node.source()));
        return;
      }
    }
  }

  /// Reads an optional string; leaves `out` alone when the key is absent.
  void string(std::string_view key, std::string& out) {
    if (auto value = get_string(key))
      out = std::move(*value);
  }

  /// Reads an optional string into an optional.
  void string(std::string_view key, std::optional<std::string>& out) {
    if (auto value = get_string(key))
      out = std::move(*value);
  }

  /// Reads an optional duration string ("72h"); it must be positive.
  void duration(std::string_view key, std::chrono::milliseconds& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    auto text = node->value<std::string>();
    if (!text)
      return fail(key, "must be a duration string such as \"72h\", not " + std::string{describe(node->type())});
    auto parsed = core::parse_duration(*text);
    if (!parsed)
      return fail(key, "is not a duration (\"" + *text + "\"); write an integer and one of ms, s, m, h, d");
    if (parsed->count() <= 0)
      return fail(key, "must be longer than zero");
    out = *parsed;
  }

  /// Reads an optional integer within [low, high].
  template <class Integer>
  void integer(std::string_view key, std::int64_t low, std::int64_t high, Integer& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    if (!node->is_integer())
      return fail(key, "must be an integer, not " + std::string{describe(node->type())});
    auto value = node->as_integer()->get();
    if (value < low || value > high)
      return fail(key, "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", got "
                         + std::to_string(value));
    out = static_cast<Integer>(value);
  }

  /// Reads an optional non-negative number, integer or float.
  void price(std::string_view key, double& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    double value = 0;
    if (node->is_integer())
      value = static_cast<double>(node->as_integer()->get());
    else if (node->is_floating_point())
      value = node->as_floating_point()->get();
    else
      return fail(key, "must be a number, not " + std::string{describe(node->type())});
    if (!std::isfinite(value) || value < 0)
      return fail(key, "must be a finite number of at least 0");
    out = value;
  }

  /// Reads a secret given inline as `key` or as a path in `key_file`; nullopt when neither is there.
  std::optional<std::string> secret(std::string_view key) {
    auto file_key = std::string{key} + "_file";
    auto inline_node = find(key);
    auto file_node = find(file_key);
    if (inline_node != nullptr && file_node != nullptr) {
      fail(key, "and [" + section_ + "] " + file_key + " are both set; keep one");
      return std::nullopt;
    }
    if (inline_node != nullptr) {
      if (!inline_node->is_string()) {
        fail(key, "must be a string, not " + std::string{describe(inline_node->type())});
        return std::nullopt;
      }
      auto value = inline_node->as_string()->get();
      if (value.empty()) {
        fail(key, "must not be empty");
        return std::nullopt;
      }
      return value;
    }
    return file_secret(file_key, key);
  }

  /// Reads a secret that may only come from a file (`file_key`), named `key` in errors.
  std::optional<std::string> file_secret(const std::string& file_key, std::string_view key) {
    auto path = get_string(file_key);
    if (!path)
      return std::nullopt;
    if (path->empty()) {
      fail(file_key, "must name a file");
      return std::nullopt;
    }
    std::string why;
    auto content = read_file(*path, max_secret_file_bytes, why);
    if (!content) {
      fail(file_key, "names \"" + *path + "\", which cannot be read as the " + std::string{key} + ": " + why);
      return std::nullopt;
    }
    auto value = std::string{trim(*content)};
    if (value.empty()) {
      fail(file_key, "names \"" + *path + "\", which holds no " + std::string{key} + " (the file is empty)");
      return std::nullopt;
    }
    return value;
  }

  /// Fails because a required key is missing.
  void require(std::string_view key, bool present, std::string_view hint = {}) {
    if (!present)
      fail(key, "is required when [" + section_ + "] is present" + std::string{hint});
  }

  /// Fails with "[section] key <what>".
  void fail(std::string_view key, const std::string& what) {
    auto node = table_ == nullptr ? nullptr : table_->get(key);
    fail_raw("[" + section_ + "] " + std::string{key} + " " + what
             + (node == nullptr ? std::string{} : line_of(node->source())));
  }

  /// True once an error is set.
  bool failed() const { return error_.has_value(); }

private:
  const toml::node* find(std::string_view key) const {
    if (failed() || table_ == nullptr)
      return nullptr;
    return table_->get(key);
  }

  std::optional<std::string> get_string(std::string_view key) {
    auto node = find(key);
    if (node == nullptr)
      return std::nullopt;
    if (!node->is_string()) {
      fail(key, "must be a string, not " + std::string{describe(node->type())});
      return std::nullopt;
    }
    return node->as_string()->get();
  }

  void fail_raw(const std::string& sentence) {
    if (!error_)
      error_ = config_error{source_ + ": " + sentence};
  }

  const toml::table* table_;
  std::string section_;
  const std::string& source_;
  std::optional<config_error>& error_;
};

/// True for "host:port" or "[v6]:port" with a port of 1-65535.
bool is_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return false;
  auto host = text.substr(0, colon);
  auto port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return false;
  } else if (host.find_first_of(":[] \t") != std::string_view::npos) {
    return false;
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  int number = 0;
  std::from_chars(port.data(), port.data() + port.size(), number);
  return number >= 1 && number <= 65535;
}

/// Checks an http(s) base URL and strips trailing slashes; false when it is not one.
bool normalize_base_url(std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("http://"))
    rest.remove_prefix(7);
  else
    return false;
  if (rest.empty() || rest.front() == '/' || rest.find_first_of("?# \t\r\n") != std::string_view::npos)
    return false;
  while (url.ends_with('/'))
    url.pop_back();
  return true;
}

/// Reads a base URL key and fails when it is not an http(s) URL. Never prints the value: it may carry
/// credentials.
void read_base_url(section_reader& reader, std::string_view key, std::string& out) {
  reader.string(key, out);
  if (!reader.failed() && !out.empty() && !normalize_base_url(out))
    reader.fail(key, "must be an http:// or https:// URL with a host and without query or fragment");
}

/// True when libphonenumber has metadata for `region` ("KR").
bool is_known_region(const std::string& region) {
  std::set<std::string> regions;
  i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(region) > 0;
}

/// This machine's host name, "" when it has none.
std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0)
    return {};
  return name;
}

void read_storage(section_reader r, storage_config& out) {
  r.refuse_unknown({"backend", "path", "url", "url_file", "pool", "host_id", "retention_days"});
  std::string backend = "sqlite";
  r.string("backend", backend);
  if (!r.failed() && backend != "sqlite" && backend != "postgresql")
    r.fail("backend", "is \"" + backend + "\"; it must be \"sqlite\" or \"postgresql\"");
  out.backend = backend == "postgresql" ? storage_backend::postgresql : storage_backend::sqlite;
  r.string("path", out.path);
  r.integer("retention_days", 1, 3650, out.retention_days);
  r.integer("pool", 1, 100, out.pool);
  r.string("host_id", out.host_id);
  if (!r.failed() && out.path.empty())
    r.fail("path", "must not be empty");
  // The connection string: `url` must hold no password (a config file is read by more people than a secret is);
  // `url_file` may, and is read like every other secret file.
  std::optional<std::string> url;
  r.string("url", url);
  if (!r.failed() && url && !core::conninfo_password(*url).empty())
    r.fail("url", "holds a password; put the whole connection string in url_file, or the password in libpq's "
                  "passfile (~/.pgpass, or passfile= in the string)");
  if (!r.failed() && url && url->empty())
    r.fail("url", "must not be empty");
  auto from_file = r.file_secret("url_file", "url");
  if (!r.failed() && url && from_file)
    r.fail("url", "and [storage] url_file are both set; keep one");
  if (r.failed())
    return;
  out.url = from_file ? *from_file : url.value_or("");
  if (out.backend == storage_backend::postgresql && out.url.empty())
    r.fail("backend", "is \"postgresql\", which needs url or url_file: the connection string of the shared ledger");
  if (out.backend == storage_backend::sqlite && !out.url.empty())
    r.fail(url ? "url" : "url_file", "is set, but backend is \"sqlite\" (set backend = \"postgresql\" to use it)");
  if (out.host_id.empty())
    out.host_id = this_host();
  if (!r.failed() && out.backend == storage_backend::postgresql && out.host_id.empty())
    r.fail("host_id", "must be set: this machine has no host name");
}

void read_time(section_reader r, time_config& out) {
  r.refuse_unknown({"zone"});
  r.string("zone", out.zone);
  if (!r.failed() && !core::zone::locate(out.zone))
    r.fail("zone", "names \"" + out.zone + "\", which is not a zone of the system's tz database");
}

void read_intake(section_reader r, intake_config& out) {
  r.refuse_unknown({"default_region"});
  r.string("default_region", out.default_region);
  for (auto& c : out.default_region)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  if (!r.failed() && !is_known_region(out.default_region))
    r.fail("default_region", "is \"" + out.default_region + "\", which is not a region libphonenumber knows "
                             "(write a two-letter code such as \"KR\")");
}

/// Reads a listener's `idle_timeout`: at least 1s, since `Keep-Alive: timeout=` counts whole seconds and a
/// connection is never closed before the time it advertises; at most a day.
void read_idle_timeout(section_reader& r, std::chrono::milliseconds& out) {
  const bool failed_before = r.failed();
  r.duration("idle_timeout", out);
  if (failed_before || r.failed())
    return;
  if (out < std::chrono::seconds{1})
    r.fail("idle_timeout", "must be at least \"1s\" (the Keep-Alive header tells clients whole seconds)");
  else if (out > std::chrono::hours{24})
    r.fail("idle_timeout", "must be at most \"1d\"");
}

void read_webhooks(section_reader r, webhooks_config& out) {
  r.refuse_unknown({"listen", "public_url", "max_body_bytes", "idle_timeout"});
  r.string("listen", out.listen);
  if (!r.failed() && !is_listen_address(out.listen))
    r.fail("listen", "is \"" + out.listen + "\", which is not host:port with a port of 1-65535");
  read_base_url(r, "public_url", out.public_url);
  r.integer("max_body_bytes", 1, INT64_MAX, out.max_body_bytes);
  read_idle_timeout(r, out.idle_timeout);
}

void read_ops(section_reader r, ops_config& out) {
  r.refuse_unknown({"listen", "token_file", "read_token_file", "max_body_bytes", "idle_timeout"});
  r.string("listen", out.listen);
  if (!r.failed() && !is_listen_address(out.listen))
    r.fail("listen", "is \"" + out.listen + "\", which is not host:port with a port of 1-65535");
  if (auto token = r.file_secret("token_file", "ops token"))
    out.token = std::move(token);
  if (auto token = r.file_secret("read_token_file", "read-only ops token"))
    out.read_token = std::move(token);
  if (out.read_token && !out.token)
    r.fail("read_token_file", "needs token_file too: without it, intake would need no token at all");
  else if (out.read_token && out.token && *out.read_token == *out.token)
    r.fail("read_token_file", "holds the same token as token_file: the read-only token must be another one");
  r.integer("max_body_bytes", 1, INT64_MAX, out.max_body_bytes);
  read_idle_timeout(r, out.idle_timeout);
}

void read_pricing(section_reader r, pricing_config& out) {
  r.refuse_unknown({"currency", "sms", "lms", "alimtalk", "email"});
  r.string("currency", out.currency);
  bool upper3 = out.currency.size() == 3;
  for (char c : out.currency)
    upper3 = upper3 && c >= 'A' && c <= 'Z';
  if (!r.failed() && !upper3)
    r.fail("currency", "is \"" + out.currency + "\", which is not three upper-case letters (ISO 4217, e.g. \"KRW\")");
  r.price("sms", out.sms);
  r.price("lms", out.lms);
  r.price("alimtalk", out.alimtalk);
  r.price("email", out.email);
}

twilio_config read_twilio(section_reader r) {
  twilio_config out;
  r.refuse_unknown({"account_sid", "auth_token", "auth_token_file", "webhook_shared_key", "webhook_shared_key_file",
                    "api_base", "poll_after", "price_window", "uncertain_after"});
  r.string("account_sid", out.account_sid);
  r.require("account_sid", !out.account_sid.empty());
  auto token = r.secret("auth_token");
  r.require("auth_token", token.has_value(), " (or auth_token_file)");
  out.auth_token = token.value_or("");
  out.webhook_shared_key = r.secret("webhook_shared_key");
  read_base_url(r, "api_base", out.api_base);
  r.require("api_base", !out.api_base.empty());
  r.duration("poll_after", out.poll_after);
  r.duration("price_window", out.price_window);
  r.duration("uncertain_after", out.uncertain_after);
  return out;
}

email_config read_email(section_reader r) {
  email_config out;
  r.refuse_unknown({"verification_key", "verification_key_file", "max_skew", "uncertain_after"});
  auto key = r.secret("verification_key");
  r.require("verification_key", key.has_value(), " (or verification_key_file)");
  out.verification_key = key.value_or("");
  r.duration("max_skew", out.max_skew);
  r.duration("uncertain_after", out.uncertain_after);
  return out;
}

carrier_config read_carrier(section_reader r) {
  carrier_config out;
  r.refuse_unknown({"token", "token_file", "uncertain_after"});
  auto token = r.secret("token");
  r.require("token", token.has_value(), " (or token_file)");
  out.token = token.value_or("");
  r.duration("uncertain_after", out.uncertain_after);
  return out;
}

kakao_config read_kakao(section_reader r) {
  kakao_config out;
  r.refuse_unknown({"api_base", "service_id", "access_key", "access_key_file", "secret_key", "secret_key_file",
                    "push_token", "push_token_file", "poll_interval", "recheck_window", "uncertain_after"});
  read_base_url(r, "api_base", out.api_base);
  r.require("api_base", !out.api_base.empty());
  r.string("service_id", out.service_id);
  r.require("service_id", !out.service_id.empty());
  auto access = r.secret("access_key");
  r.require("access_key", access.has_value(), " (or access_key_file)");
  out.access_key = access.value_or("");
  auto secret = r.secret("secret_key");
  r.require("secret_key", secret.has_value(), " (or secret_key_file)");
  out.secret_key = secret.value_or("");
  out.push_token = r.secret("push_token");
  r.duration("poll_interval", out.poll_interval);
  r.duration("recheck_window", out.recheck_window);
  r.duration("uncertain_after", out.uncertain_after);
  return out;
}

/// The sections of the file, in the order they are read.
constexpr std::string_view section_names[] = {"storage", "time",   "intake", "webhooks", "ops",
                                              "pricing", "twilio", "email",  "carrier",  "kakao"};

/// Fails on a top-level entry that is not a known section, or a known section that is not a table.
void refuse_unknown_sections(const toml::table& root, const std::string& source, std::optional<config_error>& error) {
  for (auto&& [key, node] : root) {
    bool known = false;
    for (auto name : section_names)
      known = known || key.str() == name;
    std::string name{key.str()};
    if (!known && node.is_table())
      error = config_error{source + ": unknown section [" + name + "]" + line_of(node.source())};
    else if (!known)
      error = config_error{source + ": unknown key " + name + " outside any section" + line_of(node.source())};
    else if (!node.is_table())
      error = config_error{source + ": " + name + " must be a section [" + name + "], not "
                           + std::string{describe(node.type())} + line_of(node.source())};
    if (error)
      return;
  }
}

/// Reads every section of a parsed document.
load_result read_document(const toml::table& root, const std::string& source) {
  std::optional<config_error> error;
  refuse_unknown_sections(root, source, error);
  if (error)
    return *error;
  auto reader = [&](std::string_view name) {
    return section_reader{root.get_as<toml::table>(name), std::string{name}, source, error};
  };
  auto present = [&](std::string_view name) { return root.get_as<toml::table>(name) != nullptr; };
  daemon_config config;
  read_storage(reader("storage"), config.storage);
  read_time(reader("time"), config.time);
  read_intake(reader("intake"), config.intake);
  read_webhooks(reader("webhooks"), config.webhooks);
  read_ops(reader("ops"), config.ops);
  read_pricing(reader("pricing"), config.pricing);
  if (present("twilio"))
    config.twilio = read_twilio(reader("twilio"));
  if (present("email"))
    config.email = read_email(reader("email"));
  if (present("carrier"))
    config.carrier = read_carrier(reader("carrier"));
  if (present("kakao"))
    config.kakao = read_kakao(reader("kakao"));
  // Only Twilio signs the URL it calls, so only Twilio needs to know it.
  if (!error && config.twilio && config.webhooks.public_url.empty())
    error = config_error{source + ": [webhooks] public_url is required when [twilio] is present (Twilio signs "
                                  "the URL it calls, e.g. \"https://hooks.example.com\")"};
  if (error)
    return *error;
  return config;
}

/// Parses TOML text and gives the document to `read`, which returns a `Result` (a variant with config_error).
template <class Result, class Read>
Result parse_with(std::string_view toml_text, const std::string& source_name, Read&& read) {
  if (const auto unsafe = find_unsafe_character(toml_text))
    return config_error{source_name + ": line " + std::to_string(unsafe->line) + " holds U+" + hex_digits(*unsafe)
                        + ", which the TOML library of this build reads safely only in comments and one-line strings"
                          " (inside a string, write it as \\u" + hex_digits(*unsafe) + ")"};
  try {
    auto root = toml::parse(toml_text, source_name);
    return read(root);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return config_error{source_name + ": invalid TOML at line " + std::to_string(where.line) + ", column "
                        + std::to_string(where.column) + ": " + std::string{e.description()}};
  } catch (const std::exception& e) {
    return config_error{source_name + ": cannot be loaded: " + e.what()};
  }
}

/// Reads a configuration file and parses it with `parse_text`.
template <class Result, class Parse>
Result load_with(const std::string& path, Parse&& parse_text) {
  std::string why;
  // A config is small; the cap only guards against pointing --config at the wrong file.
  auto text = read_file(path, 16 * 1024 * 1024, why);
  if (!text)
    return config_error{path + ": cannot read the configuration file: " + why};
  return parse_text(*text, path);
}

} // namespace

load_result parse(std::string_view toml_text, const std::string& source_name) {
  return parse_with<load_result>(toml_text, source_name,
                                 [&](const toml::table& root) { return read_document(root, source_name); });
}

load_result load(const std::string& path) { return load_with<load_result>(path, parse); }

storage_result parse_storage(std::string_view toml_text, const std::string& source_name) {
  return parse_with<storage_result>(toml_text, source_name, [&](const toml::table& root) -> storage_result {
    std::optional<config_error> error;
    if (const auto* node = root.get("storage"); node != nullptr && !node->is_table())
      return config_error{source_name + ": storage must be a section [storage], not "
                          + std::string{describe(node->type())} + line_of(node->source())};
    storage_config out;
    read_storage(section_reader{root.get_as<toml::table>("storage"), "storage", source_name, error}, out);
    if (error)
      return *error;
    return out;
  });
}

storage_result load_storage(const std::string& path) { return load_with<storage_result>(path, parse_storage); }

} // namespace deliveryd::config
