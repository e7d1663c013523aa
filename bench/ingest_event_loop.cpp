// The event-loop durable ceiling (ingest_ceiling.hpp): what a webhook listener that parks no thread per request
// could reach on this host, measured before one is built. Boost.Beast reads and answers HTTP/1.1 on one Asio
// thread; each POST /webhooks/twilio body is appended to a file at once, and its answer waits for a group
// fdatasync on a sync thread, which hands the answers it covered back to the Asio thread in one post.
#include "ingest_ceiling.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "adapters/form.hpp"
#include "adapters/twilio/twilio.hpp"
#include "ingest_requests.hpp"

namespace deliveryd::bench::ingest {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// An append-only file whose appends come from the Asio thread and are answered there, once an fdatasync that
/// began after them has completed (the same grouping as group_synced_file in ingest_ceiling.cpp, with callbacks
/// where that one blocks its caller).
class async_synced_file {
public:
  using done_fn = std::function<void(bool durable)>;

  async_synced_file(const std::string& path, asio::io_context& io)
    : io_{io}, fd_{::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)} {
    if (fd_ < 0)
      throw std::runtime_error{"cannot open " + path + ": " + std::strerror(errno)};
    thread_ = std::thread{[this] { sync_loop(); }};
  }

  ~async_synced_file() {
    {
      const std::lock_guard lock{mutex_};
      stopping_ = true;
    }
    work_.notify_one();
    thread_.join();
    ::close(fd_);
  }

  async_synced_file(const async_synced_file&) = delete;
  async_synced_file& operator=(const async_synced_file&) = delete;

  /// Writes `record` and a newline now; `done` runs on the Asio thread once they are durable (or failed). Once a
  /// write or an fdatasync failed, nothing is written or acknowledged any more (as group_synced_file).
  void append(std::string_view record, done_fn done) {
    std::unique_lock lock{mutex_};
    if (failed_ || !append_line(fd_, record, "event-loop ceiling")) {
      failed_ = true;
      ++refused_;
      lock.unlock();
      done(false);
      return;
    }
    ++appends_;
    waiting_.push_back(std::move(done));
    if (idle_)
      work_.notify_one();
  }

  std::string stats() const {
    const std::lock_guard lock{mutex_};
    return "{\"appends\":" + std::to_string(appends_) + ",\"syncs\":" + std::to_string(syncs_) +
           ",\"refused\":" + std::to_string(refused_) + "}";
  }

private:
  void sync_loop() {
    pthread_setname_np(pthread_self(), "sync");
    std::unique_lock lock{mutex_};
    for (;;) {
      idle_ = true;
      work_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      idle_ = false;
      if (waiting_.empty())
        return;
      std::vector<done_fn> covered;
      covered.swap(waiting_); // every one of them was written before this fdatasync begins
      const bool failed_before = failed_;
      lock.unlock();
      const bool ok = !failed_before && ::fdatasync(fd_) == 0;
      lock.lock();
      ++syncs_;
      if (!ok)
        failed_ = true;
      asio::post(io_, [covered = std::move(covered), ok]() {
        for (const auto& done : covered)
          done(ok);
      });
    }
  }

  asio::io_context& io_;
  const int fd_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::vector<done_fn> waiting_;
  std::uint64_t appends_ = 0;
  std::uint64_t syncs_ = 0;
  std::uint64_t refused_ = 0;
  bool idle_ = false;
  bool failed_ = false;
  bool stopping_ = false;
  std::thread thread_; ///< last: starts once the rest is set
};

/// One connection: read a request, answer it (a Twilio callback once durable), read the next.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, async_synced_file& file, const std::string& signed_url)
    : socket_{std::move(socket)}, file_{file}, signed_url_{signed_url} {}

  void read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

private:
  void on_request(beast::error_code ec) {
    if (ec)
      return close();
    const auto target = request_.target();
    if (request_.method() == http::verb::post && target == "/webhooks/twilio") {
      if (!signed_url_.empty() && !authentic()) {
        answer(http::status::forbidden, R"({"error":"forbidden"})");
        return;
      }
      file_.append(request_.body(), [self = shared_from_this()](bool durable) {
        self->answer(durable ? http::status::ok : http::status::service_unavailable,
                     durable ? R"({"status":"ok"})" : R"({"error":"not durable"})");
      });
    } else if (request_.method() == http::verb::get && target == "/healthz") {
      answer(http::status::ok, R"({"status":"ok"})");
    } else if (request_.method() == http::verb::get && target == "/stats") {
      answer(http::status::ok, file_.stats());
    } else {
      answer(http::status::not_found, R"({"error":"not_found"})");
    }
  }

  /// The daemon's check of a Twilio callback (actors/twilio_actor.cpp): the form parsed, and X-Twilio-Signature
  /// against HMAC-SHA1 of the URL it was signed for and the sorted parameters.
  bool authentic() const {
    const auto params = adapters::parse_form(request_.body());
    const auto signature = request_["X-Twilio-Signature"];
    return params && adapters::twilio::verify_signature(auth_token, signed_url_, *params,
                                                        std::string_view{signature.data(), signature.size()});
  }

  void answer(http::status status, std::string body) {
    response_ = {};
    response_.version(11);
    response_.result(status);
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = std::move(body);
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive())
        return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  async_synced_file& file_;
  const std::string& signed_url_; ///< "" : no signature check
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor, async_synced_file& file, const std::string& signed_url) {
  acceptor.async_accept([&acceptor, &file, &signed_url](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return; // the acceptor was closed: stopping
    socket.set_option(tcp::no_delay{true});
    std::make_shared<session>(std::move(socket), file, signed_url)->read();
    accept(acceptor, file, signed_url);
  });
}

} // namespace

int event_loop_ceiling_server(int port, const std::string& path, const std::string& signed_url) {
  pthread_setname_np(pthread_self(), "event-loop");
  asio::io_context io{1};
  std::unique_ptr<async_synced_file> file;
  try {
    file = std::make_unique<async_synced_file>(path, io);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "event-loop ceiling server: %s\n", e.what());
    return 1;
  }
  tcp::acceptor acceptor{io};
  beast::error_code ec;
  const tcp::endpoint at{asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)};
  acceptor.open(at.protocol(), ec);
  if (!ec)
    acceptor.set_option(asio::socket_base::reuse_address{true}, ec);
  if (!ec)
    acceptor.bind(at, ec);
  if (!ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "event-loop ceiling server: cannot listen on 127.0.0.1:%d: %s\n", port,
                 ec.message().c_str());
    return 1;
  }
  accept(acceptor, *file, signed_url);
  asio::signal_set stop{io, SIGTERM, SIGINT};
  stop.async_wait([&](beast::error_code, int) {
    acceptor.close();
    io.stop(); // a ceiling: the requests in flight are the load generator's, which has finished by now
  });
  io.run();
  std::fprintf(stderr, "event-loop ceiling: %s\n", file->stats().c_str());
  return 0;
}

} // namespace deliveryd::bench::ingest
