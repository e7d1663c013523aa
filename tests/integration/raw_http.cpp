#include "raw_http.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace it {

namespace {

using steady = std::chrono::steady_clock;

} // namespace

/// Lower-case ASCII copy.
std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// The value of header `name` (lower case) in a head, or "".
std::string header_of(const std::string& head, std::string_view name) {
  const auto text = lower(head);
  const auto at = text.find("\r\n" + std::string{name} + ":");
  if (at == std::string::npos)
    return {};
  const auto start = at + 3 + name.size();
  const auto end = head.find("\r\n", start);
  auto value = head.substr(start, end - start);
  value.erase(0, value.find_first_not_of(' '));
  return value;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

json raw_answer::body_json() const {
  auto parsed = json::parse(body, nullptr, false);
  return parsed.is_discarded() ? json{} : parsed;
}

raw_connection::raw_connection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const timeval send_limit{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

raw_connection::raw_connection(raw_connection&& other) noexcept
  : fd_{std::exchange(other.fd_, -1)}, started_{other.started_}, pending_{std::move(other.pending_)} {}

bool raw_connection::closed_by_peer(steady::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buffer[4096];
    const auto n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0)
      return true;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

bool raw_connection::send(std::string_view bytes) {
  if (started_ == steady::time_point{})
    started_ = steady::now();
  return send_all(fd_, bytes);
}

std::size_t raw_connection::send_until_answered(const std::vector<std::string>& pieces) {
  std::size_t sent = 0;
  for (const auto& piece : pieces) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0)
      break; // the server answered (or closed) already
    if (!send(piece))
      break;
    sent += piece.size();
  }
  return sent;
}

raw_answer raw_connection::read_answer(std::chrono::milliseconds timeout) {
  raw_answer out;
  const auto deadline = steady::now() + timeout;
  std::string data = std::move(pending_);
  std::size_t want = std::string::npos; // bytes of head + body, once the head is complete
  while (want == std::string::npos || data.size() < want) {
    if (want == std::string::npos)
      if (const auto end = data.find("\r\n\r\n"); end != std::string::npos) {
        out.head = data.substr(0, end);
        const auto length = header_of(out.head, "content-length");
        want = end + 4 + (length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10));
        continue;
      }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      break;
    char buffer[65536];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0)
      break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_);
  if (out.head.starts_with("HTTP/1.1 ") && out.head.size() >= 12)
    out.status = std::atoi(out.head.substr(9, 3).c_str());
  if (want != std::string::npos) {
    const auto body_start = out.head.size() + 4;
    out.body = data.substr(body_start, std::min(want, data.size()) - body_start);
    pending_ = data.size() > want ? data.substr(want) : std::string{};
  }
  out.closed_after = lower(out.head).find("\r\nconnection: close") != std::string::npos;
  return out;
}

raw_answer raw_exchange(int port, std::string_view request, std::chrono::milliseconds timeout) {
  raw_connection c{port};
  c.send(request);
  return c.read_answer(timeout);
}

std::vector<std::string> chunked_pieces(std::size_t total, std::size_t chunk) {
  std::vector<std::string> pieces;
  char size_line[32];
  for (std::size_t sent = 0; sent < total; sent += chunk) {
    const auto n = std::min(chunk, total - sent);
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    pieces.push_back(size_line + std::string(n, 'x') + "\r\n");
  }
  pieces.emplace_back("0\r\n\r\n");
  return pieces;
}

long rss_kib(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:"))
      return std::strtol(line.c_str() + 6, nullptr, 10);
  FAIL("no VmRSS for pid " << pid);
  return 0;
}

/// Waits until the ledger holds every webhook the daemon acknowledged: a query waits for that (the ack log's read
/// barrier), so one query through the ops listener before the file is read directly.
void settle(const daemon_process& d) {
  auto ops = d.ops_client();
  auto res = ops->Get("/v1/sends/settle-the-ack-log");
  REQUIRE(res);
  REQUIRE(res->status == 404);
}

ledger_counts counts_of(const daemon_process& d, const std::string& except_prefix) {
  settle(d);
  REQUIRE(except_prefix.find('\'') == std::string::npos);
  const auto prefix = "'" + except_prefix + "'";
  const auto of_prefix = "substr(send_id, 1, length(" + prefix + ")) = " + prefix;
  ledger_counts out;
  out.sends = ledger_int(d, "SELECT count(*) FROM sends WHERE NOT (" + of_prefix + ")");
  out.events = ledger_int(d, "SELECT count(*) FROM events WHERE send IS NULL OR send NOT IN (SELECT id FROM sends "
                             "WHERE " + of_prefix + ")");
  return out;
}

void expect_clean_ledger_text(const daemon_process& d) {
  settle(d);
  // Every column as text, on either back end; a NUL inside a value is seen, not cut off (PostgreSQL's text
  // refuses NUL outright, SQLite's would keep it).
  for (const char* table : {"sends", "events"}) {
    const auto rows = ledger_rows(d, std::string{"SELECT * FROM "} + table);
    for (const auto& row : rows)
      for (const auto& text : row) {
        INFO(table << " = " << text);
        CHECK(text.find('\0') == std::string::npos);
        CHECK(is_utf8(text));
      }
  }
}

bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80                ? 1
                          : c >= 0xC2 && c <= 0xDF ? 2
                          : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4
                                                   : 0;
    if (n == 0 || i + n > text.size())
      return false;
    unsigned value = n == 1 ? c : c & (0xFF >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80)
        return false;
      value = (value << 6) | (next & 0x3F);
    }
    const unsigned smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < smallest[n] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

} // namespace it
