#include "harness.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>


#include "../support/ledger_sql.hpp"
#include "../support/postgres_cluster.hpp"

namespace it {

namespace {

using namespace std::chrono_literals;

/// "YYYY-MM-DD" and "hh:mm:ss" of a UTC+9 wall clock.
std::pair<std::string, std::string> seoul_parts(seconds_point t) {
  const auto local = t + 9h;
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{local - day};
  char date[16];
  char time[16];
  std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  std::snprintf(time, sizeof time, "%02d:%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return {date, time};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(const std::string& raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '+') {
      out.push_back(' ');
    } else if (raw[i] == '%') {
      if (i + 2 >= raw.size())
        return std::nullopt;
      const int hi = hex_digit(raw[i + 1]);
      const int lo = hex_digit(raw[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

/// Waits for `pid` up to `timeout`; the raw wait status, or nullopt when it is still running.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      return 0; // not our child any more: nothing to wait for
    if (std::chrono::steady_clock::now() >= until)
      return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

/// Where the first line of a sanitizer report starts in `output` (npos when there is none). ASan and LSan begin
/// with "==pid==ERROR: ...Sanitizer"; UBSan with "file:line:column: runtime error: ..." (and gcc's runtime prints
/// no SUMMARY line after it), so that marker counts only after a column number.
std::size_t sanitizer_marker(const std::string& output) {
  std::size_t first = std::min(output.find("ERROR: AddressSanitizer"), output.find("ERROR: LeakSanitizer"));
  const std::string ubsan = ": runtime error: ";
  for (auto at = output.find(ubsan); at != std::string::npos && at < first; at = output.find(ubsan, at + 1)) {
    if (at > 0 && std::isdigit(static_cast<unsigned char>(output[at - 1])))
      first = at;
  }
  return first;
}

/// This process's environment with `overrides` ("NAME=value") in place of the variables they name.
std::vector<std::string> environment_with(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry{*e};
    const auto name = entry.substr(0, entry.find('=') + 1);
    const bool replaced = std::any_of(overrides.begin(), overrides.end(),
                                      [&](const std::string& o) { return o.compare(0, name.size(), name) == 0; });
    if (!replaced)
      env.push_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

/// fork + exec with stdout and stderr appended to `output` and `env_overrides` ("NAME=value") in the
/// environment; the child gets default signal dispositions and an empty signal mask whatever the test runner set
/// up.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& output,
            const std::vector<std::string>& env_overrides = {}) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Built before fork: only async-signal-safe calls are allowed in the child.
  const auto env_strings = environment_with(env_overrides);
  std::vector<char*> env;
  for (const auto& e : env_strings)
    env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  const std::string out = output.string();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
      ::_exit(126);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, STDIN_FILENO);
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
      ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), env.data());
    ::_exit(127);
  }
  return pid;
}

} // namespace

// ---- time ---------------------------------------------------------------------------------------------------

seconds_point now_seconds() { return std::chrono::floor<std::chrono::seconds>(clock_type::now()); }

std::string seoul_rfc3339(seconds_point t) {
  auto [date, time] = seoul_parts(t);
  return date + "T" + time + "+09:00";
}

std::string seoul_date(seconds_point t) { return seoul_parts(t).first; }

seconds_point same_day_base(std::chrono::seconds span) {
  auto base = now_seconds() - 2min - span;
  // Near Seoul midnight, step back into the previous day so that the whole span stays on one day.
  while (seoul_date(base) != seoul_date(base + span))
    base -= 10min;
  return base;
}

// ---- Twilio -------------------------------------------------------------------------------------------------

std::string twilio_signature(const std::string& token, const std::string& url, const form_params& params) {
  auto sorted = params;
  std::sort(sorted.begin(), sorted.end()); // by name, then value; std::string compares bytes
  std::string data = url;
  for (const auto& [name, value] : sorted)
    data += name + value;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  // No Catch2 assertion here: load workers sign from their own threads.
  if (HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_len) == nullptr)
    throw std::runtime_error{"HMAC-SHA1 failed"};
  std::string b64(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac.data(), static_cast<int>(mac_len));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

std::string form_encode(const form_params& params) {
  auto encode = [](const std::string& text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
      const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                              || c == '.' || c == '_' || c == '~';
      if (unreserved) {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('%');
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
      }
    }
    return out;
  };
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty())
      body.push_back('&');
    body += encode(name) + "=" + encode(value);
  }
  return body;
}

std::optional<form_params> form_decode(const std::string& body) {
  form_params out;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string::npos)
      end = body.size();
    const auto pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      auto name = percent_decode(pair.substr(0, eq));
      auto value = percent_decode(eq == std::string::npos ? std::string{} : pair.substr(eq + 1));
      if (!name || !value)
        return std::nullopt;
      out.emplace_back(std::move(*name), std::move(*value));
    }
    start = end + 1;
  }
  return out;
}

form_params twilio_callback(const std::string& message_sid, const std::string& status, const std::string& error_code) {
  form_params p{
    {"SmsSid", message_sid},
    {"SmsStatus", status},
    {"MessageStatus", status},
    {"To", "+821012345678"},
    {"MessageSid", message_sid},
    {"AccountSid", "AC00000000000000000000000000000000"},
    {"From", "+15005550006"},
    {"ApiVersion", "2010-04-01"},
  };
  if (!error_code.empty())
    p.insert(p.begin(), {"ErrorCode", error_code});
  return p;
}

// ---- intake -------------------------------------------------------------------------------------------------

json twilio_send(const std::string& send_id, seconds_point requested_at,
                 const std::optional<std::string>& vendor_message_id, const std::string& contact) {
  json item{
    {"send_id", send_id},
    {"type", "follow_up"},
    {"medium", "sms"},
    {"vendor", "twilio"},
    {"contact", contact},
    {"requested_at", seoul_rfc3339(requested_at)},
  };
  if (vendor_message_id)
    item["vendor_message_id"] = *vendor_message_id;
  return item;
}

// ---- files and processes ------------------------------------------------------------------------------------

temp_dir::temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "deliveryd-it-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  if (std::getenv("DELIVERYD_IT_KEEP") != nullptr)
    return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out{file, std::ios::binary | std::ios::trunc};
  out << text;
  REQUIRE(out.good());
}

std::string read_file(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string sanitizer_report(const std::string& output) {
  const auto first = sanitizer_marker(output);
  if (first == std::string::npos)
    return {};
  const auto line_start = output.rfind('\n', first);
  const auto begin = line_start == std::string::npos ? 0 : line_start + 1;
  return output.substr(begin, output.find('\n', first) - begin);
}

run_result run_program(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  temp_dir dir;
  const auto output = dir.path() / "output";
  const pid_t pid = spawn(argv, output);
  auto status = wait_for_exit(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = wait_for_exit(pid, 5s);
    FAIL("program did not exit within " << timeout.count() << " s: " << argv[0]);
  }
  run_result result{exit_code_of(status.value_or(0)), read_file(output)};
  if (const auto report = sanitizer_report(result.output); !report.empty())
    FAIL(argv[0] << ": " << report << "\nits output:\n" << result.output);
  return result;
}

// ---- the daemon ---------------------------------------------------------------------------------------------

daemon_process::daemon_process(daemon_options options) {
  ops_port_ = free_port();
  do
    webhooks_port_ = free_port();
  while (webhooks_port_ == ops_port_);
  reconfigure(options);
  start();
}

daemon_process::~daemon_process() {
  if (pid_ > 0) {
    // SIGTERM rather than SIGKILL: LeakSanitizer checks at a normal exit only. No check of the exit code or the
    // time here (the tests that care call terminate()); a daemon that does not stop is killed.
    ::kill(pid_, SIGTERM);
    if (!wait_for_exit(pid_, 20s)) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(pid_, 5s);
    }
  }
  // Not FAIL: a destructor must not throw, and it may run while a failed REQUIRE unwinds.
  if (const auto report = new_sanitizer_report(); !report.empty())
    FAIL_CHECK("deliveryd: " << report << "\nits log:\n" << log());
}

std::string daemon_process::new_sanitizer_report() {
  const auto text = log();
  const auto unchecked = text.substr(std::min(log_checked_, text.size()));
  log_checked_ = text.size();
  return sanitizer_report(unchecked);
}

void daemon_process::reconfigure(const daemon_options& options) {
  REQUIRE(pid_ <= 0);
  ops_token_ = options.ops_token;
  tmpdir_ = options.tmpdir;
  notify_socket_ = options.notify_socket;
  environment_ = options.environment;
  if (options.ledger_path)
    ledger_path_ = *options.ledger_path;
  else if (ledger_path_.empty())
    ledger_path_ = dir_.path() / "ledger.db";
  write_config(options);
}

void daemon_process::write_config(const daemon_options& options) {
  std::ostringstream toml;
  toml << "[storage]\npath = \"" << ledger_path().string() << "\"\n";
  if (options.postgresql_url) {
    const auto file = dir_.path() / "ledger-url";
    write_file(file, *options.postgresql_url + "\n");
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    toml << "backend = \"postgresql\"\nurl_file = \"" << file.string() << "\"\nhost_id = \"it-" << webhooks_port_
         << "\"\n";
  } else if (options.postgresql.value_or(on_postgresql())) {
    toml << "backend = \"postgresql\"\nurl = \""
         << deliveryd::testing::shared_cluster().connection_string(deliveryd::testing::shared_database(ledger_path()))
         << "\"\nhost_id = \"it-" << webhooks_port_ << "\"\n";
  }
  toml << options.storage_extra << "\n"
       << "[time]\nzone = \"Asia/Seoul\"\n\n"
       << "[webhooks]\nlisten = \"127.0.0.1:" << webhooks_port_ << "\"\npublic_url = \"" << public_url() << "\"\n";
  if (options.webhooks_max_body_bytes)
    toml << "max_body_bytes = " << *options.webhooks_max_body_bytes << "\n";
  toml << options.webhooks_extra;
  toml << "\n[ops]\nlisten = \"127.0.0.1:" << ops_port_ << "\"\n";
  if (options.ops_max_body_bytes)
    toml << "max_body_bytes = " << *options.ops_max_body_bytes << "\n";
  toml << options.ops_extra;
  if (options.ops_token) {
    write_file(dir_.path() / "ops_token", *options.ops_token + "\n");
    toml << "token_file = \"" << (dir_.path() / "ops_token").string() << "\"\n";
  }
  if (options.ops_read_token) {
    write_file(dir_.path() / "ops_read_token", *options.ops_read_token + "\n");
    toml << "read_token_file = \"" << (dir_.path() / "ops_read_token").string() << "\"\n";
  }
  toml << "\n[pricing]\nsms = 12\nlms = 39\nalimtalk = 8\nemail = 0\n\n"
       << "[twilio]\naccount_sid = \"AC00000000000000000000000000000000\"\nauth_token = \"" << auth_token << "\"\n"
       << options.twilio_extra << "\n"
       << options.extra_toml << "\n";
  write_file(config_path(), toml.str());
}

std::string daemon_process::public_url() const { return "http://127.0.0.1:" + std::to_string(webhooks_port_); }

std::string daemon_process::log() const { return read_file(dir_.path() / "deliveryd.log"); }

void daemon_process::start() {
  REQUIRE(pid_ <= 0);
  std::vector<std::string> env;
  if (tmpdir_)
    env.push_back("TMPDIR=" + tmpdir_->string());
  if (notify_socket_)
    env.push_back("NOTIFY_SOCKET=" + notify_socket_->string());
  env.insert(env.end(), environment_.begin(), environment_.end());
  pid_ = spawn({DELIVERYD_BINARY, "--config", config_path().string()}, dir_.path() / "deliveryd.log", env);
  const auto until = std::chrono::steady_clock::now() + 10s;
  httplib::Client probe{"127.0.0.1", ops_port_};
  probe.set_connection_timeout(0, 200'000);
  probe.set_read_timeout(2, 0);
  for (;;) {
    if (auto res = probe.Get("/healthz"); res && res->status == 200)
      return;
    if (auto status = wait_for_exit(pid_, 0ms)) {
      pid_ = -1;
      FAIL("deliveryd exited during start-up with code " << exit_code_of(*status) << "; its log:\n" << log());
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(pid_, 5s);
      pid_ = -1;
      FAIL("GET /healthz did not answer 200 within 10 s; the daemon's log:\n" << log());
    }
    std::this_thread::sleep_for(50ms);
  }
}

int daemon_process::terminate(std::chrono::seconds timeout) {
  REQUIRE(pid_ > 0);
  ::kill(pid_, SIGTERM);
  return reap(timeout, "did not stop within " + std::to_string(timeout.count()) + " s of SIGTERM");
}

int daemon_process::wait_for_own_exit(std::chrono::seconds timeout) {
  REQUIRE(pid_ > 0);
  return reap(timeout, "did not exit by itself within " + std::to_string(timeout.count()) + " s");
}

int daemon_process::reap(std::chrono::seconds timeout, const std::string& late) {
  auto status = wait_for_exit(pid_, timeout);
  if (!status) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(pid_, 5s);
    pid_ = -1;
    FAIL("deliveryd " << late << "; its log:\n" << log());
  }
  pid_ = -1;
  if (const auto report = new_sanitizer_report(); !report.empty())
    FAIL("deliveryd: " << report << "\nits log:\n" << log());
  return exit_code_of(*status);
}

void daemon_process::kill_hard() {
  REQUIRE(pid_ > 0);
  ::kill(pid_, SIGKILL);
  auto status = wait_for_exit(pid_, 10s);
  REQUIRE(status.has_value());
  pid_ = -1;
  if (const auto report = new_sanitizer_report(); !report.empty())
    FAIL("deliveryd: " << report << "\nits log:\n" << log());
}

std::unique_ptr<httplib::Client> daemon_process::ops_client() const {
  auto client = make_client(ops_port_);
  if (ops_token_)
    client->set_bearer_token_auth(*ops_token_);
  return client;
}

std::unique_ptr<httplib::Client> daemon_process::webhooks_client() const { return make_client(webhooks_port_); }

// ---- HTTP ---------------------------------------------------------------------------------------------------

std::unique_ptr<httplib::Client> make_client(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(2, 0);
  client->set_read_timeout(20, 0);
  client->set_write_timeout(20, 0);
  return client;
}

httplib::Result post_twilio(httplib::Client& client, const std::string& public_url, const form_params& params,
                            const std::string& target, const std::string& token) {
  httplib::Headers headers{{"X-Twilio-Signature", twilio_signature(token, public_url + target, params)}};
  return client.Post(target.c_str(), headers, form_encode(params), "application/x-www-form-urlencoded");
}

httplib::Result post_sends(httplib::Client& client, const json& items) {
  return client.Post("/v1/sends", items.dump(), "application/json");
}

std::string describe(const httplib::Result& result) {
  if (!result)
    return "no answer (httplib error " + std::to_string(static_cast<int>(result.error())) + ")";
  return "HTTP " + std::to_string(result->status) + " " + result->body;
}

json body_of(const httplib::Result& result) {
  INFO(describe(result));
  REQUIRE(result);
  auto parsed = json::parse(result->body, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

json get_json(httplib::Client& client, const std::string& path, int expected_status) {
  auto res = client.Get(path.c_str());
  INFO("GET " << path << " -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == expected_status);
  return body_of(res);
}

bool on_postgresql() { return deliveryd::testing::on_postgresql(); }

std::vector<std::vector<std::string>> ledger_rows(const daemon_process& d, const std::string& sql) {
  return deliveryd::testing::ledger_query(d.ledger_path(), sql);
}

long long ledger_int(const daemon_process& d, const std::string& sql) {
  auto rows = ledger_rows(d, sql);
  REQUIRE(!rows.empty());
  REQUIRE(!rows.front().empty());
  return std::stoll(rows.front().front());
}

void ledger_exec(const daemon_process& d, const std::string& sql) {
  deliveryd::testing::ledger_command(d.ledger_path(), sql);
}

json wait_for_send(httplib::Client& ops, const std::string& send_id, const std::function<bool(const json&)>& ready,
                   std::chrono::seconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  json last;
  while (std::chrono::steady_clock::now() < until) {
    last = get_json(ops, "/v1/sends/" + send_id);
    if (ready(last))
      return last;
    std::this_thread::sleep_for(200ms);
  }
  return last;
}


} // namespace it
