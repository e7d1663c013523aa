#pragma once
/// One-time, short-lived tickets for downloads. A browser downloads a file by following a link, which carries no
/// Authorization header; a token in the link's URL would land in the browser's history and in every log on the
/// way. So the page POSTs the export's query with its bearer token and gets a URL with a ticket instead: it works
/// once, for that query only, within a minute.

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "core/time.hpp"

namespace deliveryd::daemon {

/// The tickets waiting to be used. Thread-safe: the ops listener's threads issue and redeem them.
class download_tickets {
public:
  /// How long a ticket may wait for its download.
  static constexpr std::chrono::seconds lifetime{60};
  /// Tickets that may wait at once; more are refused until some are used or expire.
  static constexpr std::size_t capacity = 256;

  /// A new ticket (256 random bits, base64url) for the export `query`, valid until `now` + lifetime; nullopt
  /// when `capacity` unexpired tickets wait already.
  std::optional<std::string> issue(httplib::Params query, core::timestamp now);

  /// The query of `ticket`, which is used up by this call; nullopt for a ticket that is unknown, used or
  /// expired.
  std::optional<httplib::Params> redeem(std::string_view ticket, core::timestamp now);

  /// Tickets waiting (expired ones included until the next issue or redeem removes them).
  std::size_t waiting() const;

private:
  struct entry {
    httplib::Params query;
    core::timestamp expires{};
  };
  /// Removes the expired tickets; the caller holds mutex_.
  void forget_expired(core::timestamp now);

  mutable std::mutex mutex_;
  /// Keyed by the SHA-256 of the ticket: a lookup compares digests, which tell nothing about a ticket's text.
  std::map<std::string, entry> tickets_;
};

} // namespace deliveryd::daemon
