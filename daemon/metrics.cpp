#include "daemon/metrics.hpp"

#include <array>
#include <charconv>
#include <ctime>
#include <fstream>
#include <sstream>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

namespace deliveryd::daemon {

namespace {

using actors::vendor_counters;

/// The vendors in the order the exposition lists them.
constexpr std::array<core::vendor, 4> vendors = {core::vendor::twilio, core::vendor::email, core::vendor::carrier,
                                                 core::vendor::kakao};

std::uint64_t read(const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

/// Builds the exposition text: one family at a time, HELP and TYPE first.
class exposition {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    append_escaped(help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }

  /// One sample; `labels` are (name, value) pairs.
  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              std::string_view value) {
    text_ += name;
    if (labels.size() > 0) {
      text_ += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first)
          text_ += ',';
        first = false;
        text_ += label;
        text_ += "=\"";
        append_escaped(label_value, true);
        text_ += '"';
      }
      text_ += '}';
    }
    text_ += ' ';
    text_ += value;
    text_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              std::uint64_t value) {
    sample(name, labels, std::to_string(value));
  }

  /// A family of one counter per vendor.
  void per_vendor(std::string_view name, std::string_view help, const actors::counters& stats,
                  std::atomic<std::uint64_t> vendor_counters::*member) {
    family(name, "counter", help);
    for (auto v : vendors)
      sample(name, {{"vendor", core::to_string(v)}}, read(stats.of(v).*member));
  }

  std::string take() { return std::move(text_); }

private:
  // HELP escapes backslash and newline; label values also the double quote.
  void append_escaped(std::string_view text, bool quote) {
    for (char c : text) {
      if (c == '\\')
        text_ += "\\\\";
      else if (c == '\n')
        text_ += "\\n";
      else if (c == '"' && quote)
        text_ += "\\\"";
      else
        text_ += c;
    }
  }

  std::string text_;
};

std::string number(double value) {
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  return std::string{buf, end};
}

void vendor_metrics(exposition& out, const actors::counters& stats) {
  out.per_vendor("deliveryd_vendor_events_received_total",
                 "Usable vendor events (webhook or poll) handed to the ledger.", stats,
                 &vendor_counters::events_received);
  out.per_vendor("deliveryd_vendor_events_stored_total",
                 "Vendor events committed as new (applied, or held for a send not registered yet).", stats,
                 &vendor_counters::events_stored);
  out.per_vendor("deliveryd_vendor_events_duplicate_total",
                 "Vendor events that were already stored (same dedupe key).", stats, &vendor_counters::duplicates);
  out.per_vendor("deliveryd_vendor_events_unusable_total",
                 "Items of vendor batches that could not be used (logged and skipped; the rest was applied).", stats,
                 &vendor_counters::unusable);
  out.per_vendor("deliveryd_webhook_auth_failures_total",
                 "Webhook requests refused by authentication (403: bad or missing signature, wrong token, stale "
                 "timestamp).",
                 stats, &vendor_counters::bad_signatures);
  out.per_vendor("deliveryd_webhook_malformed_total", "Webhook requests refused as unreadable (400).", stats,
                 &vendor_counters::malformed);
  out.family("deliveryd_polls_total", "counter",
             "Outbound status fetches by result: ok (answered), error (time-out, 5xx, 429, unreadable), "
             "not_found (404).");
  for (auto v : vendors) {
    const auto& c = stats.of(v);
    const auto name = core::to_string(v);
    out.sample("deliveryd_polls_total", {{"vendor", name}, {"result", "ok"}}, read(c.polls));
    out.sample("deliveryd_polls_total", {{"vendor", name}, {"result", "error"}}, read(c.poll_errors));
    out.sample("deliveryd_polls_total", {{"vendor", name}, {"result", "not_found"}}, read(c.poll_not_found));
  }
  out.per_vendor("deliveryd_deadlines_fired_total", "Sends that became uncertain (ME09) at their deadline.", stats,
                 &vendor_counters::deadlines_fired);
}

void pending_metrics(exposition& out, const std::optional<pending_counts>& pending) {
  out.family("deliveryd_pending_sends", "gauge",
             "Sends still pending, by vendor (counted in the ledger at most every 10 s).");
  if (!pending)
    return;
  for (auto v : vendors) {
    std::int64_t n = 0;
    for (const auto& [word, count] : *pending)
      if (word == core::to_string(v))
        n = count;
    out.sample("deliveryd_pending_sends", {{"vendor", core::to_string(v)}}, std::to_string(n));
  }
}

void commit_histogram(exposition& out, const actors::ledger_counters& l) {
  constexpr std::string_view bucket = "deliveryd_ledger_commit_seconds_bucket";
  out.family("deliveryd_ledger_commit_seconds", "histogram",
             "Time from BEGIN to COMMIT of the ledger's successful group transactions.");
  // Cumulative, from one reading of each bucket: +Inf and _count agree whatever commits meanwhile.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < actors::commit_latency_bounds_us.size(); ++i) {
    cumulative += read(l.commit_us_buckets[i]);
    out.sample(bucket, {{"le", micros_as_seconds(actors::commit_latency_bounds_us[i])}}, cumulative);
  }
  cumulative += read(l.commit_us_buckets.back());
  out.sample(bucket, {{"le", "+Inf"}}, cumulative);
  out.sample("deliveryd_ledger_commit_seconds_sum", {}, micros_as_seconds(read(l.commit_us_sum)));
  out.sample("deliveryd_ledger_commit_seconds_count", {}, cumulative);
}

void ledger_metrics(exposition& out, const actors::ledger_counters& l) {
  out.family("deliveryd_intake_sends_total", "counter",
             "Sends posted to /v1/sends by outcome: accepted (registered), duplicate, updated, rejected.");
  out.sample("deliveryd_intake_sends_total", {{"outcome", "accepted"}}, read(l.intake_accepted));
  out.sample("deliveryd_intake_sends_total", {{"outcome", "duplicate"}}, read(l.intake_duplicates));
  out.sample("deliveryd_intake_sends_total", {{"outcome", "updated"}}, read(l.intake_updated));
  out.sample("deliveryd_intake_sends_total", {{"outcome", "rejected"}}, read(l.intake_rejected));
  out.family("deliveryd_ledger_commits_total", "counter", "Successful group transactions of the ledger.");
  out.sample("deliveryd_ledger_commits_total", {}, read(l.commits));
  out.family("deliveryd_ledger_commit_failures_total", "counter",
             "Failed group transactions (every job in them was answered 503).");
  out.sample("deliveryd_ledger_commit_failures_total", {}, read(l.commit_failures));
  out.family("deliveryd_ledger_jobs_committed_total", "counter",
             "Jobs (intake requests, vendor event batches) answered after a successful commit; its rate divided "
             "by the rate of deliveryd_ledger_commits_total is the mean batch size.");
  out.sample("deliveryd_ledger_jobs_committed_total", {}, read(l.jobs_committed));
  commit_histogram(out, l);
  out.family("deliveryd_ledger_queue_depth", "gauge", "Jobs waiting for the ledger's next commit.");
  out.sample("deliveryd_ledger_queue_depth", {}, read(l.queue_depth));
  out.family("deliveryd_purged_sends_total", "counter", "Sends removed by retention.");
  out.sample("deliveryd_purged_sends_total", {}, read(l.purged_sends));
  out.family("deliveryd_purged_events_total", "counter", "Vendor events removed by retention.");
  out.sample("deliveryd_purged_events_total", {}, read(l.purged_events));
}

void backlog_metrics(exposition& out, const actors::backlog* gate, const actors::backlog* log_gate) {
  // Each family is followed by its own sample (the exposition format wants them together); without a gate the
  // families stay, without samples.
  out.family("deliveryd_ledger_backlog_items", "gauge",
             "Sends and events handed to the ledger and not yet answered (webhooks and intake).");
  if (gate)
    out.sample("deliveryd_ledger_backlog_items", {}, gate->items());
  out.family("deliveryd_ledger_backlog_limit", "gauge",
             "The backlog past which webhooks and intake are answered 503 overloaded (intake at three quarters).");
  if (gate)
    out.sample("deliveryd_ledger_backlog_limit", {}, gate->limit());
  out.family("deliveryd_overloaded_total", "counter", "Webhook and intake requests answered 503 overloaded.");
  if (gate)
    out.sample("deliveryd_overloaded_total", {}, gate->refusals() + (log_gate ? log_gate->refusals() : 0));
}

void ack_log_metrics(exposition& out, const actors::ledger_counters& l, const db::ack_log* log,
                     const actors::backlog* log_gate) {
  out.family("deliveryd_ack_log_backlog_events", "gauge",
             "Vendor events the ack log acknowledged and the ledger has not committed yet.");
  if (log_gate)
    out.sample("deliveryd_ack_log_backlog_events", {}, log_gate->items());
  out.family("deliveryd_ack_log_backlog_events_limit", "gauge",
             "The bound on them: past it, a webhook waits up to 2 s for room, then is answered 503 overloaded.");
  if (log_gate)
    out.sample("deliveryd_ack_log_backlog_events_limit", {}, log_gate->limit());
  out.family("deliveryd_ack_log_applied_records_total", "counter",
             "Ack log records (webhook requests) the ledger has applied.");
  out.sample("deliveryd_ack_log_applied_records_total", {}, read(l.log_records_applied));
  out.family("deliveryd_ack_log_applied_events_total", "counter", "Vendor events of those records.");
  out.sample("deliveryd_ack_log_applied_events_total", {}, read(l.log_events_applied));
  const auto c = log ? log->counters() : db::ack_log::stats{};
  out.family("deliveryd_ack_log_records_total", "counter", "Records acknowledged by the ack log (SQLite ledger).");
  if (log)
    out.sample("deliveryd_ack_log_records_total", {}, c.records);
  out.family("deliveryd_ack_log_syncs_total", "counter", "Group fdatasyncs of the ack log.");
  if (log)
    out.sample("deliveryd_ack_log_syncs_total", {}, c.syncs);
  out.family("deliveryd_ack_log_backlog_bytes", "gauge",
             "Acknowledged ack log bytes the ledger has not committed yet.");
  if (log)
    out.sample("deliveryd_ack_log_backlog_bytes", {}, log->backlog());
  out.family("deliveryd_ack_log_backlog_limit_bytes", "gauge",
             "The backlog past which webhooks are answered 503 overloaded.");
  if (log)
    out.sample("deliveryd_ack_log_backlog_limit_bytes", {}, log->backlog_limit());
}

void process_metrics(exposition& out, const process_sample& p) {
  auto gauge = [&out](std::string_view name, std::string_view help, const std::optional<std::string>& value) {
    out.family(name, "gauge", help);
    if (value)
      out.sample(name, {}, *value);
  };
  auto text = [](const std::optional<std::uint64_t>& v) {
    return v ? std::optional<std::string>{std::to_string(*v)} : std::nullopt;
  };
  gauge("deliveryd_process_resident_memory_bytes", "Resident memory size in bytes.", text(p.resident_bytes));
  gauge("deliveryd_process_open_fds", "Open file descriptors.", text(p.open_fds));
  gauge("deliveryd_process_max_fds", "The most file descriptors the process may open.", text(p.max_fds));
  gauge("deliveryd_process_start_time_seconds", "Start time of the process, seconds since the Unix epoch.",
        p.start_time_seconds ? std::optional<std::string>{number(*p.start_time_seconds)} : std::nullopt);
}

std::optional<std::string> slurp(const char* path) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::optional<std::uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return std::nullopt;
  const int own = ::dirfd(dir);
  std::uint64_t n = 0;
  while (const auto* entry = ::readdir(dir)) {
    int fd = -1;
    const std::string_view name{entry->d_name};
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec == std::errc{} && end == name.data() + name.size() && fd != own) // not ".", "..", nor this listing
      ++n;
  }
  ::closedir(dir);
  return n;
}

} // namespace

std::string micros_as_seconds(std::uint64_t micros) {
  auto text = std::to_string(micros / 1'000'000);
  if (const auto fraction = micros % 1'000'000; fraction != 0) {
    auto digits = std::to_string(fraction);
    digits.insert(0, 6 - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    text += '.' + digits;
  }
  return text;
}

std::string format_metrics(const actors::counters& stats, const std::optional<pending_counts>& pending,
                           const process_sample& process, const actors::backlog* gate, const db::ack_log* log,
                           const actors::backlog* log_gate) {
  exposition out;
  vendor_metrics(out, stats);
  pending_metrics(out, pending);
  ledger_metrics(out, stats.ledger);
  backlog_metrics(out, gate, log_gate);
  ack_log_metrics(out, stats.ledger, log, log_gate);
  process_metrics(out, process);
  return out.take();
}

std::optional<std::uint64_t> resident_bytes_of(std::string_view statm, std::uint64_t page_size) {
  // "size resident shared text lib data dt", in pages.
  auto space = statm.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto rest = statm.substr(space + 1);
  std::uint64_t pages = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pages);
  if (ec != std::errc{} || end == rest.data())
    return std::nullopt;
  return pages * page_size;
}

std::optional<double> start_time_of(std::string_view stat, long ticks_per_second, double seconds_since_boot,
                                    double now_unix) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after its last ')'.
  auto paren = stat.rfind(')');
  if (paren == std::string_view::npos || ticks_per_second <= 0)
    return std::nullopt;
  std::string_view rest = stat.substr(paren + 1);
  // After ") " come fields 3, 4, ...: starttime (22) is the 20th of them.
  for (int field = 3; field < 22; ++field) {
    auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos)
      return std::nullopt;
    auto space = rest.find(' ', start);
    if (space == std::string_view::npos)
      return std::nullopt;
    rest = rest.substr(space);
  }
  rest = rest.substr(std::min(rest.size(), rest.find_first_not_of(' ')));
  std::uint64_t ticks = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ticks);
  if (ec != std::errc{} || end == rest.data())
    return std::nullopt;
  const double after_boot = static_cast<double>(ticks) / static_cast<double>(ticks_per_second);
  return now_unix - (seconds_since_boot - after_boot);
}

process_sample sample_process() {
  process_sample p;
  if (auto statm = slurp("/proc/self/statm"))
    p.resident_bytes = resident_bytes_of(*statm, static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
  p.open_fds = count_open_fds();
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    p.max_fds = static_cast<std::uint64_t>(limit.rlim_cur);
  return p;
}

std::optional<double> process_start_time() {
  timespec boot{}, now{};
  auto stat = slurp("/proc/self/stat");
  if (!stat || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0 || ::clock_gettime(CLOCK_REALTIME, &now) != 0)
    return std::nullopt;
  auto seconds = [](const timespec& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9; };
  return start_time_of(*stat, ::sysconf(_SC_CLK_TCK), seconds(boot), seconds(now));
}

std::optional<pending_counts> pending_cache::get(const std::function<std::optional<pending_counts>()>& query,
                                                 std::chrono::steady_clock::time_point now) {
  std::lock_guard lock{mutex_};
  if (value_ && now - taken_ < ttl_)
    return value_;
  auto fresh = query();
  if (fresh) {
    value_ = fresh;
    taken_ = now;
  }
  return fresh;
}

} // namespace deliveryd::daemon
