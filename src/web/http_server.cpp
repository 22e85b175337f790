#include "web/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

namespace parley::web {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr std::chrono::seconds kDrainTime{1};
constexpr std::chrono::milliseconds kAcceptRetry{100};

std::string endpointText(const std::string& address, std::uint16_t port) {
  return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
         std::to_string(port);
}

class Connection;

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerConfig c, Handler h) : config(std::move(c)), handler(std::move(h)) {}

  void accept();

  const HttpServerConfig config;
  const Handler handler;
  // Io thread only. Declared before the io_context: handlers the io_context destroys last
  // still unregister their connection here.
  std::unordered_set<Connection*> connections;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_retry{ioc};
  std::uint16_t port = 0;
  std::thread thread;
  std::mutex stop_mutex;
  bool stopped = false;  // GUARDED_BY(stop_mutex)
};

namespace {

// One client connection: read a request, answer it, repeat while keep-alive. Lives as long as
// an operation on it is pending (shared_from_this in every handler).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    address_ = ec ? std::string("unknown") : remote.address().to_string();
    server_.connections.insert(this);
  }
  ~Connection() { server_.connections.erase(this); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() { readRequest(); }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void readRequest() {
    parser_.emplace();
    parser_->body_limit(server_.config.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_.config.max_header_bytes));
    stream_.expires_after(server_.config.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return;  // the client closed, or the server is stopping
    }
    if (ec == beast::error::timeout) {
      spdlog::debug("web: {}: read timeout, connection closed", address_);
      return;
    }
    if (ec == http::error::body_limit) {
      spdlog::info("web: {}: request body over {} bytes refused", address_,
                   server_.config.max_body_bytes);
      return fail(http::status::payload_too_large, "request body too large");
    }
    if (ec == http::error::header_limit) {
      spdlog::info("web: {}: request header over {} bytes refused", address_,
                   server_.config.max_header_bytes);
      return fail(http::status::request_header_fields_too_large, "request header too large");
    }
    if (ec) {
      spdlog::debug("web: {}: malformed request: {}", address_, ec.message());
      return fail(http::status::bad_request, "malformed HTTP request");
    }
    const Request request = parser_->release();
    Response response;
    try {
      response = server_.handler(request, address_);
    } catch (const std::exception& e) {
      spdlog::error("web: handler failed: {}", e.what());
      response = errorResponse(http::status::internal_server_error, "internal error",
                               request.version(), request.keep_alive());
    }
    const bool close_after = !response.keep_alive();
    write(std::move(response), close_after);
  }

  // Answers an unreadable request and closes (the stream is out of step now).
  void fail(http::status status, const std::string& message) {
    write(errorResponse(status, message, 11, false), true);
  }

  void write(Response response, bool close_after) {
    response_ = std::make_unique<Response>(std::move(response));
    if (close_after) response_->keep_alive(false);
    stream_.expires_after(server_.config.write_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
                        self->response_.reset();
                        if (ec) return;
                        if (close_after) return self->linger();
                        self->readRequest();
                      });
  }

  // Half-closes and reads what the client still sends for a moment before closing, so a
  // client still writing (a refused body) gets the response instead of a reset.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kDrainTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return;
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;  // outlives every connection (see Impl::connections)
  std::string address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<Response> response_;  // kept alive while being written
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly instead of spinning.
      spdlog::warn("web: accept failed: {}", ec.message());
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    if (connections.size() >= config.max_connections) {
      spdlog::debug("web: {} connections open; new connection closed", connections.size());
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(std::move(socket), *this)->start();
    }
    accept();
  });
}

HttpServerStart HttpServer::start(const HttpServerConfig& config, Handler handler) {
  HttpServerStart result;
  const std::string where = endpointText(config.address, config.port);
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(config.address, ec);
  if (ec) {
    result.error = where + ": not an IP address";
    return result;
  }
  auto impl = std::make_unique<Impl>(config, std::move(handler));
  const tcp::endpoint endpoint{address, config.port};
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) {
    result.error = where + ": " + ec.message();
    return result;
  }
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("web: io loop: {}", e.what());  // keep serving
      }
    }
  });
  spdlog::info("web: HTTP API listening on {}", endpointText(config.address, raw->port));
  result.server.reset(new HttpServer(std::move(impl)));
  return result;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Impl* impl = impl_.get();
  net::post(impl->ioc, [impl] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_retry.cancel();
    // close() may drop the last reference of none: handlers still hold them.
    for (Connection* c :
         std::vector<Connection*>(impl->connections.begin(), impl->connections.end())) {
      c->close();
    }
    impl->ioc.stop();
  });
  if (impl->thread.joinable()) impl->thread.join();
}

}  // namespace parley::web
