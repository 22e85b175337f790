// Parley's HTTP/1.1 server (Boost.Beast): one io_context on its own thread accepts
// connections and serves each request through a Handler (normally Api::handle). Defences:
// request body limit (413), header limit (431), a read timeout per request that also ends
// idle keep-alive connections (slowloris), a bound on open connections (beyond it new ones
// are closed at once), and malformed requests answered 400 and closed. Nothing a client sends
// can stop the server; bad requests are logged at debug.
//
// Thread rule: start() and stop() from any thread (not from the handler). The Handler runs on
// the server's io thread, one request at a time, and should not block for long (the SQLite
// reads it does are fine; nothing else is served meanwhile).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "web/api.h"

namespace parley::web {

struct HttpServerConfig {
  std::string address = "127.0.0.1";  // IP literal to bind
  std::uint16_t port = 8080;          // 0: a free port (see HttpServer::port())
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  // Longest time to receive one whole request (headers and body), and the idle time after
  // which a keep-alive connection is closed.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 256;
};

// Request in, response out, given the client's IP address. Must not throw (Api::handle does
// not); if it does, the client gets 500.
using Handler = std::function<Response(const Request&, const std::string& client_address)>;

class HttpServer;

struct HttpServerStart {
  std::unique_ptr<HttpServer> server;  // null on failure
  std::string error;                   // names the address: "127.0.0.1:8080: Address in use"
};

class HttpServer {
 public:
  // Binds, listens and starts the io thread. Errors (bad address, port taken) come back in
  // HttpServerStart::error.
  [[nodiscard]] static HttpServerStart start(const HttpServerConfig& config, Handler handler);

  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;  // the bound port (useful with port 0)
  // Closes the listener and every connection and joins the io thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::web
