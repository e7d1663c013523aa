#include "ingest_tables.hpp"

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

bool print_sqlite_table(const std::string& ledger, const phase_result& ceiling, const run_result& r) {
  const auto& tw = r.twilio;
  const auto& em = r.email;
  const auto& in = r.intake;
  const double ratio = ceiling.rate() > 0 ? tw.rate() / ceiling.rate() : 0;
  const double email_events = em.rate() * static_cast<double>(email_batch);
  const double intake_sends = in.rate() * static_cast<double>(intake_batch);
  const double peak_mb = mb(r.rss_peak);
  auto cpu = [](const phase_result& p) { return core_share(p.gen_cpu, p); };
  auto server_cpu = [](const phase_result& p) { return core_share(p.cpu_of(), p); };
  std::vector<row> table;
  table.push_back({"ceiling (httplib) req/s", with_commas(ceiling.rate()) + " req/s", "", {}});
  table.push_back({"  ceiling p50 / p99", fmt("%.2f", ceiling.p(50)) + " / " + fmt("%.2f ms", ceiling.p(99)), "", {}});
  table.push_back({"Twilio req/s (deliveryd)", with_commas(tw.rate()) + " req/s", "", {}});
  table.push_back({"  Twilio / ceiling", fmt("%.0f %%", 100 * ratio), ">= 50 %", ratio >= 0.5});
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
  table.push_back({"generator CPU (1 core = 100 %)", cpu(ceiling) + " / " + cpu(tw) + " / " + cpu(em) + " / " + cpu(in),
                   "ceil/tw/sg/intake", {}});
  table.push_back({"server CPU (1 core = 100 %)",
                   server_cpu(ceiling) + " / " + server_cpu(tw) + " / " + server_cpu(em) + " / " + server_cpu(in),
                   "ceil/tw/sg/intake", {}});
  table.push_back({"ledger busy to durable (% of wall)", fmt("%.0f %%", r.twilio_busy.percent) + " / "
                     + fmt("%.0f %%", r.email_busy.percent) + " / " + fmt("%.0f %%", r.intake_busy.percent),
                   "tw/sg/intake", {}});
  table.push_back({"machine", machine(), "", {}});
  std::printf("\ningest_bench: %s, load generator: one-thread epoll client on the same cores\n", ledger.c_str());
  return print_table(table);
}

} // namespace deliveryd::bench::ingest
