#pragma once
/// Raw HTTP for the hostile-input tests: requests that cpp-httplib's client would refuse to send (a NUL in the
/// request line or a header, a bad Content-Length, a body that stops short) written byte for byte on a TCP
/// connection; the daemon's resident memory; and what the ledger holds, read straight from SQLite.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "harness.hpp"

namespace it {

/// One answer read from a raw connection.
struct raw_answer {
  int status = 0;                 ///< 0 when the connection closed (or timed out) before a status line
  std::string head;               ///< status line and headers, without the blank line
  std::string body;               ///< the Content-Length body (whatever came, when it was cut short)
  std::chrono::milliseconds took{}; ///< from the first byte sent to the end of the answer
  bool closed_after = false;      ///< the answer said `Connection: close`

  /// The body parsed as JSON (null when it is not JSON).
  json body_json() const;
};

/// A plain TCP connection to 127.0.0.1:port. The destructor closes it.
class raw_connection {
public:
  /// Connects (fails the test when it cannot).
  explicit raw_connection(int port);
  ~raw_connection();
  raw_connection(raw_connection&& other) noexcept;
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  raw_connection& operator=(raw_connection&&) = delete;

  /// Sends `bytes`; false when the peer closed or the send timed out (5 s).
  bool send(std::string_view bytes);

  /// Sends `pieces` one after another, stopping early when an answer is already waiting (a server that refuses
  /// midway need not drain the rest); returns the number of bytes sent.
  std::size_t send_until_answered(const std::vector<std::string>& pieces);

  /// Reads one answer: the head, then Content-Length bytes of body; gives up after `timeout`. The time is
  /// counted from the first send().
  raw_answer read_answer(std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// True when the daemon closes the connection before `deadline`; what it sent before that (an error answer,
  /// perhaps) is kept in unread().
  bool closed_by_peer(std::chrono::steady_clock::time_point deadline);

  /// Bytes received and not yet taken by read_answer().
  const std::string& unread() const { return pending_; }

  /// The socket, for tests that wait on several connections at once.
  int fd() const { return fd_; }

private:
  int fd_ = -1;
  std::chrono::steady_clock::time_point started_{};
  std::string pending_; ///< bytes read past the last answer
};

/// Sends `request` on a new connection and reads its answer.
raw_answer raw_exchange(int port, std::string_view request,
                        std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// `total` bytes of 'x' as HTTP/1.1 chunks of `chunk` bytes, then the last chunk.
std::vector<std::string> chunked_pieces(std::size_t total, std::size_t chunk = 64 * 1024);

/// The daemon's resident set (VmRSS) in KiB; fails the test when it cannot be read.
long rss_kib(pid_t pid);

/// How many sends and events the ledger holds.
struct ledger_counts {
  long sends = 0;
  long events = 0;
  bool operator==(const ledger_counts&) const = default;
};

/// Reads the counts from the ledger file (read-only, beside the running daemon), leaving out the sends whose
/// send_id starts with `except_prefix` and their events (the probes a test makes to show the daemon still serves).
ledger_counts counts_of(const daemon_process& d, const std::string& except_prefix = "serving-");

/// Checks that every text value of the sends and events tables is well-formed UTF-8 without a NUL byte: what
/// the day log, the exports and the XLSX writer read must never need repairing.
void expect_clean_ledger_text(const daemon_process& d);

/// True when `text` is well-formed UTF-8 (written here, independent of the daemon's own check).
bool is_utf8(std::string_view text);

/// Writes all of `bytes` to socket `fd` (no SIGPIPE); false when the connection failed.
bool send_all(int fd, std::string_view bytes);

/// Lower-case ASCII copy.
std::string lower(std::string_view text);

/// The value of header `name` (lower case) in an answer's head, without leading spaces; "" when it has none.
std::string header_of(const std::string& head, std::string_view name);

} // namespace it
