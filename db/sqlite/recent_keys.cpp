#include "db/sqlite/recent_keys.hpp"

#include <algorithm>
#include <bit>
#include <new>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace deliveryd::db::sqlite {

namespace {

constexpr unsigned rowid_bits = 40;
constexpr std::uint64_t rowid_mask = (std::uint64_t{1} << rowid_bits) - 1;

/// The key's top 24 of its 48 bits (vendor_message_key), above the set's bits.
std::uint64_t fingerprint(std::int64_t key) noexcept {
  return (static_cast<std::uint64_t>(key) >> 24) & 0xFFFFFF;
}

std::uint64_t rowid_of(std::uint64_t entry) noexcept { return entry & rowid_mask; }

} // namespace

recent_keys::recent_keys(unsigned set_bits)
  : mask_{(std::uint64_t{1} << std::clamp(set_bits, min_set_bits, max_set_bits)) - 1},
    slots_{static_cast<std::uint64_t*>(std::calloc((mask_ + 1) * ways, sizeof(std::uint64_t)))} {
  if (!slots_)
    throw std::bad_alloc{};
}

unsigned recent_keys::set_bits_for(std::int64_t sends) {
  const auto wanted = static_cast<std::uint64_t>(std::max<std::int64_t>(sends, 0)) + 1'000'000;
  const auto sets = std::bit_ceil(wanted * 4 / 3 / ways);
  return std::clamp(static_cast<unsigned>(std::countr_zero(sets)), min_set_bits, max_set_bits);
}

std::uint64_t* recent_keys::set_of(std::int64_t key) const noexcept {
  return slots_.get() + (static_cast<std::uint64_t>(key) & mask_) * ways;
}

std::optional<std::int64_t> recent_keys::find(std::int64_t key) const {
  const auto fp = fingerprint(key);
  const auto* set = set_of(key);
  for (unsigned i = 0; i < ways; ++i)
    if (set[i] != 0 && set[i] >> rowid_bits == fp) {
      ++hits_;
      return static_cast<std::int64_t>(rowid_of(set[i]));
    }
  ++misses_;
  return std::nullopt;
}

void recent_keys::put(std::int64_t key, std::int64_t rowid) { place(key, rowid, true); }

void recent_keys::offer(std::int64_t key, std::int64_t rowid) { place(key, rowid, false); }

void recent_keys::place(std::int64_t key, std::int64_t rowid, bool from_writer) {
  if (rowid <= 0 || static_cast<std::uint64_t>(rowid) > rowid_mask || key < 0)
    return; // not representable: the index serves that send
  const auto fp = fingerprint(key);
  const auto entry = fp << rowid_bits | static_cast<std::uint64_t>(rowid);
  auto* set = set_of(key);
  unsigned oldest = 0;
  for (unsigned i = 0; i < ways; ++i) {
    if (set[i] == 0) {
      set[i] = entry;
      ++entries_;
      return;
    }
    if (set[i] >> rowid_bits == fp) {
      if (from_writer)
        set[i] = entry;
      return;
    }
    if (rowid_of(set[i]) < rowid_of(set[oldest]))
      oldest = i;
  }
  // Full: the oldest send makes room, unless the warm-up offers one older still.
  if (from_writer || rowid_of(set[oldest]) < static_cast<std::uint64_t>(rowid))
    set[oldest] = entry;
}

recent_keys::stats recent_keys::counters() const {
  return {hits_, misses_, entries_, (mask_ + 1) * ways};
}

std::uint64_t warm_up(SQLite::Database& db, recent_keys& keys) {
  SQLite::Statement all{db, "SELECT message_key, id FROM sends INDEXED BY sends_by_message_key "
                            "WHERE message_key IS NOT NULL"};
  std::uint64_t read = 0;
  while (all.executeStep()) {
    keys.offer(all.getColumn(0).getInt64(), all.getColumn(1).getInt64());
    ++read;
  }
  return read;
}

} // namespace deliveryd::db::sqlite
