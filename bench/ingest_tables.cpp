#include "ingest_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ingest_requests.hpp"

namespace deliveryd::bench::ingest {

namespace {

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

/// Share of one core over the phase.
std::string core_share(double seconds, const phase_result& r) {
  return fmt("%.0f %%", r.wall > 0 ? 100 * seconds / r.wall : 0);
}

double mb(long kib) { return static_cast<double>(kib) / 1024.0; }

std::string ledger_text(const run_result& r) {
  return fmt("%.2f GB", static_cast<double>(r.bytes_at_start) / 1e9) + ", "
         + with_commas(static_cast<double>(r.sends_at_start)) + " sends";
}

/// One line of the comparison: a measure and its value in each run.
void print_line(const std::string& name, const std::string& sqlite, const std::string& one, const std::string& two) {
  std::printf("%-34s %-24s %-24s %s\n", name.c_str(), sqlite.c_str(), one.c_str(), two.c_str());
}

/// Lines of one phase in the three runs: rate, latency, CPU, errors.
void print_phase_lines(const char* title, const char* unit, double per_request, const phase_result& sqlite,
                       const phase_result& one, const phase_result& two) {
  auto line = [&](const std::string& name, auto&& cell) {
    print_line(name, cell(sqlite, false), cell(one, true), cell(two, true));
  };
  line(title, [&](const phase_result& p, bool) { return with_commas(p.rate() * per_request) + " " + unit; });
  line("  p50 / p99",
       [](const phase_result& p, bool) { return fmt("%.2f", p.p(50)) + " / " + fmt("%.2f ms", p.p(99)); });
  line("  daemon CPU (1 core = 100 %)",
       [](const phase_result& p, bool) { return core_share(p.cpu_of("server") + p.cpu_of("daemon"), p); });
  line("  PostgreSQL CPU",
       [](const phase_result& p, bool pg) { return pg ? core_share(p.cpu_of("postgres"), p) : std::string{"-"}; });
  line("  generator CPU", [](const phase_result& p, bool) { return core_share(p.gen_cpu, p); });
  line("  non-2xx + unanswered", [](const phase_result& p, bool) { return std::to_string(p.non2xx + p.unanswered); });
}

/// PostgreSQL's WAL per item (callback, send) of a phase, `per_request` items to a request, as text.
std::string wal_text(std::int64_t bytes, const phase_result& p, double per_request) {
  const double items = static_cast<double>(p.requests) * per_request;
  return with_commas(items > 0 ? static_cast<double>(bytes) / items : 0) + " B";
}

} // namespace

void intake_counts::operator()(std::size_t, int status, std::string_view body) {
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
}

bool print_sqlite_table(const std::string& ledger, const ceilings& c, const run_result& r) {
  const auto& tw = r.twilio;
  const auto& em = r.email;
  const auto& in = r.intake;
  const auto& ceiling = c.plain[0];
  const auto& dc = c.durable[0].phase;
  const double ratio = c.plain_rate() > 0 ? tw.rate() / c.plain_rate() : 0;
  const double durable_ratio = c.durable_rate() > 0 ? tw.rate() / c.durable_rate() : 0;
  const double email_events = em.rate() * static_cast<double>(email_batch);
  const double intake_sends = in.rate() * static_cast<double>(intake_batch);
  const double peak_mb = mb(r.rss_peak);
  auto cpu = [](const phase_result& p) { return core_share(p.gen_cpu, p); };
  auto server_cpu = [](const phase_result& p) { return core_share(p.cpu_of(), p); };
  auto before_after = [](double before, double after, double mean) {
    return with_commas(before) + " / " + with_commas(after) + ", mean " + with_commas(mean) + " req/s";
  };
  auto p50_p99 = [](const phase_result& a, const phase_result& b) {
    return fmt("%.2f", a.p(50)) + " / " + fmt("%.2f", a.p(99)) + ", " + fmt("%.2f", b.p(50)) + " / "
           + fmt("%.2f ms", b.p(99));
  };
  std::vector<row> table;
  const auto& dc_after = c.durable[1].phase;
  table.push_back({"ceiling (httplib), before / after", before_after(ceiling.rate(), c.plain[1].rate(),
                                                                     c.plain_rate()), "", {}});
  table.push_back({"  ceiling p50 / p99, before, after", p50_p99(ceiling, c.plain[1]), "", {}});
  table.push_back({"durable ceiling, before / after", before_after(dc.rate(), dc_after.rate(), c.durable_rate()),
                   "", {}});
  table.push_back({"  durable p50 / p99, before, after", p50_p99(dc, dc_after), "", {}});
  for (const auto& d : c.durable)
    table.push_back({"  durable ceiling fdatasync calls", with_commas(static_cast<double>(d.syncs)) + ", "
                       + fmt("%.1f req/sync", d.per_sync()), "", {}});
  // A 503 means an fdatasync failed: the durable ceiling's rate then says nothing.
  std::size_t durable_errors = 0;
  for (const auto& d : c.durable)
    durable_errors += d.phase.non2xx + d.phase.unanswered;
  table.push_back({"  durable ceiling non-2xx", std::to_string(durable_errors), "= 0", durable_errors == 0});
  table.push_back({"Twilio req/s (deliveryd)", with_commas(tw.rate()) + " req/s", "", {}});
  table.push_back({"  Twilio / ceiling (mean)", fmt("%.0f %%", 100 * ratio), ">= 50 %", ratio >= 0.5});
  table.push_back({"  Twilio / durable ceiling (mean)", fmt("%.0f %%", 100 * durable_ratio), ">= 75 %",
                   durable_ratio >= 0.75});
  table.push_back({"  Twilio p50", fmt("%.2f ms", tw.p(50)), "", {}});
  table.push_back({"  Twilio p99", fmt("%.2f ms", tw.p(99)), "<= 20 ms", tw.p(99) <= 20});
  table.push_back({"  Twilio max", fmt("%.2f ms", tw.p(100)), "", {}});
  table.push_back({"  Twilio non-2xx", std::to_string(tw.non2xx + tw.unanswered), "= 0",
                   tw.non2xx + tw.unanswered == 0});
  table.push_back({"SendGrid events/s", with_commas(email_events) + " events/s", ">= 100,000", email_events >= 100'000});
  table.push_back({"  SendGrid p50 / p99 (100/batch)", fmt("%.2f", em.p(50)) + " / " + fmt("%.2f ms", em.p(99)), "",
                   {}});
  table.push_back({"  SendGrid non-2xx", std::to_string(em.non2xx + em.unanswered), "= 0",
                   em.non2xx + em.unanswered == 0});
  table.push_back({"intake sends/s", with_commas(intake_sends) + " sends/s", ">= 100,000", intake_sends >= 100'000});
  table.push_back({"  intake p50 / p99 (1000/batch)", fmt("%.1f", in.p(50)) + " / " + fmt("%.1f ms", in.p(99)), "",
                   {}});
  table.push_back({"  intake non-2xx", std::to_string(in.non2xx + in.unanswered), "= 0",
                   in.non2xx + in.unanswered == 0});
  table.push_back({"peak RSS (phases 2-4)", fmt("%.1f MB", peak_mb), "<= 256 MB", peak_mb <= 256});
  table.push_back({"  RSS at start", fmt("%.1f MB", mb(r.rss_at_start)), "", {}});
  table.push_back({"  pending sends (after the run)", with_commas(static_cast<double>(r.pending)), ">= 1,000,000",
                   r.pending >= 1'000'000});
  table.push_back({"ledger at start", ledger_text(r), "", {}});
  table.push_back({"daemon startup", fmt("%.1f s", r.startup), "", {}});
  table.push_back({"generator CPU (1 core = 100 %)",
                   cpu(ceiling) + " / " + cpu(dc) + " / " + cpu(tw) + " / " + cpu(em) + " / " + cpu(in),
                   "ceil/dur/tw/sg/in", {}});
  table.push_back({"server CPU (1 core = 100 %)",
                   server_cpu(ceiling) + " / " + server_cpu(dc) + " / " + server_cpu(tw) + " / " + server_cpu(em)
                     + " / " + server_cpu(in),
                   "ceil/dur/tw/sg/in", {}});
  table.push_back({"ledger busy to durable (% of wall)", fmt("%.0f %%", r.twilio_busy.percent) + " / "
                     + fmt("%.0f %%", r.email_busy.percent) + " / " + fmt("%.0f %%", r.intake_busy.percent),
                   "tw/sg/intake", {}});
  table.push_back({"machine", machine(), "", {}});
  std::printf("\ningest_bench: %s, load generator: one-thread epoll client on the same cores\n", ledger.c_str());
  const bool all_pass = print_table(table);
  // Issue 20's acceptance, from the rows above: both ceilings are of this run, on the same cores and requests.
  auto verdict = [](bool pass) { return pass ? "PASS" : "MISS"; };
  const bool p99_pass = tw.p(99) <= 20;
  const bool errors_pass = tw.non2xx + tw.unanswered == 0;
  std::printf("issue 20 (Twilio callbacks, %d connections; ceilings: the mean before and after): %.2f x the "
              "durable ceiling (>= 0.75: %s), %.2f x the plain ceiling (>= 0.5: %s), p99 %.2f ms (<= 20 ms: %s), "
              "%zu non-2xx (= 0: %s): %s\n",
              twilio_connections, durable_ratio, verdict(durable_ratio >= 0.75), ratio, verdict(ratio >= 0.5),
              tw.p(99), verdict(p99_pass), tw.non2xx + tw.unanswered, verdict(errors_pass),
              verdict(durable_ratio >= 0.75 && ratio >= 0.5 && p99_pass && errors_pass));
  std::fflush(stdout);
  return all_pass;
}

bool print_comparison(const run_result& sqlite, const run_result& one, const run_result& two) {
  std::printf("\ningest_bench: PostgreSQL beside SQLite, this run (load generator: one-thread epoll client on the "
              "same cores; with 2 daemons it spreads its connections over both)\n");
  print_line("measure", "SQLite", "PostgreSQL, 1 daemon", "PostgreSQL, 2 daemons");
  std::printf("%s\n", std::string(108, '-').c_str());
  print_phase_lines("Twilio callbacks/s", "req/s", 1, sqlite.twilio, one.twilio, two.twilio);
  print_line("  PostgreSQL WAL per request", "-", wal_text(one.twilio_wal, one.twilio, 1),
             wal_text(two.twilio_wal, two.twilio, 1));
  print_phase_lines("intake sends/s", "sends/s", static_cast<double>(intake_batch), sqlite.intake, one.intake,
                    two.intake);
  print_line("  PostgreSQL WAL per send", "-", wal_text(one.intake_wal, one.intake, intake_batch),
             wal_text(two.intake_wal, two.intake, intake_batch));
  auto busy = [](const run_result& r) {
    return fmt("%.0f %%", r.twilio_busy.percent) + " / " + fmt("%.0f %%", r.intake_busy.percent);
  };
  print_line("ledger busy to durable (tw/intake)", busy(sqlite), busy(one), busy(two));
  print_line("peak RSS (largest daemon)", fmt("%.1f MB", mb(sqlite.rss_peak)), fmt("%.1f MB", mb(one.rss_peak)),
             fmt("%.1f MB", mb(two.rss_peak)));
  print_line("daemon startup (slowest)", fmt("%.1f s", sqlite.startup), fmt("%.1f s", one.startup),
             fmt("%.1f s", two.startup));
  print_line("ledger at start", ledger_text(sqlite), ledger_text(one), ledger_text(two));
  auto stored = [](const run_result& r) { return std::string{r.ok ? "all" : "NOT ALL (see the check)"}; };
  print_line("acknowledged items stored", stored(sqlite), stored(one), stored(two));
  std::printf("\n");

  const double sqlite_rate = sqlite.twilio.rate();
  const double ratio = sqlite_rate > 0 ? one.twilio.rate() / sqlite_rate : 0;
  std::vector<row> table;
  table.push_back({"Twilio PG 1 daemon / SQLite", fmt("%.0f %%", 100 * ratio), ">= 50 %", ratio >= 0.5});
  if (ratio < 0.5)
    table.push_back({"  short of the target by", fmt("%.0f points", 100 * (0.5 - ratio)) + ", "
                                                   + with_commas(0.5 * sqlite_rate - one.twilio.rate()) + " req/s",
                     "", {}});
  auto share = [](double a, double b) { return fmt("%.0f %%", b > 0 ? 100 * a / b : 0); };
  table.push_back({"Twilio PG 2 daemons / 1 daemon", share(two.twilio.rate(), one.twilio.rate()), "", {}});
  table.push_back({"intake PG 1 daemon / SQLite", share(one.intake.rate(), sqlite.intake.rate()), "", {}});
  table.push_back({"intake PG 2 daemons / 1 daemon", share(two.intake.rate(), one.intake.rate()), "", {}});
  table.push_back({"PG: acknowledged, not stored", one.ok && two.ok ? "none" : "SOME", "none",
                   one.ok && two.ok});
  return print_table(table);
}

void print_ab_table(const std::vector<run_result>& a, const std::vector<run_result>& b) {
  struct measure {
    const char* name;
    double (*of)(const run_result&);
    bool tenths = false; ///< printed to a tenth, not as a whole number
  };
  const measure measures[] = {
    {"Twilio, req/s", [](const run_result& r) { return r.twilio.rate(); }},
    {"Twilio p99, ms", [](const run_result& r) { return r.twilio.p(99); }, true},
    {"SendGrid, events/s", [](const run_result& r) { return r.email.rate() * static_cast<double>(email_batch); }},
    {"intake, sends/s", [](const run_result& r) { return r.intake.rate() * static_cast<double>(intake_batch); }},
    {"peak RSS, MB", [](const run_result& r) { return static_cast<double>(r.rss_peak) / 1024; }, true},
  };
  std::printf("\nA/B, %zu rounds each (A B, then B A, ...): each round, the median, and B / A of the medians\n",
              a.size());
  for (const auto& m : measures) {
    auto show = [&m](double v) { return m.tenths ? fmt("%.1f", v) : with_commas(v); };
    auto rounds = [&](const std::vector<run_result>& runs, std::vector<double>& values) {
      std::string text;
      for (const auto& r : runs) {
        values.push_back(m.of(r));
        text += (text.empty() ? "" : " ") + show(values.back());
      }
      return text;
    };
    std::vector<double> va, vb;
    const auto ta = rounds(a, va);
    const auto tb = rounds(b, vb);
    auto median = [](std::vector<double> v) {
      if (v.empty())
        return 0.0;
      std::sort(v.begin(), v.end());
      const auto n = v.size();
      return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    };
    const double ma = median(va);
    const double mb = median(vb);
    std::printf("  %-20s A: %s (median %s)\n  %-20s B: %s (median %s)   B / A %.2f\n", m.name, ta.c_str(),
                show(ma).c_str(), "", tb.c_str(), show(mb).c_str(), ma > 0 ? mb / ma : 0.0);
  }
}

} // namespace deliveryd::bench::ingest
