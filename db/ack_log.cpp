#include "db/ack_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "core/text.hpp"
#include "core/thread_name.hpp"

namespace deliveryd::db {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t header_bytes = 24;
constexpr std::uint16_t kind_events = 1; ///< a webhook's mapped events, payload format 1 (encode_events)
constexpr std::uint16_t kind_pad = 2;    ///< the rest of the segment is unused: the next record starts the next
constexpr std::uint32_t max_payload = 256u << 20;

/// A record's header as it lies on the disk (little-endian, the only byte order deliveryd is built for).
struct header {
  std::uint32_t length = 0; ///< payload bytes
  std::uint16_t kind = 0;
  std::uint16_t zero = 0;
  std::uint64_t position = 0; ///< where the record starts: a record left from an earlier use of the segment fails
  std::uint32_t crc = 0;      ///< CRC-32 of the fields above and the payload
  std::uint32_t zero2 = 0;
};
static_assert(sizeof(header) == header_bytes);

std::uint32_t checksum(const header& h, std::string_view payload) {
  header copy = h;
  copy.crc = 0;
  auto crc = ::crc32_z(0L, reinterpret_cast<const Bytef*>(&copy), header_bytes);
  if (!payload.empty()) // zlib answers its initial value for a null buffer
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(crc);
}

std::string errno_text(int e) { return std::strerror(e); }

/// The answer to a request once a sync of the log failed (`why`).
std::string lost_answer(const std::string& why) {
  return why + "; nothing of this request was acknowledged, and deliveryd restarts to read the log again from the "
               "disk: retry later";
}

ledger_error io_error(const std::string& what, int e) {
  return {e == ENOSPC || e == EDQUOT ? fault::full : e == EROFS || e == EACCES ? fault::read_only
                                                                               : fault::unavailable,
          what + ": " + errno_text(e)};
}

std::string segment_name(std::uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.log", static_cast<unsigned long long>(index));
  return name;
}

/// The index of a segment file's name, or nullopt when it is not one.
std::optional<std::uint64_t> segment_index(const std::string& name) {
  if (name.size() != 20 || name.substr(16) != ".log")
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : name.substr(0, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return std::nullopt;
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

bool sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool read_exact(int fd, char* out, std::size_t n, std::uint64_t at) {
  while (n > 0) {
    const auto got = ::pread(fd, out, n, static_cast<off_t>(at));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    out += got;
    n -= static_cast<std::size_t>(got);
    at += static_cast<std::uint64_t>(got);
  }
  return true;
}

bool write_exact(int fd, const char* data, std::size_t n, std::uint64_t at) {
  while (n > 0) {
    const auto put = ::pwrite(fd, data, n, static_cast<off_t>(at));
    if (put < 0 && errno == EINTR)
      continue;
    if (put < 0)
      return false;
    data += put;
    n -= static_cast<std::size_t>(put);
    at += static_cast<std::uint64_t>(put);
  }
  return true;
}

/// Creates `path` whole or not at all: written by `fill` under `<path>.tmp`, synced, then renamed into place (the
/// folder's sync is the caller's). `what` names the file in errors.
result<void> create_whole(const fs::path& path, const std::string& what, const std::function<bool(int)>& fill) {
  const auto tmp = fs::path{path.string() + ".tmp"};
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_error("cannot create " + what + " " + tmp.string(), errno);
  if (!fill(fd) || ::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("cannot write " + what + " " + path.string(), e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return io_error("cannot name " + what + " " + path.string(), errno);
  return {};
}

// The payload: a format byte, the count, then each event's fields in a fixed order; integers little-endian,
// strings as a 32-bit length and the bytes.
constexpr std::uint8_t payload_format = 1;

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_i64(std::string& out, std::int64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

/// Reads a payload front to back; every read checks what is left.
class payload_reader {
public:
  explicit payload_reader(std::string_view in) : in_{in} {}
  bool u8(std::uint8_t& v) { return take(&v, 1); }
  bool u32(std::uint32_t& v) { return take(&v, 4); }
  bool i64(std::int64_t& v) { return take(&v, 8); }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || n > in_.size())
      return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

private:
  bool take(void* out, std::size_t n) {
    if (in_.size() < n)
      return false;
    std::memcpy(out, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

template <class Enum>
bool to_enum(std::uint8_t raw, Enum last, Enum& out) {
  if (raw > static_cast<std::uint8_t>(last))
    return false;
  out = static_cast<Enum>(raw);
  return true;
}

std::int64_t millis(core::timestamp t) { return t.time_since_epoch().count(); }
core::timestamp from_millis(std::int64_t v) { return core::timestamp{std::chrono::milliseconds{v}}; }

} // namespace

std::string encode_events(const std::vector<vendor_event>& events) {
  std::string out;
  std::size_t size = 5;
  for (const auto& e : events)
    size += 4 + 8 + 8 + 7 * 4 + e.vendor_message_id.size() + e.event.code.size() + e.event.reason.size()
            + e.event.vendor_status.size() + e.event.vendor_code.size() + e.event.dedupe_key.size() + e.raw.size()
            + 4;
  out.reserve(size);
  out.push_back(static_cast<char>(payload_format));
  put_u32(out, static_cast<std::uint32_t>(events.size()));
  for (const auto& e : events) {
    out.push_back(static_cast<char>(e.vendor));
    out.push_back(static_cast<char>(e.event.source));
    out.push_back(static_cast<char>(e.event.outcome));
    out.push_back(static_cast<char>(e.event.cat));
    put_i64(out, millis(e.received_at));
    put_i64(out, millis(e.event.vendor_time));
    put_str(out, e.vendor_message_id);
    put_str(out, e.event.code);
    put_str(out, e.event.reason);
    put_str(out, e.event.vendor_status);
    put_str(out, e.event.vendor_code);
    put_str(out, e.event.dedupe_key);
    put_str(out, e.raw);
  }
  return out;
}

result<std::vector<vendor_event>> decode_events(std::string_view payload) {
  const ledger_error damaged{fault::corrupt, "an ack log record does not hold vendor events as this deliveryd writes "
                                            "them (written by a newer deliveryd, or damaged)"};
  payload_reader in{payload};
  std::uint8_t format = 0;
  std::uint32_t count = 0;
  if (!in.u8(format) || format != payload_format || !in.u32(count) || count > payload.size())
    return damaged;
  std::vector<vendor_event> out(count);
  for (auto& e : out) {
    std::uint8_t vendor = 0, source = 0, outcome = 0, cat = 0;
    std::int64_t received = 0, vendor_time = 0;
    if (!in.u8(vendor) || !in.u8(source) || !in.u8(outcome) || !in.u8(cat) || !in.i64(received)
        || !in.i64(vendor_time) || !in.str(e.vendor_message_id) || !in.str(e.event.code) || !in.str(e.event.reason)
        || !in.str(e.event.vendor_status) || !in.str(e.event.vendor_code) || !in.str(e.event.dedupe_key)
        || !in.str(e.raw))
      return damaged;
    if (!to_enum(vendor, core::vendor::email, e.vendor) || !to_enum(source, core::event_source::deadline, e.event.source)
        || !to_enum(outcome, core::status::uncertain, e.event.outcome)
        || !to_enum(cat, core::category::unknown, e.event.cat))
      return damaged;
    e.received_at = from_millis(received);
    e.event.vendor_time = from_millis(vendor_time);
  }
  if (!in.done())
    return damaged;
  return out;
}

/// The segment files of the log in `dir` by index; with `tidy`, removes the leftovers of a creation a crash cut
/// short. An error when a file is larger than a segment (another log's, or another segment size).
result<std::map<std::uint64_t, fs::path>> segments_in(const fs::path& dir, std::uint64_t size, bool tidy) {
  std::map<std::uint64_t, fs::path> segments;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    const auto name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      if (tidy)
        fs::remove(entry.path(), ec);
      continue;
    }
    auto index = segment_index(name);
    if (!index)
      continue;
    const auto bytes = fs::file_size(entry.path(), ec);
    if (ec)
      return ledger_error{fault::unavailable, "cannot read the ack log segment " + entry.path().string()};
    if (bytes > size)
      return ledger_error{fault::corrupt, "the ack log segment " + entry.path().string() + " is " +
                                            std::to_string(bytes) + " bytes, larger than this deliveryd's segments "
                                            "of " + std::to_string(size) + " bytes: it is not this log's"};
    segments.emplace(*index, entry.path());
  }
  if (ec)
    return ledger_error{fault::unavailable, "cannot list the ack log folder " + dir.string() + ": " + ec.message()};
  return segments;
}

/// The end of the log in `segments` (index → file) read from `applied`: the first position that does not hold a
/// whole record written at its place.
result<std::uint64_t> end_of(const std::map<std::uint64_t, fs::path>& segments, std::uint64_t applied,
                             std::uint64_t size) {
  // From the ledger's position to the first record that is not a whole record written at its place.
  std::uint64_t p = applied;
  std::string payload;
  int fd = -1;
  std::uint64_t fd_index = 0;
  for (;;) {
    const auto index = p / size;
    const auto left = (index + 1) * size - p;
    if (left < header_bytes) {
      p = (index + 1) * size;
      continue;
    }
    auto it = segments.find(index);
    if (it == segments.end())
      break;
    if (fd < 0 || index != fd_index) {
      if (fd >= 0)
        ::close(fd);
      fd = ::open(it->second.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return io_error("cannot open the ack log segment " + it->second.string(), errno);
      fd_index = index;
    }
    header h;
    bool valid = read_exact(fd, reinterpret_cast<char*>(&h), header_bytes, p % size) && h.position == p
                 && (h.kind == kind_events || h.kind == kind_pad) && h.length <= left - header_bytes;
    if (valid) {
      payload.resize(h.length);
      valid = read_exact(fd, payload.data(), h.length, p % size + header_bytes) && checksum(h, payload) == h.crc;
    }
    if (!valid)
      break;
    p = h.kind == kind_pad ? (index + 1) * size : p + header_bytes + h.length;
  }
  if (fd >= 0)
    ::close(fd);
  return p;
}

result<std::uint64_t> ack_log::unapplied(const fs::path& dir, std::uint64_t applied, std::uint64_t segment_bytes) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return std::uint64_t{0};
  auto segments = segments_in(dir, segment_bytes, false);
  if (!segments)
    return segments.error();
  auto end = end_of(*segments, applied, segment_bytes);
  if (!end)
    return end.error();
  return *end - applied;
}

/// The file in a log's folder that names the ledger it belongs to.
constexpr const char* ledger_id_file = "ledger-id";

result<std::string> ack_log::ledger_id_in(const fs::path& dir) {
  const auto path = dir / ledger_id_file;
  std::error_code ec;
  if (!fs::exists(path, ec))
    return std::string{};
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  if (!in)
    return ledger_error{fault::unavailable, "cannot read " + path.string()};
  return std::string{core::trim(text.str())};
}

ack_log::ack_log(ack_log_options options) : options_{std::move(options)} {}

result<std::unique_ptr<ack_log>> ack_log::open(ack_log_options options, std::uint64_t applied) {
  if (options.segment_bytes < (64u << 10) || options.segment_bytes % 4096 != 0)
    return ledger_error{fault::corrupt, "an ack log segment must be a multiple of 4 KiB, at least 64 KiB"};
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return ledger_error{fault::unavailable, "cannot create the ack log folder " + options.dir.string() + ": " +
                                              ec.message()};
  std::unique_ptr<ack_log> log{new ack_log{std::move(options)}};
  if (auto claimed = log->claim(); !claimed)
    return claimed.error();
  if (auto scanned = log->scan(applied); !scanned)
    return scanned.error();
  log->thread_ = std::thread{[p = log.get()] { p->run(); }};
  return log;
}

result<void> ack_log::claim() {
  const auto& id = options_.ledger_id;
  const auto& dir = options_.dir;
  if (id.empty())
    return {};
  auto named = ledger_id_in(dir);
  if (!named)
    return named.error();
  if (*named == id)
    return {};
  if (!named->empty()) {
    auto segments = segments_in(dir, options_.segment_bytes, false);
    if (!segments)
      return segments.error();
    if (!segments->empty())
      return ledger_error{fault::corrupt,
                          "the ack log " + dir.string() + " belongs to another ledger (ledger id " + *named +
                            ", this ledger's is " + id + "): its " + std::to_string(segments->size()) +
                            " segments may hold webhooks acknowledged for that ledger, which must neither be "
                            "applied to this one nor dropped. Move the folder away (or remove it if that ledger "
                            "is gone for good) and start again"};
    // Spares of another ledger's log: one taken back at the index it had there would bring its old records with
    // it, and their positions would pass for this log's.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator{dir, ec})
      if (entry.path().filename().string().starts_with("spare-") && !fs::remove(entry.path(), ec))
        break;
    if (ec)
      return ledger_error{fault::unavailable, "cannot remove the other ledger's spare segments in " +
                                                dir.string() + ": " + ec.message()};
  }
  // Named before anything is written, through a synced rename: a crash leaves the old name or the new one.
  const auto text = id + "\n";
  if (auto made = create_whole(dir / ledger_id_file, "the ack log's ledger-id file",
                               [&text](int fd) { return write_exact(fd, text.data(), text.size(), 0); });
      !made)
    return made;
  if (!sync_dir(dir))
    return io_error("cannot sync the ack log folder " + dir.string(), errno);
  return {};
}

result<void> ack_log::scan(std::uint64_t applied) {
  const auto size = options_.segment_bytes;
  auto listed = segments_in(options_.dir, size, true);
  if (!listed)
    return listed.error();
  const auto& segments = *listed;
  auto found = end_of(segments, applied, size);
  if (!found)
    return found.error();
  const auto p = *found;
  end_ = p;
  committed_ = durable_ = applied;
  acknowledged_ = p;
  first_kept_ = applied / size;
  // Segments before the ledger's position, or past the end, hold nothing to keep: they are reused, under a
  // spare's name first, so that no spare ever holds the name a segment will take (renaming one onto it would
  // replace that segment).
  const auto end_index = p / size;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{options_.dir, ec})
    if (entry.path().filename().string().starts_with("spare-"))
      spare_.push_back(entry.path());
  bool renamed = false;
  for (auto& [index, path] : segments) {
    if (index < first_kept_ || index > end_index) {
      const auto spare = next_spare_name();
      if (::rename(path.c_str(), spare.c_str()) != 0)
        return io_error("cannot rename the ack log segment " + path.string(), errno);
      spare_.push_back(spare);
      renamed = true;
      continue;
    }
    const int writer = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (writer < 0)
      return io_error("cannot open the ack log segment " + path.string(), errno);
    write_fds_.emplace(index, writer);
    // A power cut may have left the file shorter than it was allocated.
    if (::fallocate(writer, 0, 0, static_cast<off_t>(size)) != 0)
      return io_error("cannot allocate the ack log segment " + path.string(), errno);
  }
  if (renamed && !sync_dir(options_.dir))
    return io_error("cannot sync the ack log folder " + options_.dir.string(), errno);
  return {};
}

fs::path ack_log::next_spare_name() {
  for (;;) {
    auto path = options_.dir / ("spare-" + std::to_string(spare_counter_++) + ".log");
    std::error_code ec;
    if (!fs::exists(path, ec))
      return path;
  }
}

void ack_log::stop() {
  {
    std::lock_guard lock{mutex_};
    stop_ = true;
  }
  work_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

ack_log::~ack_log() {
  stop();
  for (auto& [index, fd] : write_fds_)
    ::close(fd);
  for (auto& [index, fd] : read_fds_)
    ::close(fd);
}

ack_log::admission ack_log::append(const std::vector<vendor_event>& events,
                                   std::function<void(const std::string&)> done) {
  auto bytes = std::string(header_bytes, '\0');
  bytes += encode_events(events);
  {
    std::lock_guard lock{mutex_};
    if (!failing_.empty() || stop_)
      return admission::failing;
    if (!ledger_failing_.empty())
      return admission::ledger_failing;
    if (acknowledged_ - committed_ + queued_bytes_ >= options_.backlog_bytes)
      return admission::full;
    queued_bytes_ += bytes.size();
    queue_.push_back({std::move(bytes), std::move(done)});
  }
  work_.notify_one();
  return admission::queued;
}

void ack_log::run() {
  core::name_this_thread("ack-log");
  std::unique_lock lock{mutex_};
  for (;;) {
    work_.wait(lock, [this] { return stop_ || !queue_.empty() || durable_ / options_.segment_bytes > first_kept_; });
    if (durable_ / options_.segment_bytes > first_kept_) {
      const auto durable = durable_;
      lock.unlock();
      recycle(durable);
      lock.lock();
    }
    if (queue_.empty()) {
      if (stop_)
        return;
      continue;
    }
    std::deque<pending> group;
    group.swap(queue_);
    queued_bytes_ = 0;
    lock.unlock();
    write_group(group);
    lock.lock();
  }
}

void ack_log::write_group(std::deque<pending>& group) {
  const auto size = options_.segment_bytes;
  auto fail = [&](const std::string& why) {
    for (auto& p : group)
      p.done(why);
  };
  {
    std::lock_guard lock{mutex_};
    if (!failing_.empty()) {
      fail(lost_answer(failing_));
      return;
    }
  }
  std::uint64_t p = end_;
  // The bytes of each segment the group touches, from where they begin in it.
  struct run {
    std::uint64_t index;
    std::uint64_t at;
    std::string bytes;
  };
  std::vector<run> runs;
  auto place = [&](std::string_view bytes) {
    const auto index = p / size;
    if (runs.empty() || runs.back().index != index)
      runs.push_back({index, p % size, {}});
    runs.back().bytes.append(bytes);
    p += bytes.size();
  };
  for (auto& rec : group) {
    const auto length = rec.bytes.size() - header_bytes;
    if (length > max_payload || rec.bytes.size() > size) {
      rec.done("a webhook's events make an ack log record larger than a segment; nothing was stored");
      rec.done = nullptr;
      continue;
    }
    const auto next_segment = (p / size + 1) * size;
    if (rec.bytes.size() > next_segment - p) {
      // The rest of this segment is padded, and the record begins the next one. `next_segment` is taken before
      // the pad is placed: a pad that fills the segment to its end leaves p at the next segment's start already.
      if (next_segment - p >= header_bytes) {
        header pad{0, kind_pad, 0, p, 0, 0};
        pad.crc = checksum(pad, {});
        place({reinterpret_cast<const char*>(&pad), header_bytes});
      }
      p = next_segment;
    }
    header h{static_cast<std::uint32_t>(length), kind_events, 0, p, 0, 0};
    h.crc = checksum(h, std::string_view{rec.bytes}.substr(header_bytes));
    std::memcpy(rec.bytes.data(), &h, header_bytes);
    place(rec.bytes);
  }
  std::erase_if(group, [](const pending& r) { return !r.done; });
  if (group.empty())
    return;
  for (const auto& r : runs) {
    if (auto ready = ensure_segment(r.index); !ready) {
      fail(ready.error().message + "; nothing of this request was acknowledged, retry later");
      return;
    }
    if (!write_exact(write_fds_.at(r.index), r.bytes.data(), r.bytes.size(), r.at)) {
      fail(io_error("cannot write the ack log", errno).message + "; nothing of this request was acknowledged, "
                                                                  "retry later");
      return; // end_ stays: the next group writes over these bytes
    }
  }
  for (const auto& r : runs)
    if (::fdatasync(write_fds_.at(r.index)) != 0) {
      const auto why = "fdatasync of the ack log failed: " + errno_text(errno);
      {
        std::lock_guard lock{mutex_};
        failing_ = why;
      }
      applied_changed_.notify_all();
      fail(lost_answer(why));
      if (options_.on_lost)
        options_.on_lost(why);
      return;
    }
  end_ = p;
  {
    std::lock_guard lock{mutex_};
    acknowledged_ = p;
    stats_.records += group.size();
    ++stats_.syncs;
  }
  for (auto& r : group)
    r.done("");
  if (options_.on_acked)
    options_.on_acked(p);
}

result<void> ack_log::ensure_segment(std::uint64_t index) {
  if (write_fds_.contains(index))
    return {};
  const auto path = options_.dir / segment_name(index);
  bool reused = false;
  if (!spare_.empty()) {
    const auto from = spare_.back();
    spare_.pop_back();
    if (::rename(from.c_str(), path.c_str()) == 0)
      reused = true;
  }
  if (!reused) {
    const auto size = static_cast<off_t>(options_.segment_bytes);
    if (auto made = create_whole(path, "the ack log segment", [size](int fd) { return ::fallocate(fd, 0, 0, size) == 0; });
        !made)
      return made;
  }
  if (!sync_dir(options_.dir))
    return io_error("cannot sync the ack log folder " + options_.dir.string(), errno);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open the ack log segment " + path.string(), errno);
  write_fds_.emplace(index, fd);
  std::lock_guard lock{mutex_};
  ++(reused ? stats_.segments_reused : stats_.segments_created);
  return {};
}

void ack_log::recycle(std::uint64_t durable) {
  const auto upto = durable / options_.segment_bytes; // segments before this one are applied and synced
  const auto writing = end_ / options_.segment_bytes;
  while (first_kept_ < upto && first_kept_ < writing) {
    if (auto it = write_fds_.find(first_kept_); it != write_fds_.end()) {
      ::close(it->second);
      write_fds_.erase(it);
    }
    const auto path = options_.dir / segment_name(first_kept_);
    ++first_kept_;
    if (spare_.size() >= 2) {
      ::unlink(path.c_str());
      continue;
    }
    // Under a spare's name at once: see scan(). A rename that fails leaves the file where it is; a later open
    // takes it for a spare (it is before the ledger's position).
    const auto spare = next_spare_name();
    if (::rename(path.c_str(), spare.c_str()) == 0)
      spare_.push_back(spare);
  }
}

result<logged_events> ack_log::read(std::uint64_t from, std::size_t max_events, std::uint64_t until) {
  std::lock_guard reading{read_mutex_};
  const auto size = options_.segment_bytes;
  const auto limit = std::min(acknowledged(), until);
  logged_events out;
  std::uint64_t p = from;
  std::string chunk;
  std::uint64_t chunk_at = 0; // the position of chunk[0]
  auto damaged = [&](std::uint64_t at) {
    return ledger_error{fault::corrupt, "the ack log in " + options_.dir.string() + " is damaged at position " +
                                          std::to_string(at) + ": an acknowledged record cannot be read back"};
  };
  while (p < limit && out.events.size() < max_events) {
    const auto index = p / size;
    const auto segment_end = (index + 1) * size;
    if (segment_end - p < header_bytes) {
      p = segment_end;
      continue;
    }
    // Bytes [p, p + need) must be in the chunk; read up to 4 MiB of the segment at once.
    auto have = [&](std::uint64_t need) { return p >= chunk_at && p + need <= chunk_at + chunk.size(); };
    auto load = [&](std::uint64_t need) -> bool {
      auto fd_it = read_fds_.find(index);
      if (fd_it == read_fds_.end()) {
        const int fd = ::open((options_.dir / segment_name(index)).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          return false;
        fd_it = read_fds_.emplace(index, fd).first;
      }
      const auto want = std::min<std::uint64_t>(std::max<std::uint64_t>(need, 4u << 20),
                                                std::min(limit, segment_end) - p);
      if (want < need)
        return false;
      chunk.resize(want);
      chunk_at = p;
      return read_exact(fd_it->second, chunk.data(), want, p % size);
    };
    if (!have(header_bytes) && !load(header_bytes))
      return damaged(p);
    header h;
    std::memcpy(&h, chunk.data() + (p - chunk_at), header_bytes);
    if (h.position != p || (h.kind != kind_events && h.kind != kind_pad) || h.length > segment_end - p - header_bytes)
      return damaged(p);
    if (!have(header_bytes + h.length) && !load(header_bytes + h.length))
      return damaged(p);
    const std::string_view payload{chunk.data() + (p - chunk_at) + header_bytes, h.length};
    if (checksum(h, payload) != h.crc)
      return damaged(p);
    if (h.kind == kind_pad) {
      p = segment_end;
      continue;
    }
    auto events = decode_events(payload);
    if (!events)
      return events.error();
    for (auto& e : *events)
      out.events.push_back(std::move(e));
    ++out.records;
    p += header_bytes + h.length;
  }
  // Segments the reader has passed are not read again.
  for (auto it = read_fds_.begin(); it != read_fds_.end() && it->first < p / size;) {
    ::close(it->second);
    it = read_fds_.erase(it);
  }
  out.end = p;
  return out;
}

void ack_log::applied(std::uint64_t committed, std::uint64_t durable) {
  {
    std::lock_guard lock{mutex_};
    committed_ = std::max(committed_, committed);
    durable_ = std::max(durable_, durable);
  }
  applied_changed_.notify_all();
  work_.notify_one();
}

void ack_log::ledger_failing(std::string why) {
  {
    std::lock_guard lock{mutex_};
    ledger_failing_ = std::move(why);
  }
  applied_changed_.notify_all();
}

std::string ack_log::ledger_failing() const {
  std::lock_guard lock{mutex_};
  return ledger_failing_;
}

ack_log::barrier ack_log::wait_applied(std::chrono::milliseconds within) const {
  std::unique_lock lock{mutex_};
  const auto target = acknowledged_;
  if (!applied_changed_.wait_for(lock, within, [&] { return committed_ >= target || !ledger_failing_.empty(); }))
    return barrier::timed_out;
  return committed_ >= target ? barrier::applied : barrier::ledger_failing;
}

std::uint64_t ack_log::acknowledged() const {
  std::lock_guard lock{mutex_};
  return acknowledged_;
}

std::uint64_t ack_log::backlog() const {
  std::lock_guard lock{mutex_};
  return acknowledged_ - committed_;
}

std::string ack_log::failing() const {
  std::lock_guard lock{mutex_};
  return failing_;
}

ack_log::stats ack_log::counters() const {
  std::lock_guard lock{mutex_};
  return stats_;
}

} // namespace deliveryd::db
