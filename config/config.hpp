#pragma once
/// The daemon's configuration: plain structs with the contract's defaults, loaded from one TOML file.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/words.hpp"

namespace deliveryd::config {

using std::chrono::milliseconds;

/// `[storage] backend`
enum class storage_backend {
  sqlite,     ///< one file on this host: the embedded default
  postgresql, ///< one database that several hosts share
};

/// `[storage]`
struct storage_config {
  storage_backend backend = storage_backend::sqlite;
  std::string path = "/var/lib/deliveryd/ledger.db"; ///< the SQLite ledger file
  /// PostgreSQL: the libpq connection string (URI or keywords), from `url` (no password allowed there) or from
  /// the file `url_file` (which may hold one). Never logged as it is: core::redact_conninfo.
  std::string url;
  int pool = 8;          ///< PostgreSQL: read connections per daemon, besides the writer's
  std::string host_id;   ///< PostgreSQL: this host's name in the shared ledger (default: the hostname)
  int retention_days = 365;                          ///< how long sends are kept
};

/// `[time]`
struct time_config {
  std::string zone = "Asia/Seoul"; ///< IANA zone of days and months
};

/// `[intake]`
struct intake_config {
  std::string default_region = "KR"; ///< region of phone numbers written without '+'
};

/// `[webhooks]`
struct webhooks_config {
  std::string listen = "0.0.0.0:8080";                  ///< host:port of the vendor listener
  std::string public_url;                               ///< scheme://host[:port] vendors call, for signatures
  std::size_t max_body_bytes = 1024 * 1024;             ///< larger bodies get 413
  milliseconds idle_timeout = std::chrono::seconds{75}; ///< an idle keep-alive connection is kept this long
};

/// `[ops]`
struct ops_config {
  std::string listen = "127.0.0.1:8081";                ///< host:port of the ops listener
  std::optional<std::string> token;                     ///< bearer token (read from token_file), if set
  std::optional<std::string> read_token;                ///< read-only bearer token (read_token_file): queries only
  std::size_t max_body_bytes = 16 * 1024 * 1024;        ///< larger bodies get 413
  milliseconds idle_timeout = std::chrono::seconds{75}; ///< an idle keep-alive connection is kept this long
};

/// `[pricing]`: unit price per medium in one currency.
struct pricing_config {
  std::string currency = "KRW"; ///< ISO 4217
  double sms = 0;               ///< per sms send that is sent or uncertain
  double lms = 0;               ///< per lms send
  double alimtalk = 0;          ///< per alimtalk send
  double email = 0;             ///< per e-mail send

  /// The unit price of a medium. What a send costs is this price when core::is_billable(its status), else 0.
  constexpr double unit_price(core::medium m) const noexcept {
    switch (m) {
      case core::medium::sms: return sms;
      case core::medium::lms: return lms;
      case core::medium::alimtalk: return alimtalk;
      case core::medium::email: return email;
    }
    return 0;
  }
};

/// `[twilio]`; absent section disables the vendor.
struct twilio_config {
  std::string account_sid;                          ///< AC…
  std::string auth_token;                           ///< secret: HMAC key of X-Twilio-Signature
  std::optional<std::string> webhook_shared_key;    ///< secret: key of the HMAC-SHA256 rule header
  std::string api_base = "https://api.twilio.com";  ///< REST base, a fake vendor in tests
  milliseconds poll_after = std::chrono::hours{1};  ///< poll a send still pending this long after requested_at
  milliseconds price_window = std::chrono::hours{24};   ///< keep fetching the price this long
  milliseconds uncertain_after = std::chrono::hours{72}; ///< deadline to ME09
};

/// `[email]`; absent section disables the vendor.
struct email_config {
  std::string verification_key;                           ///< base64 DER P-256 public key
  milliseconds max_skew = std::chrono::minutes{5};        ///< replay window of the signature timestamp
  milliseconds uncertain_after = std::chrono::hours{72};  ///< deadline to ME09
};

/// `[carrier]`; absent section disables the vendor.
struct carrier_config {
  std::string token;                                      ///< secret: shared token of the DLR endpoint
  milliseconds uncertain_after = std::chrono::hours{120}; ///< deadline to ME09
};

/// `[kakao]`; absent section disables the vendor.
struct kakao_config {
  std::string api_base;                                   ///< dealer API base
  std::string service_id;                                 ///< SENS service id
  std::string access_key;                                 ///< x-ncp-iam-access-key
  std::string secret_key;                                 ///< secret: HMAC key
  std::optional<std::string> push_token;                  ///< secret: token of the push endpoint
  milliseconds poll_interval = std::chrono::seconds{30};  ///< first poll and re-poll interval
  milliseconds recheck_window = std::chrono::hours{72};   ///< re-poll uncertain sends until then
  milliseconds uncertain_after = std::chrono::hours{24};  ///< deadline to ME09
};

/// The whole configuration.
struct daemon_config {
  storage_config storage;
  time_config time;
  intake_config intake;
  webhooks_config webhooks;
  ops_config ops;
  pricing_config pricing;
  std::optional<twilio_config> twilio;
  std::optional<email_config> email;
  std::optional<carrier_config> carrier;
  std::optional<kakao_config> kakao;
};

/// A configuration error: a sentence that names the file, the key and what is wrong.
struct config_error {
  std::string message;
};

/// The result of loading: a configuration or an error.
using load_result = std::variant<daemon_config, config_error>;

/// Parses TOML text; `source_name` names the file in errors. Relative paths (the ledger, `*_file`) are taken
/// against the working directory. Unknown keys, wrong types, bad durations, unknown zones or regions and
/// unreadable secret files are errors that name the key.
load_result parse(std::string_view toml_text, const std::string& source_name);

/// Reads and parses a TOML file.
load_result load(const std::string& path);

/// [storage] alone, or an error.
using storage_result = std::variant<storage_config, config_error>;

/// Parses [storage] of TOML text and nothing else (for `deliveryctl copy-ledger`): the other sections name secret
/// files that an operator's shell cannot and need not read. [storage] itself is checked as parse() checks it,
/// url_file read; unknown sections are not an error here.
storage_result parse_storage(std::string_view toml_text, const std::string& source_name);

/// Reads a TOML file and parses its [storage].
storage_result load_storage(const std::string& path);

} // namespace deliveryd::config
