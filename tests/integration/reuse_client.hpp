#pragma once
/// Keep-alive clients that reuse their connections the way HTTP connection pools do, at the worst moments for a
/// server that closes idle connections: right at the keep-alive timeout it advertised, with the request still
/// travelling when that moment passes. What it simulates: a pool that checks a pooled connection for EOF before
/// writing (a connection the server had closed is replaced, its request never sent), then writes the request,
/// which reaches the server up to `transit_max` later (a network's one-way delay, emulated on loopback by waiting
/// before the write); and does not retry: a request written to a connection that got no complete answer counts as
/// dropped. What it does not simulate: packet loss, pipelining, TLS.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace it {

/// How the clients behave.
struct reuse_plan {
  std::vector<int> ports;                  ///< listeners on 127.0.0.1, the clients spread evenly over them
  std::vector<std::string> requests;       ///< the request bytes per port (same order), answered with a body
  int clients = 100;                       ///< connections at once (one thread each)
  long total_requests = 10'000;            ///< stop once this many requests were written
  std::chrono::seconds max_time{60};       ///< or when this much time has passed
  std::chrono::milliseconds advertised{1000};   ///< the server's Keep-Alive timeout
  std::chrono::milliseconds closes_after{2000}; ///< when the server closes an idle connection (timeout + grace)
  std::chrono::milliseconds early_jitter{150};  ///< an idle reuse is decided up to this long before `advertised`
  std::chrono::milliseconds transit_max{250};   ///< and its request arrives up to this long after the decision
  double idle_share = 0.15;   ///< share of requests sent at the advertised moment (the rest back to back)
  double beyond_share = 0.05; ///< of those, the share that waits past `closes_after` (to see the idle close)
  unsigned seed = 1;
};

/// What the clients saw.
struct reuse_figures {
  long requests = 0;      ///< requests written to a connection
  long answered = 0;      ///< with a complete answer
  long dropped = 0;       ///< written, and no complete answer: must be 0
  long idle_reuses = 0;   ///< requests sent at the advertised moment
  long reconnects = 0;    ///< new connections after the first of each client
  long idle_closes = 0;   ///< connections found closed past `closes_after`, before a write (never written to)
  long early_closes = 0;  ///< connections found closed before `advertised` had passed: must be 0
  long close_answers = 0; ///< answers that said Connection: close (the 1000th request of a connection)
  long not_closed = 0;    ///< idle connections still open 1.5 s after `closes_after` (given up unwritten)
  long wrong_timeout = 0; ///< keep-alive answers whose Keep-Alive timeout was not `advertised`
  std::chrono::milliseconds took{};
  std::vector<std::string> samples; ///< what happened to a few dropped requests
};

/// Runs the clients (see the file comment) and returns what they saw.
reuse_figures run_reuse_clients(const reuse_plan& plan);

/// One line of figures for the test's output.
std::string describe(const reuse_figures& f);

} // namespace it
