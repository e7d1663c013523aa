#include "ingest_ceiling.hpp"

#include <csignal>
#include <cstdio>
#include <thread>

#include <pthread.h>

#include <httplib.h>

#include "daemon/http_common.hpp"
#include "daemon/http_server.hpp"

namespace deliveryd::bench::ingest {

namespace {

using deliveryd::daemon::http_server;

/// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so that only sigwait takes them.
/// Called before any thread starts: a thread that had them unblocked would be killed by them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

/// Gives `server` (made with the webhooks listener's connection limits and threads) the rest of that listener's
/// settings (daemon/app.cpp): time-outs, body limit, error bodies; and GET /healthz, which the bench polls.
void configure_like_webhooks(http_server& server) {
  deliveryd::daemon::configure_server(server, 1 << 20);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
}

/// Serves `server` on 127.0.0.1:`port` until one of `signals` comes, then stops accepting and waits for the
/// requests in flight. Returns the exit code (1 when it cannot listen).
int serve_until_signal(http_server& server, const sigset_t& signals, int port, const char* what) {
  if (!deliveryd::daemon::bind_listener(server, "127.0.0.1", port)) {
    std::fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", what, port);
    return 1;
  }
  std::thread listener{[&] { server.listen_after_bind(); }};
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop_accepting();
  listener.join();
  return 0;
}

} // namespace

int ceiling_server(int port) {
  const auto signals = block_stop_signals();
  // As deliveryd's webhooks listener (daemon/app.cpp).
  http_server server{{}, deliveryd::daemon::webhooks_threads};
  configure_like_webhooks(server);
  server.Post("/webhooks/twilio", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  return serve_until_signal(server, signals, port, "ceiling server");
}

} // namespace deliveryd::bench::ingest
