// ingest_bench: the ingest benchmark of issue 5.
//
// 1. Prepares a ledger once (reused while it is fresh and has unused sends): N sends registered through
//    db::ledger_writer::register_sends, the daemon's own write path, in transactions of 50k, all left pending
//    (no vendor events), with the deadlines and first polls the daemon's configuration gives them.
// 2. Loads, over HTTP/1.1 keep-alive on loopback, with request bytes built in memory before each phase:
//      1. a ceiling: an httplib server configured like deliveryd's webhooks listener that answers 200 at once,
//         with the Twilio requests of phase 2;
//      2. deliveryd, signed Twilio status callbacks (sent, then a final status; 5 % exact duplicates);
//      3. deliveryd, signed SendGrid event batches of 100 events;
//      4. deliveryd, intake batches of 1000 new sends on the ops listener;
//    and samples the daemon's RSS during phases 2-4.
// 3. Stops the daemon and checks that everything it acknowledged (2xx) is in the ledger; prints every figure
//    next to its target.
//
// The load generator is this program's own client: one thread, epoll, non-blocking sockets with TCP_NODELAY,
// a fixed number of keep-alive connections, each writing its next pre-built request as soon as the previous
// answer is read (closed loop). It runs on the same 2 cores as the server it loads; its CPU time (and the
// server's) is printed per phase so that it can be accounted for. A request's latency runs from the moment a
// connection takes it to the end of its answer, so it includes reconnecting after the server's Connection: close
// (cpp-httplib closes a keep-alive connection after 1000 requests) and any SYN retransmission on the way.
// After each daemon phase the ledger's group-commit counters (GET /metrics) show where the time went.
//
//   ingest_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--requests N] [--batches N]
//                [--intake-batches N] [--intake-without-ids] [--prepare-only]

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "adapters/twilio/twilio.hpp"
#include "bench_support.hpp"
#include "core/time.hpp"
#include "daemon/http_common.hpp"
#include "db/ledger.hpp"
#include "db/sqlite/schema.hpp"

namespace {

using namespace std::chrono_literals;
using deliveryd::adapters::intake::send_request;
using deliveryd::bench::fmt;
using deliveryd::bench::percentile;
using deliveryd::bench::row;
using deliveryd::bench::rss_watch;
using deliveryd::bench::seconds_since;
using deliveryd::bench::steady;
namespace bench = deliveryd::bench;
namespace core = deliveryd::core;
namespace db = deliveryd::db;
namespace fs = std::filesystem;
namespace twilio = deliveryd::adapters::twilio;

constexpr std::string_view zone_name = "Asia/Seoul";
constexpr std::size_t fill_batch = 50'000;
constexpr int campaigns = 20;
constexpr int one_times = 10;
constexpr auto fill_span = std::chrono::hours{6}; ///< requested_at of the fill: the 6 hours before it ran
constexpr auto uncertain_after = std::chrono::hours{72};
constexpr auto twilio_poll_after = std::chrono::hours{24};
constexpr auto kakao_poll_interval = std::chrono::hours{24};
/// A prepared ledger is reused for this long: its first Twilio polls come due 24 h - 6 h after preparation.
constexpr auto reuse_for = std::chrono::hours{12};
constexpr std::string_view auth_token = "ingest-bench-auth-token";
constexpr std::string_view account_sid = "AC5ef8732a3c49700934481addd5ce1659";
constexpr std::string_view twilio_from = "+15017122661";
constexpr int twilio_connections = 32;
constexpr int email_connections = 32;
constexpr int intake_connections = 4;
constexpr std::size_t email_batch = 100;
constexpr std::size_t intake_batch = 1000;

struct options {
  std::string ledger = "build/bench/ingest-ledger.db";
  std::int64_t sends = 5'000'000;
  std::string daemon = DELIVERYD_BINARY;
  int port = 18491; ///< ops listener; webhooks take port + 1, the ceiling server port + 2
  std::size_t requests = 400'000;
  std::size_t batches = 3'000;
  std::size_t intake_batches = 400;
  bool intake_ids = true; ///< intake sends carry their vendor message id (random, like Twilio's SIDs)
  bool prepare_only = false;
};

core::timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// ---------------------------------------------------------------------------------------------------- sends

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A hash of `i` for one purpose (`salt`): independent of the other purposes' hashes.
constexpr std::uint64_t mix(std::uint64_t i, std::uint64_t salt) { return splitmix64(i ^ splitmix64(salt)); }

std::string hex16(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, v);
  return text;
}

/// A Twilio MessageSid: "SM" and 32 lower-case hex digits that look random.
std::string twilio_sid(std::uint64_t i) {
  return "SM" + hex16(splitmix64(i)) + hex16(splitmix64(i + 0x6a09e667f3bcc908ULL));
}

/// 22 characters of a base64url alphabet from two hashes (a SendGrid X-Message-Id, an sg_event_id).
std::string id22(std::uint64_t a, std::uint64_t b) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (auto w : {a, b})
    for (int k = 0; k < 11; ++k)
      out += alphabet[(w >> (6 * k)) & 63];
  return out;
}

/// The X-Message-Id a send of the fill was registered with; SendGrid's sg_message_id adds a ".filter…" suffix.
std::string sendgrid_id(std::uint64_t i) { return id22(mix(i, 11), mix(i, 12)); }

std::string phone_of(std::uint64_t i) {
  char text[24];
  std::snprintf(text, sizeof text, "+8210%08" PRIu64, mix(i, 13) % 100'000'000);
  return text;
}

std::string email_of(std::uint64_t i) { return "user" + std::to_string(i) + "@example.com"; }

enum class kind { twilio, email, carrier, kakao };

/// Which vendor send `i` of the fill went through: 60 % Twilio SMS, 20 % e-mail, 10 % carrier SMS, 10 % Alimtalk.
kind kind_of(std::int64_t i) {
  const auto h = mix(static_cast<std::uint64_t>(i), 1) % 100;
  return h < 60 ? kind::twilio : h < 80 ? kind::email : h < 90 ? kind::carrier : kind::kakao;
}

std::string fill_send_id(std::int64_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "ib-%010" PRId64, i);
  return id;
}

/// Type and campaign / one-time source from a hash.
void set_type(send_request& s, std::uint64_t h) {
  const auto t = h % 100;
  if (t < 35) {
    s.type = core::send_type::campaign;
    const auto c = (h / 100) % campaigns + 1;
    s.source_id = "cmp-" + std::to_string(c);
    s.source_name = "Campaign " + std::to_string(c);
  } else if (t < 50) {
    s.type = core::send_type::one_time;
    const auto o = (h / 100) % one_times + 1;
    s.source_id = "ot-" + std::to_string(o);
    s.source_name = "One-time message " + std::to_string(o);
  } else if (t < 80) {
    s.type = core::send_type::follow_up;
  } else {
    s.type = core::send_type::workflow;
  }
}

/// Send `i` of `n`, deterministic from `i`, requested in order over the 6 hours before `end`.
send_request fill_send(std::int64_t i, std::int64_t n, core::timestamp end, std::size_t index) {
  const auto u = static_cast<std::uint64_t>(i);
  send_request s;
  s.send_id = fill_send_id(i);
  s.index = index;
  const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(fill_span).count();
  s.requested_at = end - fill_span - 1min + std::chrono::milliseconds{span * i / n}
                   + std::chrono::milliseconds{static_cast<std::int64_t>(mix(u, 2) % 60'000)};
  set_type(s, mix(u, 3));
  switch (kind_of(i)) {
  case kind::twilio:
    s.medium = mix(u, 4) % 10 == 0 ? core::medium::lms : core::medium::sms;
    s.vendor = core::vendor::twilio;
    s.contact = phone_of(u);
    s.vendor_message_id = twilio_sid(u);
    break;
  case kind::email:
    s.medium = core::medium::email;
    s.vendor = core::vendor::email;
    s.contact = email_of(u);
    s.vendor_message_id = sendgrid_id(u);
    break;
  case kind::carrier:
    s.medium = mix(u, 4) % 4 == 0 ? core::medium::lms : core::medium::sms;
    s.vendor = core::vendor::carrier;
    s.contact = phone_of(u);
    s.vendor_message_id = "cr-" + hex16(mix(u, 5));
    break;
  case kind::kakao:
    s.medium = core::medium::alimtalk;
    s.vendor = core::vendor::kakao;
    s.contact = phone_of(u);
    s.vendor_message_id = "kk-" + hex16(mix(u, 6));
    break;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------- ledger

/// What the bench knows about a prepared ledger, kept beside it in "<ledger>.bench": how many sends the fill
/// registered, when, and the first Twilio / e-mail send no earlier run has sent callbacks for (each run uses
/// fresh sends, so that its events are new rows and not duplicates of an earlier run's).
struct prepared {
  std::int64_t fill_sends = 0;
  std::int64_t prepared_at = 0; ///< ms since the epoch
  std::int64_t twilio_next = 0; ///< fill index
  std::int64_t email_next = 0;  ///< fill index
  std::int64_t twilio_sends = 0;
  std::int64_t email_sends = 0;
};

std::string state_path(const std::string& ledger) { return ledger + ".bench"; }

std::optional<prepared> read_state(const std::string& ledger) {
  std::ifstream in{state_path(ledger)};
  if (!in)
    return std::nullopt;
  std::map<std::string, std::int64_t> kv;
  std::string key;
  std::int64_t value = 0;
  while (in >> key >> value)
    kv[key] = value;
  for (auto k : {"fill_sends", "prepared_at", "twilio_next", "email_next", "twilio_sends", "email_sends"})
    if (!kv.count(k))
      return std::nullopt;
  return prepared{kv["fill_sends"], kv["prepared_at"], kv["twilio_next"], kv["email_next"], kv["twilio_sends"],
                  kv["email_sends"]};
}

void write_state(const std::string& ledger, const prepared& p) {
  std::ofstream out{state_path(ledger), std::ios::trunc};
  out << "fill_sends " << p.fill_sends << "\nprepared_at " << p.prepared_at << "\ntwilio_next " << p.twilio_next
      << "\nemail_next " << p.email_next << "\ntwilio_sends " << p.twilio_sends << "\nemail_sends "
      << p.email_sends << "\n";
}

/// The ledger options shared by the fill and the daemon (see write_config): every vendor's deadline is 72 h,
/// Twilio's first poll 24 h after requested_at, Kakao's 24 h after registration.
db::ledger_options ledger_options(const std::string& path) {
  db::ledger_options so;
  so.path = path;
  for (auto v : {core::vendor::twilio, core::vendor::email, core::vendor::carrier, core::vendor::kakao})
    so.deadlines[v] = uncertain_after;
  so.polls[core::vendor::twilio] = {false, twilio_poll_after};
  so.polls[core::vendor::kakao] = {true, kakao_poll_interval};
  so.zone = std::string{zone_name};
  return so;
}

/// Index of the `n`th send of kind `k` at or after `from` (n = 0: the first), or `limit` when there is none.
std::int64_t skip(kind k, std::int64_t from, std::int64_t n, std::int64_t limit) {
  for (std::int64_t i = from; i < limit; ++i)
    if (kind_of(i) == k && n-- == 0)
      return i;
  return limit;
}

std::int64_t count_kind(kind k, std::int64_t from, std::int64_t limit) {
  std::int64_t n = 0;
  for (std::int64_t i = from; i < limit; ++i)
    n += kind_of(i) == k;
  return n;
}

/// Fills a new ledger with `n` pending sends.
std::optional<prepared> fill(const std::string& path, std::int64_t n) {
  fs::create_directories(fs::absolute(path).parent_path());
  auto so = ledger_options(path);
  so.sync = db::durability::none; // synchronous=NORMAL for the fill, as report_bench: a bench ledger need not survive power loss
  auto opened = db::open_writer(so);
  if (!opened) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), opened.error().message.c_str());
    return std::nullopt;
  }
  auto owned = std::move(*opened);
  auto& store = *owned;
  const auto end = now_ms();
  std::printf("preparing %s: %" PRId64 " pending sends over the 6 h before now (%s), transactions of %zu sends, "
              "synchronous=NORMAL\n", path.c_str(), n, zone_name.data(), fill_batch);
  std::fflush(stdout);
  const auto start = steady::now();
  auto last_report = start;
  std::vector<send_request> batch;
  batch.reserve(fill_batch);
  for (std::int64_t i = 0; i < n;) {
    batch.clear();
    for (std::size_t k = 0; k < fill_batch && i < n; ++k, ++i)
      batch.push_back(fill_send(i, n, end, k));
    store.begin().value();
    auto out = store.register_sends(batch, {}, now_ms()).value();
    store.commit().value();
    if (out.accepted != batch.size()) {
      std::fprintf(stderr, "fill: batch ending at %" PRId64 ": %zu of %zu accepted%s%s\n", i, out.accepted,
                   batch.size(), out.rejected.empty() ? "" : "; first rejection: ",
                   out.rejected.empty() ? "" : out.rejected.front().detail.c_str());
      return std::nullopt;
    }
    if (seconds_since(last_report) >= 10 || i == n) {
      last_report = steady::now();
      const double s = seconds_since(start);
      std::printf("  %10" PRId64 " sends  %7.1f s  %8.0f sends/s\n", i, s, static_cast<double>(i) / s);
      std::fflush(stdout);
    }
  }
  const double s = seconds_since(start);
  owned.reset(); // closes the connection: the last checkpoint moves the WAL into the file
  prepared p;
  p.fill_sends = n;
  p.prepared_at = core::to_millis(end);
  p.twilio_sends = count_kind(kind::twilio, 0, n);
  p.email_sends = count_kind(kind::email, 0, n);
  std::printf("prepared: %" PRId64 " sends (%" PRId64 " Twilio, %" PRId64 " e-mail) in %.1f s: %.0f sends/s "
              "through register_sends; file %.2f GB\n", n, p.twilio_sends, p.email_sends, s,
              static_cast<double>(n) / s, static_cast<double>(fs::file_size(path)) / 1e9);
  std::fflush(stdout);
  return p;
}

std::int64_t scalar(SQLite::Database& conn, const std::string& sql) { return conn.execAndGet(sql).getInt64(); }

void remove_ledger(const std::string& path) {
  for (const auto* suffix : {"", "-wal", "-shm", ".bench"})
    fs::remove(path + suffix);
}

/// Twilio sends a phase of `requests` callbacks uses, at most (see build_twilio).
std::int64_t twilio_sends_needed(std::size_t requests) { return static_cast<std::int64_t>(requests / 2 + 1000); }

/// Reuses the ledger when it is fit for this run, else prepares it again.
std::optional<prepared> prepare(const options& opt) {
  std::string why;
  auto state = read_state(opt.ledger);
  const auto now = now_ms();
  if (!fs::exists(opt.ledger)) {
    why = "there is none";
  } else if (!state) {
    why = "it has no readable " + state_path(opt.ledger);
  } else {
    SQLite::Database conn{opt.ledger, SQLite::OPEN_READONLY};
    const auto version = scalar(conn, "PRAGMA user_version");
    if (version != db::sqlite::latest_schema_version())
      why = "its schema version is " + std::to_string(version) + ", not " + std::to_string(db::sqlite::latest_schema_version());
    else if (state->fill_sends < opt.sends)
      why = "it holds " + std::to_string(state->fill_sends) + " prepared sends, fewer than " + std::to_string(opt.sends);
    else if (scalar(conn, "SELECT count(*) FROM sends") < state->fill_sends)
      why = "it holds fewer sends than its preparation registered";
    else if (now - core::from_millis(state->prepared_at) > reuse_for)
      why = "it was prepared more than 12 h ago: its Twilio polls would come due";
    else if (count_kind(kind::twilio, state->twilio_next, state->fill_sends) < twilio_sends_needed(opt.requests))
      why = "its unused Twilio sends are fewer than this run needs";
    else if (count_kind(kind::email, state->email_next, state->fill_sends)
             < static_cast<std::int64_t>(opt.batches * email_batch))
      why = "its unused e-mail sends are fewer than this run needs";
  }
  if (why.empty()) {
    std::printf("ledger %s: %" PRId64 " prepared sends, reused (prepared %.1f h ago; unused from Twilio send "
                "#%" PRId64 " and e-mail send #%" PRId64 ")\n", opt.ledger.c_str(), state->fill_sends,
                std::chrono::duration<double, std::ratio<3600>>(now - core::from_millis(state->prepared_at)).count(),
                state->twilio_next, state->email_next);
    std::fflush(stdout);
    return state;
  }
  if (count_kind(kind::twilio, 0, opt.sends) < twilio_sends_needed(opt.requests)
      || count_kind(kind::email, 0, opt.sends) < static_cast<std::int64_t>(opt.batches * email_batch)) {
    std::fprintf(stderr, "--sends %" PRId64 " gives too few Twilio or e-mail sends for --requests / --batches\n",
                 opt.sends);
    return std::nullopt;
  }
  std::printf("ledger %s: preparing it (%s)\n", opt.ledger.c_str(), why.c_str());
  remove_ledger(opt.ledger);
  auto p = fill(opt.ledger, opt.sends);
  if (!p)
    return std::nullopt;
  write_state(opt.ledger, *p);
  return p;
}

// ---------------------------------------------------------------------------------------------------- daemon

std::string read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

std::string write_config(const options& opt) {
  const auto dir = fs::absolute(opt.ledger).parent_path();
  const auto path = (dir / "ingest-bench.toml").string();
  const auto hooks = std::to_string(opt.port + 1);
  std::ofstream out{path};
  out << "# Generated by ingest_bench. Deadlines (72h) and first polls (Twilio 24h after requested_at, Kakao 24h\n"
      << "# after registration) are those the preparation gave the sends: nothing comes due during the bench.\n"
      << "[storage]\npath = \"" << fs::absolute(opt.ledger).string() << "\"\nretention_days = 365\n\n"
      << "[time]\nzone = \"" << zone_name << "\"\n\n"
      << "[intake]\ndefault_region = \"KR\"\n\n"
      << "[webhooks]\nlisten = \"127.0.0.1:" << hooks << "\"\npublic_url = \"http://127.0.0.1:" << hooks
      << "\"\nmax_body_bytes = 1048576\n\n"
      << "[ops]\nlisten = \"127.0.0.1:" << opt.port << "\"\n\n"
      << "[pricing]\ncurrency = \"KRW\"\nsms = 12\nlms = 39\nalimtalk = 8\nemail = 0\n\n"
      << "[twilio]\naccount_sid = \"" << account_sid << "\"\nauth_token = \"" << auth_token << "\"\n"
      << "api_base = \"http://127.0.0.1:9\"\npoll_after = \"24h\"\nprice_window = \"1ms\"\nuncertain_after = \"72h\"\n\n"
      << "[email]\nverification_key = \"" << read_text(DELIVERYD_EMAIL_PUBLIC_KEY) << "\"\nmax_skew = \"1h\"\n"
      << "uncertain_after = \"72h\"\n\n"
      << "[carrier]\ntoken = \"ingest-bench-carrier-token\"\nuncertain_after = \"72h\"\n\n"
      << "[kakao]\napi_base = \"http://127.0.0.1:9\"\nservice_id = \"ncp:kkobizmsg:kr:0000:bench\"\n"
      << "access_key = \"BENCHACCESS\"\nsecret_key = \"BENCHSECRET\"\npoll_interval = \"24h\"\n"
      << "recheck_window = \"72h\"\nuncertain_after = \"72h\"\n";
  return path;
}

// ---------------------------------------------------------------------------------------------------- ceiling

/// The ceiling: an httplib server with the webhooks listener's settings that answers every Twilio callback 200
/// without looking at it. Stops on SIGTERM.
int ceiling_server(int port) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  httplib::Server server;
  // As deliveryd's webhooks listener (daemon/app.cpp).
  deliveryd::daemon::configure_server(server, 1 << 20, deliveryd::daemon::webhooks_threads);
  server.Post("/webhooks/twilio", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  if (!deliveryd::daemon::bind_listener(server, "127.0.0.1", port)) {
    std::fprintf(stderr, "ceiling server: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::thread listener{[&] { server.listen_after_bind(); }};
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  listener.join();
  return 0;
}

// ---------------------------------------------------------------------------------------------------- load

/// What one phase measured.
struct phase_result {
  std::string name;
  std::size_t requests = 0;
  std::size_t ok = 0;         ///< 2xx answers
  std::size_t non2xx = 0;     ///< answered, not 2xx
  std::size_t unanswered = 0; ///< no answer after retries
  std::size_t retries = 0;    ///< requests written again after their connection broke without an answer
  std::size_t reconnects = 0; ///< connections opened again (the server's Connection: close, or a break)
  double wall = 0;
  double gen_cpu = 0;    ///< seconds of the generator thread
  double server_cpu = 0; ///< seconds of the loaded process
  std::string server_threads; ///< its CPU per thread name, as text
  std::vector<double> latency_ms;
  std::vector<std::uint8_t> acked; ///< per request: a 2xx came

  double rate() const { return wall > 0 ? static_cast<double>(requests) / wall : 0; }
  double p(double q) const { return percentile(latency_ms, q); }
};

double thread_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t k = 0; k < prefix.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(text[k])) != prefix[k])
      return false;
  return true;
}

/// The closed-loop client of one phase: `connections` keep-alive connections to 127.0.0.1:port, one thread.
class load_client {
public:
  /// Called for every answer: request index, status, body.
  using on_answer = std::function<void(std::size_t, int, std::string_view)>;

  load_client(int port, const std::vector<std::string>& requests, int connections, on_answer answer)
    : port_{port}, requests_{requests}, conns_(static_cast<std::size_t>(connections)), answer_{std::move(answer)} {}

  phase_result run(const std::string& name, pid_t server) {
    r_ = {};
    r_.name = name;
    r_.requests = requests_.size();
    r_.acked.assign(requests_.size(), 0);
    r_.latency_ms.reserve(requests_.size());
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    const double cpu0 = thread_cpu_seconds();
    const double server0 = bench::cpu_seconds(server);
    const auto threads0 = bench::cpu_seconds_by_thread(server);
    const auto start = steady::now();
    for (std::size_t k = 0; k < conns_.size(); ++k)
      if (assign(conns_[k]))
        open(k);
    auto progress = steady::now();
    std::size_t seen = 0;
    std::array<epoll_event, 64> events{};
    while (done_ < requests_.size()) {
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
      for (int e = 0; e < n; ++e) {
        const auto k = static_cast<std::size_t>(events[e].data.u64 >> 32);
        const auto gen = static_cast<std::uint32_t>(events[e].data.u64);
        auto& c = conns_[k];
        if (c.fd < 0 || c.gen != gen)
          continue; // an event of a connection closed earlier in this batch
        if (events[e].events & (EPOLLOUT | EPOLLERR))
          writable(k);
        if (c.fd >= 0 && c.gen == gen && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
          readable(k);
      }
      if (done_ != seen) {
        seen = done_;
        progress = steady::now();
      } else if (seconds_since(progress) > 120 || r_.unanswered > 100) {
        std::fprintf(stderr, "%s: %s; giving up on the %zu requests left\n", name.c_str(),
                     r_.unanswered > 100 ? "more than 100 requests got no answer" : "no answer for 120 s",
                     requests_.size() - done_);
        r_.unanswered += requests_.size() - done_;
        break;
      }
    }
    r_.wall = seconds_since(start);
    r_.gen_cpu = thread_cpu_seconds() - cpu0;
    r_.server_cpu = bench::cpu_seconds(server) - server0;
    r_.server_threads = bench::thread_cpu_text(threads0, bench::cpu_seconds_by_thread(server), r_.wall);
    for (std::size_t k = 0; k < conns_.size(); ++k)
      close(k);
    ::close(ep_);
    return std::move(r_);
  }

private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  struct conn {
    int fd = -1;
    std::uint32_t gen = 0;
    bool connecting = false;
    bool want_out = false;
    std::size_t req = none;
    std::size_t written = 0;
    int attempts = 0;
    steady::time_point started;
    std::string in;
  };

  /// Gives the connection the next request; false when none is left.
  bool assign(conn& c) {
    if (next_ >= requests_.size())
      return false;
    c.req = next_++;
    c.written = 0;
    c.attempts = 0;
    c.started = steady::now();
    return true;
  }

  void open(std::size_t k) {
    auto& c = conns_[k];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    c.connecting = rc != 0; // EINPROGRESS, or an error that SO_ERROR reports when it is writable
    c.written = 0;
    c.in.clear();
    ++c.gen;
    c.want_out = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = (static_cast<std::uint64_t>(k) << 32) | c.gen;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void close(std::size_t k) {
    auto& c = conns_[k];
    if (c.fd >= 0)
      ::close(c.fd); // also leaves the epoll set
    c.fd = -1;
  }

  void want_out(std::size_t k, bool on) {
    auto& c = conns_[k];
    if (c.want_out == on)
      return;
    c.want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = (static_cast<std::uint64_t>(k) << 32) | c.gen;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void writable(std::size_t k) {
    auto& c = conns_[k];
    if (c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        return broken(k, std::strerror(err));
      c.connecting = false;
    }
    if (c.req == none) {
      want_out(k, false);
      return;
    }
    write_more(k);
  }

  void write_more(std::size_t k) {
    auto& c = conns_[k];
    const auto& request = requests_[c.req];
    while (c.written < request.size()) {
      const auto n = ::send(c.fd, request.data() + c.written, request.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want_out(k, true);
        return;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return broken(k, std::strerror(errno));
      }
    }
    want_out(k, false);
  }

  void readable(std::size_t k) {
    auto& c = conns_[k];
    char buffer[65536];
    bool closed = false;
    const char* why = "closed by the server";
    for (;;) {
      const auto n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buffer)
          break;
      } else if (n == 0) {
        closed = true;
        break;
      } else if (errno == EINTR) {
        continue;
      } else {
        closed = errno != EAGAIN && errno != EWOULDBLOCK;
        why = std::strerror(errno);
        break;
      }
    }
    const auto gen = c.gen;
    parse(k);
    if (closed && c.gen == gen && c.fd >= 0)
      broken(k, why);
  }

  /// Reads one whole answer from the buffer if there is one, then moves the connection on.
  void parse(std::size_t k) {
    auto& c = conns_[k];
    const auto head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos || c.req == none)
      return;
    const std::string_view head{c.in.data(), head_end};
    int status = 0;
    if (head.size() > 12 && head.starts_with("HTTP/1."))
      status = std::atoi(c.in.c_str() + 9);
    std::size_t length = 0;
    bool close_after = false;
    for (auto pos = head.find("\r\n"); pos != std::string_view::npos;) {
      const auto next = head.find("\r\n", pos + 2);
      const auto line = head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
      if (iequals_prefix(line, "content-length:"))
        length = std::strtoul(std::string{line.substr(15)}.c_str(), nullptr, 10);
      else if (iequals_prefix(line, "connection:") && line.find("close") != std::string_view::npos)
        close_after = true;
      pos = next;
    }
    const auto total = head_end + 4 + length;
    if (c.in.size() < total)
      return;
    record(c, status, std::string_view{c.in}.substr(head_end + 4, length), head.substr(0, head.find("\r\n")));
    c.in.erase(0, total);
    const bool more = assign(c);
    if (close_after) {
      close(k);
      if (more) {
        ++r_.reconnects;
        open(k);
      }
    } else if (more) {
      write_more(k);
    } else {
      close(k);
    }
  }

  void record(conn& c, int status, std::string_view body, std::string_view status_line) {
    r_.latency_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - c.started).count());
    if (status >= 200 && status < 300) {
      ++r_.ok;
      r_.acked[c.req] = 1;
    } else {
      if (r_.non2xx++ < 3)
        std::fprintf(stderr, "%s: request %zu answered %.*s: %.*s\n", r_.name.c_str(), c.req,
                     static_cast<int>(status_line.size()), status_line.data(),
                     static_cast<int>(std::min<std::size_t>(body.size(), 500)), body.data());
    }
    if (answer_)
      answer_(c.req, status, body);
    c.req = none;
    ++done_;
  }

  /// The connection broke (refused, reset, closed) without a whole answer: write its request again on a new
  /// connection, at most 3 times.
  void broken(std::size_t k, const char* why) {
    auto& c = conns_[k];
    close(k);
    if (c.req != none) {
      if (r_.retries < 3)
        std::fprintf(stderr, "%s: connection %zu broke (%s) %.0f ms into request %zu, %zu of %zu bytes written, "
                     "%zu bytes of an answer read; writing it again\n", r_.name.c_str(), k, why,
                     std::chrono::duration<double, std::milli>(steady::now() - c.started).count(), c.req, c.written,
                     requests_[c.req].size(), c.in.size());
      ++r_.retries;
      if (++c.attempts > 3) {
        ++r_.unanswered;
        ++done_;
        c.req = none;
      } else {
        c.written = 0;
      }
    }
    if (c.req == none && !assign(c))
      return;
    ++r_.reconnects;
    open(k);
  }

  int port_;
  const std::vector<std::string>& requests_;
  std::vector<conn> conns_;
  on_answer answer_;
  int ep_ = -1;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  phase_result r_;
};

void print_phase(const phase_result& r, const char* unit = "req", double per_request = 1) {
  const auto slow = std::count_if(r.latency_ms.begin(), r.latency_ms.end(), [](double ms) { return ms >= 1000; });
  std::printf("%s: %zu requests in %.2f s: %.0f %s/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms, %zd >= 1 s; "
              "2xx %zu, non-2xx %zu, unanswered %zu, retries %zu, reconnects %zu; generator CPU %.0f %%, "
              "server CPU %.0f %% (of one core)\n",
              r.name.c_str(), r.requests, r.wall, r.rate() * per_request, unit, r.p(50), r.p(99), r.p(100), slow, r.ok,
              r.non2xx, r.unanswered, r.retries, r.reconnects, 100 * r.gen_cpu / r.wall,
              100 * r.server_cpu / r.wall);
  std::printf("  server threads: %s\n", r.server_threads.c_str());
  std::fflush(stdout);
}

/// The ledger's group-commit counters from the daemon's GET /metrics.
struct ledger_metrics {
  double commits = 0;
  double jobs = 0;
  double commit_seconds = 0; ///< time inside the group transactions (BEGIN to COMMIT, fsync included)
};

ledger_metrics read_ledger_metrics(int ops_port) {
  ledger_metrics m;
  httplib::Client client{"127.0.0.1", ops_port};
  client.set_read_timeout(10s);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200)
    return m;
  std::istringstream in{res->body};
  std::string line;
  auto value = [&](std::string_view name, double& out) {
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ')
      out = std::strtod(line.c_str() + name.size() + 1, nullptr);
  };
  while (std::getline(in, line)) {
    value("deliveryd_ledger_commits_total", m.commits);
    value("deliveryd_ledger_jobs_committed_total", m.jobs);
    value("deliveryd_ledger_commit_seconds_sum", m.commit_seconds);
  }
  return m;
}

/// What the ledger did during a phase: commits, mean jobs per commit, and the sum of the commits' times from
/// BEGIN until durable (the WAL's fdatasync) as a share of the phase. The fdatasync of one group overlaps the
/// next group's transaction, so this can pass 100 %; near or above it, the one writer is the limit.
std::pair<std::string, double> ledger_during(const ledger_metrics& before, const ledger_metrics& after,
                                             const phase_result& r) {
  const double commits = after.commits - before.commits;
  const double jobs = after.jobs - before.jobs;
  const double busy = after.commit_seconds - before.commit_seconds;
  char text[256];
  std::snprintf(text, sizeof text, "%.0f commits, %.1f jobs/commit, %.2f ms/commit to durable, busy %.0f %% of the "
                "phase", commits, commits > 0 ? jobs / commits : 0, commits > 0 ? 1000 * busy / commits : 0,
                r.wall > 0 ? 100 * busy / r.wall : 0);
  return {text, r.wall > 0 ? 100 * busy / r.wall : 0};
}

// ---------------------------------------------------------------------------------------------------- requests

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += digits[ch >> 4];
      out += digits[ch & 15];
    }
  }
  return out;
}

std::string http_request(std::string_view path, int port, std::string_view content_type,
                         const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                         std::string_view user_agent) {
  std::string out;
  out.reserve(body.size() + 512);
  out.append("POST ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1:").append(std::to_string(port));
  out.append("\r\nUser-Agent: ").append(user_agent).append("\r\nAccept: */*\r\nContent-Type: ").append(content_type);
  for (const auto& [name, value] : headers)
    out.append("\r\n").append(name).append(": ").append(value);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  return out;
}

/// The Twilio requests of phases 1 and 2.
struct twilio_plan {
  std::vector<std::string> requests;
  std::vector<std::uint32_t> origin; ///< the distinct callback each request carries (a duplicate: its original's)
  std::size_t distinct = 0;
  std::size_t duplicates = 0;
  std::size_t sends = 0;
  std::int64_t next_index = 0; ///< the first fill index after the sends used
};

/// `requests` signed status callbacks for the registered Twilio sends from fill index `from` on, in index order:
/// per send a `sent` callback, then some hundreds of requests later its final status (delivered 85 %,
/// undelivered 10 % with 30003/30005/30006, failed 5 % with 30008); 5 % of the requests are exact copies of an
/// earlier request (a retried callback).
twilio_plan build_twilio(std::int64_t from, std::int64_t limit, std::size_t requests, int hooks_port) {
  twilio_plan plan;
  std::vector<bool> is_duplicate(requests, false);
  for (std::size_t p = 200; p < requests; ++p)
    if (mix(p, 21) % 20 == 0) {
      is_duplicate[p] = true;
      ++plan.duplicates;
    }
  plan.distinct = requests - plan.duplicates;

  // Callback entries by position key: sent at 2k, the final 201..799 positions later.
  struct entry {
    std::uint64_t key;
    std::uint32_t send; ///< k
    bool final;
  };
  const std::size_t sends = plan.distinct / 2 + 500;
  std::vector<std::int64_t> index(sends);
  std::vector<entry> entries;
  entries.reserve(2 * sends);
  std::int64_t i = from;
  for (std::size_t k = 0; k < sends; ++k) {
    i = skip(kind::twilio, i, 0, limit);
    if (i >= limit)
      throw std::runtime_error("the ledger has too few unused Twilio sends");
    index[k] = i++;
    entries.push_back({2 * k, static_cast<std::uint32_t>(k), false});
    entries.push_back({2 * k + 201 + 2 * (mix(k, 22) % 300), static_cast<std::uint32_t>(k), true});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) { return a.key < b.key; });
  entries.resize(plan.distinct);
  std::uint32_t last_send = 0;
  for (const auto& e : entries)
    last_send = std::max(last_send, e.send);
  plan.sends = last_send + 1;
  plan.next_index = index[last_send] + 1;

  const std::string url = "http://127.0.0.1:" + std::to_string(hooks_port) + "/webhooks/twilio";
  const auto seoul = *core::zone::locate(zone_name);
  const auto local = seoul.format(now_ms()); // 2026-11-27T10:00:00+09:00
  const std::string dlr_done = local.substr(2, 2) + local.substr(5, 2) + local.substr(8, 2) + local.substr(11, 2)
                               + local.substr(14, 2); // YYMMDDhhmm, no zone
  std::vector<std::string> distinct;
  distinct.reserve(plan.distinct);
  for (std::size_t n = 0; n < plan.distinct; ++n) {
    const auto& e = entries[n];
    const auto u = static_cast<std::uint64_t>(index[e.send]);
    const auto sid = twilio_sid(u);
    std::string status = "sent";
    std::string error;
    if (e.final) {
      const auto h = mix(u, 23) % 100;
      static constexpr const char* undelivered[] = {"30003", "30005", "30006"};
      status = h < 85 ? "delivered" : h < 95 ? "undelivered" : "failed";
      if (h >= 85)
        error = h < 95 ? undelivered[mix(u, 24) % 3] : "30008";
    }
    // The parameters in the order Twilio posts them.
    deliveryd::adapters::form_params params;
    if (!error.empty())
      params.emplace_back("ErrorCode", error);
    params.emplace_back("SmsSid", sid);
    params.emplace_back("SmsStatus", status);
    params.emplace_back("MessageStatus", status);
    params.emplace_back("To", phone_of(u));
    params.emplace_back("MessageSid", sid);
    params.emplace_back("AccountSid", std::string{account_sid});
    params.emplace_back("From", std::string{twilio_from});
    params.emplace_back("ApiVersion", "2010-04-01");
    if (status == "delivered" || status == "undelivered")
      params.emplace_back("RawDlrDoneDate", dlr_done);
    std::string body;
    for (const auto& [name, value] : params)
      body.append(body.empty() ? "" : "&").append(name).append("=").append(url_encode(value));
    const auto signature = twilio::compute_signature(auth_token, url, params);
    const auto token = hex16(mix(n, 25)) + hex16(mix(u, 26));
    distinct.push_back(http_request("/webhooks/twilio", hooks_port, "application/x-www-form-urlencoded",
                                    {{"I-Twilio-Idempotency-Token", token.substr(0, 8) + "-" + token.substr(8, 4) +
                                      "-" + token.substr(12, 4) + "-" + token.substr(16, 4) + "-" + token.substr(20)},
                                     {"X-Home-Region", "us1"},
                                     {"X-Twilio-Signature", signature}},
                                    body, "TwilioProxy/1.1"));
  }
  plan.requests.reserve(requests);
  plan.origin.reserve(requests);
  std::size_t taken = 0;
  for (std::size_t p = 0; p < requests; ++p) {
    if (is_duplicate[p]) {
      const auto back = 50 + mix(p, 27) % 1500;
      const auto q = p > back ? p - back : 0;
      plan.requests.push_back(plan.requests[q]);
      plan.origin.push_back(plan.origin[q]);
    } else {
      plan.requests.push_back(std::move(distinct[taken]));
      plan.origin.push_back(static_cast<std::uint32_t>(taken));
      ++taken;
    }
  }
  return plan;
}

/// Signs `timestamp + body` with the SendGrid test key (ECDSA P-256, SHA-256): base64 DER.
class sendgrid_signer {
public:
  explicit sendgrid_signer(const std::string& pem_path) {
    const auto pem = read_text(pem_path) + "\n";
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free};
    key_.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key_)
      throw std::runtime_error("cannot read the SendGrid private key " + pem_path);
  }

  std::string sign(const std::string& timestamp, const std::string& body) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    const std::string data = timestamp + body;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1
        || EVP_DigestSign(ctx.get(), nullptr, &len, bytes, data.size()) != 1)
      throw std::runtime_error("ECDSA signing failed");
    std::vector<unsigned char> der(len);
    if (EVP_DigestSign(ctx.get(), der.data(), &len, bytes, data.size()) != 1)
      throw std::runtime_error("ECDSA signing failed");
    std::string b64(4 * ((len + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der.data(), static_cast<int>(len));
    b64.resize(static_cast<std::size_t>(n));
    return b64;
  }

private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

struct email_plan {
  std::vector<std::string> requests;
  std::int64_t next_index = 0;
};

/// `batches` signed Event Webhook posts of 100 events, each for another registered e-mail send from fill index
/// `from` on: delivered 80 %, bounce 10 %, dropped 5 %, deferred 5 %.
email_plan build_email(std::int64_t from, std::int64_t limit, std::size_t batches, int hooks_port) {
  email_plan plan;
  const sendgrid_signer signer{DELIVERYD_EMAIL_PRIVATE_KEY};
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
  const std::string timestamp = std::to_string(now_s);
  std::int64_t i = from;
  plan.requests.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    auto events = nlohmann::json::array();
    for (std::size_t k = 0; k < email_batch; ++k) {
      i = skip(kind::email, i, 0, limit);
      if (i >= limit)
        throw std::runtime_error("the ledger has too few unused e-mail sends");
      const auto u = static_cast<std::uint64_t>(i++);
      const auto id = sendgrid_id(u);
      nlohmann::json e{
        {"email", email_of(u)},
        {"timestamp", now_s - static_cast<std::int64_t>(mix(u, 31) % 600)},
        {"smtp-id", "<" + id + "@ismtpd0001p1lon1.sendgrid.net>"},
        {"sg_event_id", id22(mix(u, 32), mix(u, 33))},
        {"sg_message_id", id + ".filterdrecv-5bd8b8d4c8-" + hex16(mix(u, 34)).substr(0, 5) + "-1-"
                            + hex16(mix(u, 35)).substr(0, 8) + "-1B.0"},
        {"category", nlohmann::json::array({"bench", "ingest"})},
      };
      const auto h = mix(u, 36) % 100;
      if (h < 80) {
        e["event"] = "delivered";
        e["response"] = "250 2.0.0 OK  1700000000 a1si123456qka.42 - gsmtp";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      } else if (h < 90) {
        e["event"] = "bounce";
        e["type"] = h < 88 ? "bounce" : "blocked";
        e["status"] = h < 88 ? "5.1.1" : "5.7.1";
        e["reason"] = h < 88 ? "550 5.1.1 The email account that you tried to reach does not exist."
                             : "550 5.7.1 Message rejected due to local policy";
        e["bounce_classification"] = h < 88 ? "Invalid Address" : "Reputation";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      } else if (h < 95) {
        e["event"] = "dropped";
        e["reason"] = h < 93 ? "Bounced Address" : "Unsubscribed Address";
      } else {
        e["event"] = "deferred";
        e["response"] = "421 4.7.0 Try again later";
        e["attempt"] = "1";
        e["ip"] = "167.89.0.1";
        e["tls"] = 1;
      }
      events.push_back(std::move(e));
    }
    const auto body = events.dump();
    plan.requests.push_back(http_request("/webhooks/email", hooks_port, "application/json",
                                         {{"X-Twilio-Email-Event-Webhook-Signature", signer.sign(timestamp, body)},
                                          {"X-Twilio-Email-Event-Webhook-Timestamp", timestamp}},
                                         body, "SendGrid Event API"));
  }
  plan.next_index = i;
  return plan;
}

/// `batches` intake posts of 1000 new sends (send ids unique to this run): Twilio 50 %, carrier 20 %, Alimtalk
/// 15 %, e-mail 15 %, each with its vendor_message_id, requested in the last minute.
std::vector<std::string> build_intake(std::size_t batches, int ops_port, bool with_ids) {
  const auto seoul = *core::zone::locate(zone_name);
  const auto now = now_ms();
  const auto run = static_cast<std::uint64_t>(core::to_millis(now));
  std::vector<std::string> requests;
  requests.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    auto sends = nlohmann::json::array();
    for (std::size_t k = 0; k < intake_batch; ++k) {
      const std::uint64_t n = b * intake_batch + k;
      const auto u = mix(run, n); // this run's send n
      send_request s;
      set_type(s, mix(u, 41));
      nlohmann::json j{{"send_id", "in-" + std::to_string(run) + "-" + std::to_string(n)},
                       {"type", std::string{core::to_string(s.type)}}};
      if (!s.source_id.empty()) {
        j["source_id"] = s.source_id;
        j["source_name"] = s.source_name;
      }
      const auto h = mix(u, 42) % 100;
      if (h < 50) {
        j["medium"] = "sms";
        j["vendor"] = "twilio";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = twilio_sid(u);
      } else if (h < 70) {
        j["medium"] = h < 65 ? "sms" : "lms";
        j["vendor"] = "carrier";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = "cr-" + hex16(mix(u, 43));
      } else if (h < 85) {
        j["medium"] = "alimtalk";
        j["vendor"] = "kakao";
        j["contact"] = phone_of(u);
        if (with_ids)
          j["vendor_message_id"] = "kk-" + hex16(mix(u, 44));
      } else {
        j["medium"] = "email";
        j["vendor"] = "email";
        j["contact"] = "in" + std::to_string(n) + "@example.com";
        if (with_ids)
          j["vendor_message_id"] = id22(mix(u, 45), mix(u, 46));
      }
      j["requested_at"] = seoul.format(now - std::chrono::milliseconds{static_cast<std::int64_t>(mix(u, 47) % 60'000)});
      sends.push_back(std::move(j));
    }
    requests.push_back(http_request("/v1/sends", ops_port, "application/json", {}, sends.dump(), "ingest_bench"));
  }
  return requests;
}

// ---------------------------------------------------------------------------------------------------- report

std::string machine() {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " x " + model;
}

std::string with_commas(double v) {
  auto text = std::to_string(static_cast<long long>(std::llround(v)));
  for (auto pos = static_cast<int>(text.size()) - 3; pos > (text[0] == '-' ? 1 : 0); pos -= 3)
    text.insert(static_cast<std::size_t>(pos), ",");
  return text;
}

std::size_t bytes_of(const std::vector<std::string>& requests) {
  std::size_t n = 0;
  for (const auto& r : requests)
    n += r.size();
  return n;
}

int run(const options& opt) {
  auto state = prepare(opt);
  if (!state)
    return 2;
  if (opt.prepare_only)
    return 0;
  const auto dir = fs::absolute(opt.ledger).parent_path();
  const auto ledger_bytes = fs::file_size(opt.ledger);
  std::int64_t sends_at_start = 0;
  {
    SQLite::Database conn{opt.ledger, SQLite::OPEN_READONLY};
    sends_at_start = scalar(conn, "SELECT count(*) FROM sends");
  }
  std::printf("ledger at start: %.2f GB, %" PRId64 " sends\n", static_cast<double>(ledger_bytes) / 1e9,
              sends_at_start);

  // ---- phase 1: the ceiling, with the Twilio requests of phase 2
  auto built = steady::now();
  const auto tw = build_twilio(state->twilio_next, state->fill_sends, opt.requests, opt.port + 1);
  std::printf("built %zu Twilio callbacks (%zu distinct for %zu sends, %zu exact duplicates), %.0f MB, in %.1f s\n",
              tw.requests.size(), tw.distinct, tw.sends, tw.duplicates,
              static_cast<double>(bytes_of(tw.requests)) / 1e6, seconds_since(built));
  std::fflush(stdout);
  phase_result ceiling;
  {
    const auto self = fs::read_symlink("/proc/self/exe").string();
    auto server = bench::start_process({self, "--ceiling-server", std::to_string(opt.port + 2)},
                                       (dir / "ingest-bench-ceiling.log").string(), opt.port + 2, "ceiling server");
    if (!server)
      return 2;
    ceiling = load_client{opt.port + 2, tw.requests, twilio_connections, {}}.run("ceiling (httplib, Twilio)",
                                                                               server->pid);
    server->stop();
  }
  print_phase(ceiling);

  // ---- the daemon
  const auto config = write_config(opt);
  auto daemon = bench::start_daemon(opt.daemon, config, (dir / "ingest-bench-daemon.log").string(), opt.port);
  if (!daemon)
    return 2;
  const pid_t pid = daemon->pid;
  const long rss_at_start = bench::rss_kb(pid);
  std::int64_t events_before = 0, sends_before = 0;
  {
    SQLite::Database conn{opt.ledger, SQLite::OPEN_READONLY};
    events_before = scalar(conn, "SELECT coalesce(max(id), 0) FROM events");
    sends_before = scalar(conn, "SELECT coalesce(max(id), 0) FROM sends");
  }
  // The sends this run sends callbacks for are used up, whatever happens next.
  auto after = *state;
  after.twilio_next = tw.next_index;
  after.email_next = skip(kind::email, state->email_next, static_cast<std::int64_t>(opt.batches * email_batch),
                          state->fill_sends);
  write_state(opt.ledger, after);

  rss_watch rss{pid};
  // ---- phase 2: Twilio
  auto m0 = read_ledger_metrics(opt.port);
  auto twilio_phase = load_client{opt.port + 1, tw.requests, twilio_connections, {}}.run("deliveryd Twilio", pid);
  auto m1 = read_ledger_metrics(opt.port);
  print_phase(twilio_phase);
  const auto twilio_ledger = ledger_during(m0, m1, twilio_phase);
  std::printf("  ledger: %s\n", twilio_ledger.first.c_str());

  // ---- phase 3: SendGrid
  built = steady::now();
  auto em = build_email(state->email_next, state->fill_sends, opt.batches, opt.port + 1);
  std::printf("built %zu SendGrid batches of %zu events, %.0f MB, in %.1f s\n", em.requests.size(), email_batch,
              static_cast<double>(bytes_of(em.requests)) / 1e6, seconds_since(built));
  std::fflush(stdout);
  m0 = read_ledger_metrics(opt.port);
  auto email_phase = load_client{opt.port + 1, em.requests, email_connections, {}}.run("deliveryd SendGrid", pid);
  m1 = read_ledger_metrics(opt.port);
  print_phase(email_phase, "events", static_cast<double>(email_batch));
  const auto email_ledger = ledger_during(m0, m1, email_phase);
  std::printf("  ledger: %s\n", email_ledger.first.c_str());
  em.requests = {};

  // ---- phase 4: intake
  built = steady::now();
  const auto in = build_intake(opt.intake_batches, opt.port, opt.intake_ids);
  std::printf("built %zu intake batches of %zu sends, %.0f MB, in %.1f s\n", in.size(), intake_batch,
              static_cast<double>(bytes_of(in)) / 1e6, seconds_since(built));
  std::fflush(stdout);
  std::size_t accepted = 0, duplicates = 0, updated = 0, rejected = 0;
  auto on_intake = [&](std::size_t, int status, std::string_view body) {
    if (status != 200)
      return;
    try {
      const auto j = nlohmann::json::parse(body);
      accepted += j.value("accepted", std::size_t{0});
      duplicates += j.value("duplicates", std::size_t{0});
      updated += j.value("updated", std::size_t{0});
      if (j.contains("rejected") && !j["rejected"].empty()) {
        if (rejected == 0)
          std::fprintf(stderr, "intake: first rejected item: %s\n", j["rejected"][0].dump().c_str());
        rejected += j["rejected"].size();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "intake: unreadable answer: %s\n", e.what());
    }
  };
  m0 = read_ledger_metrics(opt.port);
  auto intake_phase = load_client{opt.port, in, intake_connections, on_intake}.run("deliveryd intake", pid);
  m1 = read_ledger_metrics(opt.port);
  print_phase(intake_phase, "sends", static_cast<double>(intake_batch));
  const auto intake_ledger = ledger_during(m0, m1, intake_phase);
  std::printf("  ledger: %s\n", intake_ledger.first.c_str());
  std::printf("intake answers: accepted %zu, duplicates %zu, updated %zu, rejected %zu\n", accepted, duplicates,
              updated, rejected);
  rss.finish();
  const long rss_peak = rss.peak;
  const auto stop_start = steady::now();
  daemon->stop();
  std::printf("daemon stopped (SIGTERM) in %.1f s\n", seconds_since(stop_start));

  // ---- the check: everything acknowledged is in the ledger
  std::int64_t stored_twilio = 0, stored_email = 0, stored_sends = 0, pending = 0;
  {
    SQLite::Database conn{opt.ledger, SQLite::OPEN_READONLY};
    SQLite::Statement q{conn, "SELECT vendor, count(*) FROM events WHERE id > ? AND source = 'webhook' "
                              "GROUP BY vendor"};
    q.bind(1, static_cast<std::int64_t>(events_before));
    while (q.executeStep()) {
      const std::string vendor = q.getColumn(0).getString();
      if (vendor == "twilio")
        stored_twilio = q.getColumn(1).getInt64();
      else if (vendor == "email")
        stored_email = q.getColumn(1).getInt64();
      else
        std::printf("unexpected webhook events of vendor %s: %" PRId64 "\n", vendor.c_str(), q.getColumn(1).getInt64());
    }
    SQLite::Statement s{conn, "SELECT count(*) FROM sends WHERE id > ?"};
    s.bind(1, static_cast<std::int64_t>(sends_before));
    s.executeStep();
    stored_sends = s.getColumn(0).getInt64();
    pending = scalar(conn, "SELECT count(*) FROM sends WHERE status = 'pending'"); // not pending_sends
  }
  // Twilio dedupes on MessageSid|MessageStatus: a duplicate adds no row. A callback is in the ledger when any
  // of its copies was acknowledged.
  std::vector<std::uint8_t> callback_acked(tw.distinct, 0);
  std::size_t twilio_acked_requests = 0;
  for (std::size_t k = 0; k < tw.requests.size(); ++k)
    if (twilio_phase.acked[k]) {
      callback_acked[tw.origin[k]] = 1;
      ++twilio_acked_requests;
    }
  const auto twilio_acked = static_cast<std::int64_t>(std::count(callback_acked.begin(), callback_acked.end(), 1));
  const auto email_acked = static_cast<std::int64_t>(email_phase.ok * email_batch);
  const auto intake_acked = static_cast<std::int64_t>(accepted);
  bool failed = false;
  std::printf("\ncheck (events and sends written after the daemon started, read after it stopped):\n");
  auto check = [&](const char* what, std::int64_t acked, std::int64_t stored, const char* note) {
    const auto lost = acked - stored;
    std::printf("  %-8s acknowledged %" PRId64 ", stored %" PRId64 ", lost %" PRId64 "%s\n", what, acked, stored,
                lost, note);
    failed = failed || lost != 0;
  };
  const std::string twilio_note = " (distinct callbacks; " + std::to_string(twilio_acked_requests)
                                  + " requests acknowledged, duplicates add no row)";
  check("twilio", twilio_acked, stored_twilio, twilio_note.c_str());
  check("email", email_acked, stored_email, " (events: acknowledged batches x 100)");
  check("intake", intake_acked, stored_sends, " (sum of \"accepted\")");
  for (const auto* r : {&ceiling, &twilio_phase, &email_phase, &intake_phase})
    if (r->non2xx != 0 || r->unanswered != 0) {
      std::printf("  %s: %zu non-2xx, %zu unanswered\n", r->name.c_str(), r->non2xx, r->unanswered);
      failed = true;
    }
  if (rejected != 0 || duplicates != 0 || updated != 0) {
    std::printf("  intake: %zu rejected, %zu duplicates, %zu updated (all should be new)\n", rejected, duplicates,
                updated);
    failed = true;
  }

  // ---- the table
  const double ratio = ceiling.rate() > 0 ? twilio_phase.rate() / ceiling.rate() : 0;
  const double email_events = email_phase.rate() * static_cast<double>(email_batch);
  const double intake_sends = intake_phase.rate() * static_cast<double>(intake_batch);
  const double peak_mb = static_cast<double>(rss_peak) / 1024.0;
  auto cpu = [](const phase_result& r) { return fmt("%.0f %%", 100 * r.gen_cpu / r.wall); };
  auto server_cpu = [](const phase_result& r) { return fmt("%.0f %%", 100 * r.server_cpu / r.wall); };
  std::vector<row> table;
  table.push_back({"ceiling (httplib) req/s", with_commas(ceiling.rate()) + " req/s", "", {}});
  table.push_back({"  ceiling p50 / p99", fmt("%.2f", ceiling.p(50)) + " / " + fmt("%.2f ms", ceiling.p(99)), "", {}});
  table.push_back({"Twilio req/s (deliveryd)", with_commas(twilio_phase.rate()) + " req/s", "", {}});
  table.push_back({"  Twilio / ceiling", fmt("%.0f %%", 100 * ratio), ">= 50 %", ratio >= 0.5});
  table.push_back({"  Twilio p50", fmt("%.2f ms", twilio_phase.p(50)), "", {}});
  table.push_back({"  Twilio p99", fmt("%.2f ms", twilio_phase.p(99)), "<= 20 ms", twilio_phase.p(99) <= 20});
  table.push_back({"  Twilio max", fmt("%.2f ms", twilio_phase.p(100)), "", {}});
  table.push_back({"  Twilio non-2xx", std::to_string(twilio_phase.non2xx + twilio_phase.unanswered), "= 0",
                   twilio_phase.non2xx + twilio_phase.unanswered == 0});
  table.push_back({"SendGrid events/s", with_commas(email_events) + " events/s", ">= 100,000", email_events >= 100'000});
  table.push_back({"  SendGrid p50 / p99 (100/batch)",
                   fmt("%.2f", email_phase.p(50)) + " / " + fmt("%.2f ms", email_phase.p(99)), "", {}});
  table.push_back({"  SendGrid non-2xx", std::to_string(email_phase.non2xx + email_phase.unanswered), "= 0",
                   email_phase.non2xx + email_phase.unanswered == 0});
  table.push_back({"intake sends/s", with_commas(intake_sends) + " sends/s", ">= 100,000", intake_sends >= 100'000});
  table.push_back({"  intake p50 / p99 (1000/batch)",
                   fmt("%.1f", intake_phase.p(50)) + " / " + fmt("%.1f ms", intake_phase.p(99)), "", {}});
  table.push_back({"  intake non-2xx", std::to_string(intake_phase.non2xx + intake_phase.unanswered), "= 0",
                   intake_phase.non2xx + intake_phase.unanswered == 0});
  table.push_back({"peak RSS (phases 2-4)", fmt("%.1f MB", peak_mb), "<= 256 MB", peak_mb <= 256});
  table.push_back({"  RSS at start", fmt("%.1f MB", static_cast<double>(rss_at_start) / 1024.0), "", {}});
  table.push_back({"  pending sends (after the run)", with_commas(static_cast<double>(pending)), ">= 1,000,000",
                   pending >= 1'000'000});
  table.push_back({"ledger at start", fmt("%.2f GB", static_cast<double>(ledger_bytes) / 1e9) + ", "
                                        + with_commas(static_cast<double>(sends_at_start)) + " sends", "", {}});
  table.push_back({"daemon startup", fmt("%.1f s", daemon->startup_seconds), "", {}});
  table.push_back({"generator CPU (1 core = 100 %)",
                   cpu(ceiling) + " / " + cpu(twilio_phase) + " / " + cpu(email_phase) + " / " + cpu(intake_phase),
                   "ceil/tw/sg/intake", {}});
  table.push_back({"server CPU (1 core = 100 %)",
                   server_cpu(ceiling) + " / " + server_cpu(twilio_phase) + " / " + server_cpu(email_phase) + " / "
                     + server_cpu(intake_phase), "ceil/tw/sg/intake", {}});
  table.push_back({"ledger busy to durable (% of wall)", fmt("%.0f %%", twilio_ledger.second) + " / "
                     + fmt("%.0f %%", email_ledger.second) + " / " + fmt("%.0f %%", intake_ledger.second),
                   "tw/sg/intake", {}});
  table.push_back({"machine", machine(), "", {}});
  std::printf("\ningest_bench: %s, load generator: one-thread epoll client on the same cores\n", opt.ledger.c_str());
  const bool all_pass = bench::print_table(table);
  return failed ? 2 : all_pass ? 0 : 1;
}

void usage() {
  std::fputs(
    "usage: ingest_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--requests N] [--batches N]\n"
    "                    [--intake-batches N] [--intake-without-ids] [--prepare-only]\n"
    "  --ledger PATH         the bench ledger (default build/bench/ingest-ledger.db); prepared once and reused\n"
    "                        while it holds N prepared sends, is younger than 12 h and has unused sends left\n"
    "  --sends N             sends to prepare (default 5000000)\n"
    "  --daemon PATH         the deliveryd binary (default the one built with this bench)\n"
    "  --port P              ops listener port on 127.0.0.1 (default 18491); webhooks take P+1, the ceiling P+2\n"
    "  --requests N          Twilio callbacks of the ceiling and Twilio phases (default 400000)\n"
    "  --batches N           SendGrid batches of 100 events (default 3000)\n"
    "  --intake-batches N    intake batches of 1000 sends (default 400)\n"
    "  --intake-without-ids  intake sends without vendor message ids (registered before the vendor call)\n"
    "  --prepare-only        prepare the ledger and stop\n",
    stderr);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  deliveryd::bench::arguments args{argc, argv, usage};
  while (const auto next = args.next()) {
    const auto arg = *next;
    auto value = [&] { return args.value(); };
    if (arg == "--ceiling-server")
      return ceiling_server(std::stoi(value())); // the bench's own helper process (phase 1)
    if (arg == "--ledger") opt.ledger = value();
    else if (arg == "--sends") opt.sends = std::stoll(value());
    else if (arg == "--daemon") opt.daemon = value();
    else if (arg == "--port") opt.port = std::stoi(value());
    else if (arg == "--requests") opt.requests = std::stoull(value());
    else if (arg == "--batches") opt.batches = std::stoull(value());
    else if (arg == "--intake-batches") opt.intake_batches = std::stoull(value());
    else if (arg == "--intake-without-ids") opt.intake_ids = false;
    else if (arg == "--prepare-only") opt.prepare_only = true;
    else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (opt.sends <= 0 || opt.requests < 1000 || opt.batches == 0 || opt.intake_batches == 0) {
    usage();
    return 2;
  }
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    return 2;
  }
}
