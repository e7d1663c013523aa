#include "ctl/download.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "ctl/report.hpp"
#include "ctl/tables.hpp"

namespace deliveryd::ctl {

namespace {

using steady = std::chrono::steady_clock;

/// The file being written and what went wrong with it.
class output_file {
public:
  /// `path` "-" is standard output, written as it comes; any other path is written as `path.part` first.
  explicit output_file(std::string path) : path_{std::move(path)} {}
  ~output_file() { abandon(); }
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  bool open() {
    if (path_ == "-") {
      file_ = stdout;
      return true;
    }
    file_ = std::fopen(part().c_str(), "wb");
    if (file_ == nullptr)
      return fail(part());
    static_cast<void>(std::setvbuf(file_, nullptr, _IOFBF, 1 << 20));
    return true;
  }

  bool write(std::string_view piece) {
    if (std::fwrite(piece.data(), 1, piece.size(), file_) != piece.size())
      return fail(path_ == "-" ? "standard output" : part());
    return true;
  }

  /// Flushes, closes and renames the part file into place.
  bool finish() {
    if (file_ == stdout) {
      file_ = nullptr;
      return std::fflush(stdout) == 0 || fail("standard output");
    }
    auto* f = std::exchange(file_, nullptr);
    if (std::fclose(f) != 0)
      return fail(part());
    if (std::rename(part().c_str(), path_.c_str()) != 0)
      return fail(path_);
    return true;
  }

  /// Closes and removes a part file that will not be finished.
  void abandon() {
    if (file_ == nullptr || file_ == stdout)
      return;
    std::fclose(std::exchange(file_, nullptr));
    std::remove(part().c_str());
  }

  const std::string& path() const { return path_; }
  void set_path(std::string path) { path_ = std::move(path); }
  const std::string& error() const { return error_; }

private:
  std::string part() const { return path_ + ".part"; }
  bool fail(const std::string& what) {
    error_ = "cannot write " + what + ": " + std::strerror(errno);
    return false;
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string error_;
};

/// "12.3 MiB received, 4.1 MiB/s" rewritten in place on a terminal, at most ten times a second.
class progress_line {
public:
  explicit progress_line(console& io) : io_{io}, enabled_{io.err_is_terminal} {}

  void waiting() {
    if (enabled_)
      io_.err << "\rwaiting for deliveryd..." << std::flush;
  }

  void update(std::uint64_t bytes) {
    const auto now = steady::now();
    if (!enabled_ || now - shown_ < std::chrono::milliseconds{100})
      return;
    shown_ = now;
    show(bytes);
  }

  /// The last figures, then a new line (only when something was shown).
  void done(std::uint64_t bytes) {
    if (!enabled_)
      return;
    show(bytes);
    io_.err << '\n' << std::flush;
  }

private:
  void show(std::uint64_t bytes) {
    const double seconds = std::chrono::duration<double>(steady::now() - started_).count();
    io_.err << "\r\x1b[K" << format_progress(bytes, seconds) << std::flush;
  }

  console& io_;
  bool enabled_;
  steady::time_point started_ = steady::now();
  steady::time_point shown_{};
};

std::string default_name(const export_command& c) { return "deliveryd-" + c.month + "." + c.format; }

std::string export_target(const export_command& c) {
  std::string target = "/v1/log/export?month=" + url_encode(c.month) + "&format=" + url_encode(c.format);
  if (c.filter.campaign)
    target += "&campaign=" + url_encode(*c.filter.campaign);
  if (c.filter.one_time)
    target += "&one_time=" + url_encode(*c.filter.one_time);
  return target;
}

} // namespace

std::optional<std::string> attachment_name(const std::string& content_disposition) {
  auto at = content_disposition.find("filename=");
  if (at == std::string::npos)
    return std::nullopt;
  std::string name = content_disposition.substr(at + 9);
  if (!name.empty() && name.front() == '"') {
    auto close = name.find('"', 1);
    name = close == std::string::npos ? std::string{} : name.substr(1, close - 1);
  } else {
    name = name.substr(0, name.find(';'));
  }
  if (auto slash = name.find_last_of("/\\"); slash != std::string::npos)
    name = name.substr(slash + 1);
  if (name.empty() || name.front() == '.' || name.size() > 255)
    return std::nullopt;
  return name;
}

int run_export(const export_command& c, bool as_json, ops_client& client, const ops_endpoint& endpoint,
               console& io) {
  output_file file{c.output.value_or(default_name(c))};
  progress_line progress{io};
  std::uint64_t received = 0;
  bool answered = false;
  download_sink sink;
  sink.open = [&](int status, const std::string& disposition) {
    answered = true;
    if (status != 200)
      return true; // the error's body is collected by the client
    if (!c.output)
      file.set_path(attachment_name(disposition).value_or(default_name(c)));
    return file.open();
  };
  sink.write = [&](std::string_view piece) { return file.write(piece); };
  sink.progress = [&](std::uint64_t bytes) {
    received = bytes;
    progress.update(bytes);
  };
  progress.waiting();
  auto answer = client.download(export_target(c), sink);
  if (!file.error().empty()) {
    progress.done(received);
    file.abandon();
    io.err << "deliveryctl: " << file.error() << '\n';
    return exit_failed;
  }
  if (auto* down = std::get_if<transport_error>(&answer)) {
    progress.done(received);
    file.abandon();
    if (answered) { // the daemon was reached: the export broke off
      io.err << "deliveryctl: the export broke off after " << format_bytes(received) << " (" << down->reason
             << "); nothing was kept\n";
      return exit_failed;
    }
    return report_unreachable(endpoint, *down, io);
  }
  auto& a = std::get<http_answer>(answer);
  if (a.status != 200) {
    progress.done(received);
    return report_http_error(a, endpoint, io);
  }
  progress.done(received);
  if (!file.finish()) {
    io.err << "deliveryctl: " << file.error() << '\n';
    return exit_failed;
  }
  if (file.path() == "-")
    return exit_ok;
  if (as_json)
    io.out << nlohmann::json{{"file", file.path()}, {"bytes", received}}.dump() << '\n';
  else
    io.out << "wrote " << file.path() << " (" << format_bytes(received) << ")\n";
  return exit_ok;
}

} // namespace deliveryd::ctl
