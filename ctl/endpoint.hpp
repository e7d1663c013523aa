#pragma once
/// Where deliveryctl finds the ops listener: `[ops] listen` and `token_file` of deliveryd's configuration.
///
/// Only the [ops] section is read, with no validation of the rest: the other sections name secret files
/// (under /run/credentials/deliveryd.service/) that an operator's shell cannot and need not read.

#include <optional>
#include <string>
#include <variant>

namespace deliveryd::ctl {

/// The configuration file used when neither --config nor DELIVERYD_CONFIG names one.
inline constexpr const char* default_config_path = "/etc/deliveryd/deliveryd.toml";

/// The ops listener as deliveryctl connects to it.
struct ops_endpoint {
  std::string host = "127.0.0.1";         ///< a wildcard listen address becomes loopback
  int port = 8081;
  std::optional<std::string> token;        ///< the bearer token, when one was read
  std::optional<std::string> token_problem; ///< why a configured token file could not be read

  /// "host:port" for messages ("[::1]:8081" for IPv6).
  std::string display() const;
};

/// Why the configuration cannot be used: a sentence naming the file.
struct endpoint_error {
  std::string message;
};

/// Reads the endpoint from TOML text; `source` names the file in errors, `token_file` overrides
/// [ops] token_file. A token file that cannot be read is not an error here (GET /healthz needs no token, and
/// the service may be down, taking its credentials with it): it is kept in token_problem.
std::variant<ops_endpoint, endpoint_error> endpoint_from_toml(const std::string& text, const std::string& source,
                                                              const std::optional<std::string>& token_file);

/// The configuration file to read: `flag` (--config), else `env` (DELIVERYD_CONFIG) when set and not empty, else
/// default_config_path.
std::string config_file(const std::optional<std::string>& flag, const char* env);

/// The configuration to read: `flag` (--config), else `env` (DELIVERYD_CONFIG), else the default path.
/// Loads it; a missing default file means the built-in defaults (127.0.0.1:8081, no token), a missing file
/// that was named explicitly is an error.
std::variant<ops_endpoint, endpoint_error> load_endpoint(const std::optional<std::string>& flag, const char* env,
                                                         const std::optional<std::string>& token_file);

} // namespace deliveryd::ctl
