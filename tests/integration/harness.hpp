#pragma once
/// The integration harness: runs the built deliveryd as a child process on loopback ports with a fresh ledger in
/// a temporary folder, and gives the tests what they need to talk to it (signed Twilio callbacks, intake items,
/// times in the configured zone). Everything here is independent of the daemon's own code: signatures, form
/// encoding and dates are computed from the contract and docs/vendors.md#twilio-signature, not by linking the
/// adapters.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace it {

using json = nlohmann::json;
namespace fs = std::filesystem;
using clock_type = std::chrono::system_clock;
using seconds_point = std::chrono::sys_seconds;

/// The Twilio auth token every harness daemon is configured with.
inline constexpr const char* auth_token = "test-auth-token";

/// The path of the Twilio status callback on the webhooks listener.
inline constexpr const char* twilio_path = "/webhooks/twilio";

// ---- sanitizer builds ---------------------------------------------------------------------------------------

/// True when the tests and the daemon they start are built with sanitizers (cmake -DDELIVERYD_SANITIZE=...).
#ifdef DELIVERYD_SANITIZED
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

/// A bound on the daemon's RSS, in bytes. Under AddressSanitizer the memory is its allocator's: redzones and
/// shadow about double what the daemon holds, and up to 256 MiB of freed blocks wait in quarantine (to catch a
/// use after free), so a sanitizer build widens the bound by that much. Unbounded growth still fails.
constexpr std::size_t rss_bound(std::size_t bytes) { return sanitized ? 2 * bytes + (std::size_t{256} << 20) : bytes; }

/// A form body's parameters, in the order they are sent.
using form_params = std::vector<std::pair<std::string, std::string>>;

// ---- time ---------------------------------------------------------------------------------------------------

/// Now, whole seconds.
seconds_point now_seconds();

/// RFC 3339 in Asia/Seoul (UTC+9 all year, no DST since 1988), as the daemon formats whole seconds:
/// "2026-11-27T10:00:00+09:00".
std::string seoul_rfc3339(seconds_point t);

/// The calendar day of `t` in Asia/Seoul, "YYYY-MM-DD".
std::string seoul_date(seconds_point t);

/// A base time a couple of minutes ago such that base .. base + span stays on one Seoul calendar day, so that
/// a test's sends all land on one day-log page set.
seconds_point same_day_base(std::chrono::seconds span = std::chrono::seconds{600});

// ---- Twilio -------------------------------------------------------------------------------------------------

/// X-Twilio-Signature as docs/vendors.md#twilio-signature gives it: base64(HMAC-SHA1(token, url + for each
/// parameter sorted by name (then value, bytewise) name + value)).
std::string twilio_signature(const std::string& token, const std::string& url, const form_params& params);

/// application/x-www-form-urlencoded: every byte but ALPHA / DIGIT / "-._~" percent-encoded.
std::string form_encode(const form_params& params);

/// Decodes a form body ('+' is a space, %XX a byte); nullopt on a malformed escape.
std::optional<form_params> form_decode(const std::string& body);

/// The parameters of a status callback as Twilio sends them (with the legacy duplicates); `error_code` only when
/// not empty.
form_params twilio_callback(const std::string& message_sid, const std::string& status,
                            const std::string& error_code = {});

// ---- intake -------------------------------------------------------------------------------------------------

/// One intake item of a Twilio SMS send (follow_up, contact 010-1234-5678 unless given).
json twilio_send(const std::string& send_id, seconds_point requested_at,
                 const std::optional<std::string>& vendor_message_id = std::nullopt,
                 const std::string& contact = "010-1234-5678");

// ---- the daemon ---------------------------------------------------------------------------------------------

/// What a test may change in the generated configuration.
struct daemon_options {
  std::optional<std::size_t> webhooks_max_body_bytes; ///< [webhooks] max_body_bytes
  std::optional<std::size_t> ops_max_body_bytes;      ///< [ops] max_body_bytes
  std::string twilio_extra;                           ///< more keys of [twilio], TOML lines
  std::string ops_extra;                              ///< more keys of [ops] (token_file, …), TOML lines
  std::string webhooks_extra;                         ///< more keys of [webhooks] (idle_timeout, …), TOML lines
  std::optional<std::string> ops_token;               ///< written to a file named by [ops] token_file
  std::optional<std::string> ops_read_token;          ///< written to a file named by [ops] read_token_file
  std::string extra_toml;                             ///< more sections, appended as they are
  std::string storage_extra;                          ///< more keys of [storage] (retention_days, …), TOML lines
  std::optional<fs::path> tmpdir;                     ///< TMPDIR in the daemon's environment (else the test's)
  std::optional<fs::path> ledger_path;                ///< [storage] path (else ledger.db in the daemon's folder)
  std::optional<fs::path> notify_socket;              ///< NOTIFY_SOCKET in the daemon's environment (sd_notify)
  std::vector<std::string> environment;               ///< more of the daemon's environment, "NAME=value" each
  /// The back end of the ledger whatever the suite runs on (else the suite's: on_postgresql()): a test with
  /// daemons on both, such as copy-ledger's. The harness's ledger_rows() and friends follow the suite's.
  std::optional<bool> postgresql;
  /// On PostgreSQL, a libpq connection string of the test's own (a cluster it stops and starts, a password)
  /// instead of the suite's shared cluster: written to a file of mode 0600 that [storage] url_file names.
  std::optional<std::string> postgresql_url;
};

/// A fresh temporary folder, removed with its content on destruction (kept when DELIVERYD_IT_KEEP is set).
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The folder.
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

/// A free loopback TCP port: bind port 0, read it, close.
int free_port();

/// Writes `text` to `file` (no newline added).
void write_file(const fs::path& file, const std::string& text);

/// The whole content of a file, "" if it cannot be read.
std::string read_file(const fs::path& file);

/// The first line of a sanitizer report (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer) in a
/// program's output, "" when there is none. In a DELIVERYD_SANITIZE build the daemon and deliveryctl abort on
/// their first finding; the harness fails the test on any report so that a finding in the child cannot pass.
std::string sanitizer_report(const std::string& output);

/// The result of running a program to its end.
struct run_result {
  int exit_code = -1;  ///< the exit status, or -1 when it did not exit normally
  std::string output;  ///< stdout and stderr, interleaved
};

/// Runs `argv` (argv[0] a path) with stdout and stderr captured, waits up to `timeout`.
run_result run_program(const std::vector<std::string>& argv, std::chrono::seconds timeout);

/// deliveryd on its own temporary folder and loopback ports, started by the constructor.
class daemon_process {
public:
  explicit daemon_process(daemon_options options = {});
  ~daemon_process();
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  /// Starts the daemon on the same folder, ledger and ports; returns when GET /healthz answers 200 (fails the
  /// test with the captured log after 10 s or when the daemon exits).
  void start();

  /// SIGTERM, then waits up to `timeout` for the exit; returns the exit code (-1 when killed by a signal; the
  /// test fails and the daemon is SIGKILLed when it does not stop in time, or when the log holds a sanitizer
  /// report). The destructor stops a running daemon the same way, so that leak checks run at every test's end.
  int terminate(std::chrono::seconds timeout = std::chrono::seconds{20});

  /// SIGKILL and reap (fails the test when the log holds a sanitizer report).
  void kill_hard();

  /// Waits up to `timeout` for the daemon to exit by itself and returns its exit code (-1 when a signal ended
  /// it); fails the test when it is still running then (and SIGKILLs it), or the log holds a sanitizer report.
  int wait_for_own_exit(std::chrono::seconds timeout);

  /// Rewrites the configuration (and TMPDIR) for the next start(), on the same folder, ledger and ports; only
  /// while the daemon is stopped.
  void reconfigure(const daemon_options& options);

  /// True while the child has not been reaped.
  bool running() const { return pid_ > 0; }

  /// The child's process id while it runs, else -1.
  pid_t pid() const { return pid_; }

  /// The ops listener's port.
  int ops_port() const { return ops_port_; }
  /// The webhooks listener's port.
  int webhooks_port() const { return webhooks_port_; }
  /// [webhooks] public_url.
  std::string public_url() const;
  /// The SQLite ledger.
  fs::path ledger_path() const { return ledger_path_; }
  /// The configuration file.
  fs::path config_path() const { return dir_.path() / "deliveryd.toml"; }
  /// Everything the daemon wrote to stderr and stdout so far, across restarts.
  std::string log() const;

  /// A keep-alive client of the ops listener (with the bearer token when ops_token was set).
  std::unique_ptr<httplib::Client> ops_client() const;
  /// A keep-alive client of the webhooks listener.
  std::unique_ptr<httplib::Client> webhooks_client() const;

private:
  void write_config(const daemon_options& options);
  /// Waits up to `timeout` for the exit and returns its code; else SIGKILLs and fails the test, saying it `late`.
  int reap(std::chrono::seconds timeout, const std::string& late);
  /// A sanitizer report in the part of the log not looked at yet ("" when none), so that each is failed once.
  std::string new_sanitizer_report();

  temp_dir dir_;
  int ops_port_ = 0;
  int webhooks_port_ = 0;
  std::optional<std::string> ops_token_;
  std::optional<fs::path> tmpdir_;
  std::optional<fs::path> notify_socket_;
  std::vector<std::string> environment_;
  fs::path ledger_path_;
  pid_t pid_ = -1;
  std::size_t log_checked_ = 0; ///< how much of the log new_sanitizer_report has looked at
};

/// A keep-alive client with TCP_NODELAY and generous time-outs.
std::unique_ptr<httplib::Client> make_client(int port);

/// POSTs a callback to /webhooks/twilio signed with `token` for `public_url` + `target`.
httplib::Result post_twilio(httplib::Client& client, const std::string& public_url, const form_params& params,
                            const std::string& target = twilio_path, const std::string& token = auth_token);

/// POSTs a JSON array of sends to /v1/sends.
httplib::Result post_sends(httplib::Client& client, const json& items);

/// GET `path`, parsed as JSON; fails the test when the status is not `expected_status` or the body is not JSON.
json get_json(httplib::Client& client, const std::string& path, int expected_status = 200);

/// The parsed body of a result; fails the test when there is no answer or it is not JSON.
json body_of(const httplib::Result& result);

/// A short description of a result for failure messages: "HTTP 403 {...}" or "no answer (error N)".
std::string describe(const httplib::Result& result);

/// Polls GET /v1/sends/{id} until `ready` holds or `within` has passed; returns the last answer.
json wait_for_send(httplib::Client& ops, const std::string& send_id, const std::function<bool(const json&)>& ready,
                   std::chrono::seconds within = std::chrono::seconds{20});

/// True when the suite runs on the PostgreSQL back end (DELIVERYD_TEST_BACKEND=postgresql): every daemon's ledger
/// is then a database of its own in one throwaway cluster, named after its ledger_path(). Tests tagged [sqlite]
/// check SQLite's own file and are left out there.
bool on_postgresql();

/// The rows a query of `d`'s ledger gives, as text ("<null>" for NULL), through a connection of the test's own, on
/// either back end (the SQL must mean the same on both).
std::vector<std::vector<std::string>> ledger_rows(const daemon_process& d, const std::string& sql);

/// The single integer a query of `d`'s ledger gives.
long long ledger_int(const daemon_process& d, const std::string& sql);

/// Runs `sql` on `d`'s ledger through a connection of the test's own, as damage from outside would.
void ledger_exec(const daemon_process& d, const std::string& sql);

} // namespace it
