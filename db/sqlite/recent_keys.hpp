#pragma once
/// The sends' message keys in memory, so that the ledger's writer finds the send of a vendor's event without
/// descending the message-key index.
///
/// Why: on a ledger of millions of sends the index `sends_by_message_key` is a hash of the vendor's id, so the
/// events of one transaction land on leaves all over it. Each lookup was a descent and, most of the time, a `pread`
/// of a leaf missing from the cache, while the send's row and its events' index entries are near those of the
/// other recent sends. Served from memory, the lookup reads only the send's row: on 5M sends, bench/ingest.sh's
/// A/B measured 1.44 times the SendGrid events and 1.16 times the Twilio callbacks per second (docs/performance.md,
/// "Stop 30").
///
/// It is a hint, never the truth. Every hit is read by rowid with the vendor and the id compared
/// (store_rows.cpp, load_by_message), and a miss or a mismatch goes to the index as before. So nothing it holds,
/// stale or missing (a purged send, a rolled-back insert whose rowid a later send took, a set that overflowed),
/// changes a result: it only spares the descent.
///
/// Layout: 2^k sets of 8 entries of 8 bytes (one cache line per set). An entry is the send's rowid (40 bits) and
/// the key's top 24 bits as a fingerprint; the set is the key's low k bits (k ≤ 20, so the two do not overlap).
/// A full set gives up its oldest send (the smallest rowid): callbacks come for recent sends, and those stay. The
/// table is allocated zeroed by the system (calloc), so its memory is resident only as far as sets are used.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>

namespace SQLite {
class Database;
}

namespace deliveryd::db::sqlite {

/// Not thread-safe: the writer's thread (and open(), before it) is its only user, as of the store itself.
class recent_keys {
public:
  /// A table of 2^set_bits sets (set_bits within [min_set_bits, max_set_bits]).
  explicit recent_keys(unsigned set_bits);

  static constexpr unsigned min_set_bits = 14; ///< 1 MiB
  static constexpr unsigned max_set_bits = 20; ///< 64 MiB: 8.4M entries
  /// The sets for a ledger whose highest rowid is `sends`: about 1.3 entries per send plus room for a million
  /// new ones, within the bounds above (5M sends: 2^20 sets).
  static unsigned set_bits_for(std::int64_t sends);

  /// The rowid last put for `key` (a vendor_message_key), if the table holds one.
  std::optional<std::int64_t> find(std::int64_t key) const;
  /// The writer's knowledge: `key` is send `rowid` now. Replaces what the table held for the key.
  void put(std::int64_t key, std::int64_t rowid);
  /// The warm-up's knowledge, read from a snapshot of the ledger: taken only where it displaces nothing newer,
  /// never over an entry for the same key (the writer's put came after that snapshot).
  void offer(std::int64_t key, std::int64_t rowid);

  /// What the table has done (for tests).
  struct stats {
    std::uint64_t hits = 0;    ///< find() found an entry
    std::uint64_t misses = 0;  ///< find() found none
    std::uint64_t entries = 0; ///< entries held
    std::uint64_t capacity = 0;
  };
  stats counters() const;

private:
  static constexpr unsigned ways = 8;
  struct free_slots {
    void operator()(std::uint64_t* p) const noexcept { std::free(p); }
  };
  std::uint64_t* set_of(std::int64_t key) const noexcept;
  void place(std::int64_t key, std::int64_t rowid, bool from_writer);

  const std::uint64_t mask_;
  std::unique_ptr<std::uint64_t[], free_slots> slots_;
  mutable std::uint64_t hits_ = 0, misses_ = 0;
  std::uint64_t entries_ = 0;
};

/// Offers every message key of the ledger open on `db` to `keys`, in one read of the index `sends_by_message_key`;
/// returns how many it read. The writer calls it at open, through a connection of its own with a small cache,
/// before anything else reads or writes the ledger: under a microsecond per send (a 5M-send ledger opened in
/// 3.6-4.9 s instead of 0.2-0.6). On a thread of its own behind the open, the webhooks were 13-27 % slower while it
/// read (docs/performance.md, "Stop 30").
std::uint64_t warm_up(SQLite::Database& db, recent_keys& keys);

} // namespace deliveryd::db::sqlite
