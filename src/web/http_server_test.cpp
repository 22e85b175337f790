// HttpServer with the Api over loopback, driven by a small blocking Beast client.
#include "web/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "store/memory_interaction_store.h"
#include "web/callback_desk.h"

namespace parley::web {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                   (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(n >> k) & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// A blocking client connection with a 5 s receive timeout (a hung server fails the test
// instead of hanging it).
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response send(http::verb method, const std::string& target, const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == http::verb::post) {
      req.body() = body;
      req.set(http::field::content_type, "application/json");
      req.prepare_payload();
    }
    http::write(socket_, req);
    return receive();
  }

  void sendRaw(std::string_view bytes) { net::write(socket_, net::buffer(bytes)); }

  Response receive() {
    Response res;
    http::read(socket_, buffer_, res);
    return res;
  }

  // True if the server closed the connection (read returns EOF or reset within the timeout).
  bool closedByServer() {
    char c = 0;
    beast::error_code ec;
    socket_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::optional<Role> demoUsers(std::string_view name, std::string_view password) {
  if (name == "admin" && checkPassword("demoadmin", password)) return Role::Admin;
  if (name == "supervisor" && checkPassword(sha256Password("demosupervisor"), password)) {
    return Role::Supervisor;
  }
  if (name == "1001" && checkPassword("agentpw", password)) return Role::Agent;
  return std::nullopt;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      store::Interaction in;
      in.id = "call-" + std::to_string(i);
      in.arrived = 1'000 + i;
      in.queue = i % 2 == 0 ? "sales" : "support";
      in.outcome = "answered";
      in.agent = "1001";
      ASSERT_TRUE(store_.save(in));
    }
    start({});
  }
  void start(HttpServerConfig config) {
    server_.reset();
    config.address = "127.0.0.1";
    config.port = 0;
    api_ = std::make_unique<Api>(ApiConfig{.login_max_failures = 3}, demoUsers, store_);
    auto started = HttpServer::start(
        config, [this](const Request& r, const std::string& a) { return api_->handle(r, a); });
    ASSERT_TRUE(started.server) << started.error;
    server_ = std::move(started.server);
  }
  Client client() { return Client(server_->port()); }

  std::string login(Client& c, const std::string& user, const std::string& password) {
    const Response res =
        c.send(http::verb::post, "/api/login", json{{"user", user}, {"password", password}}.dump());
    EXPECT_EQ(res.result(), http::status::ok) << res.body();
    const std::string cookie(res[http::field::set_cookie]);
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    return cookie.substr(0, cookie.find(';'));
  }

  static std::vector<std::string> ids(const Response& res) {
    std::vector<std::string> out;
    const json body = json::parse(res.body());  // a named value: the loop must not dangle
    for (const auto& in : body["interactions"]) out.push_back(in["id"]);
    return out;
  }

  store::MemoryInteractionStore store_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, HealthNeedsNoAuth) {
  Client c = client();
  const Response res = c.send(http::verb::get, "/api/health");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json::parse(res.body()), (json{{"status", "ok"}}));
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
}

TEST_F(HttpServerTest, InteractionsWithoutAuthAre401) {
  Client c = client();
  const Response res = c.send(http::verb::get, "/api/interactions");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_TRUE(json::parse(res.body()).contains("error"));
}

TEST_F(HttpServerTest, LoginCookieListsInteractionsWithFiltersAndPaging) {
  Client c = client();  // one keep-alive connection for everything
  const std::string cookie = login(c, "supervisor", "demosupervisor");
  Response res = c.send(http::verb::get, "/api/interactions", "", {{"Cookie", cookie}});
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(ids(res), (std::vector<std::string>{"call-4", "call-3", "call-2", "call-1", "call-0"}));
  EXPECT_TRUE(json::parse(res.body())["next"].is_null());
  EXPECT_EQ(json::parse(res.body())["interactions"][0]["arrived_at"], "1970-01-01T00:00:01.004Z");

  res = c.send(http::verb::get, "/api/interactions?queue=sales&limit=2", "", {{"Cookie", cookie}});
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(ids(res), (std::vector<std::string>{"call-4", "call-2"}));
  EXPECT_EQ(json::parse(res.body())["next"], "call-2");
  res = c.send(http::verb::get, "/api/interactions?queue=sales&limit=2&before=call-2", "",
               {{"Cookie", cookie}});
  EXPECT_EQ(ids(res), (std::vector<std::string>{"call-0"}));
  res =
      c.send(http::verb::get, "/api/interactions?since=1001&until=1003&agent=1001&outcome=answered",
             "", {{"Cookie", cookie}});
  EXPECT_EQ(ids(res), (std::vector<std::string>{"call-2", "call-1"}));

  res = c.send(http::verb::get, "/api/interactions/call-3", "", {{"Cookie", cookie}});
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json::parse(res.body())["queue"], "support");
  res = c.send(http::verb::get, "/api/interactions/call-99", "", {{"Cookie", cookie}});
  EXPECT_EQ(res.result(), http::status::not_found);

  res = c.send(http::verb::get, "/api/session", "", {{"Cookie", cookie}});
  EXPECT_EQ(json::parse(res.body()), (json{{"user", "supervisor"}, {"role", "supervisor"}}));
  res = c.send(http::verb::post, "/api/logout", "", {{"Cookie", cookie}});
  EXPECT_EQ(res.result(), http::status::ok);
  res = c.send(http::verb::get, "/api/interactions", "", {{"Cookie", cookie}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
}

TEST_F(HttpServerTest, BadQueryParametersAre400NamingTheParameter) {
  Client c = client();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Basic " + base64("admin:demoadmin")}};
  const auto error = [&](const std::string& target) {
    const Response res = c.send(http::verb::get, target, "", auth);
    EXPECT_EQ(res.result(), http::status::bad_request) << target;
    return json::parse(res.body())["error"].get<std::string>();
  };
  EXPECT_EQ(error("/api/interactions?limit=0"), "limit: expected 1..1000");
  EXPECT_EQ(error("/api/interactions?limit=1001"), "limit: expected 1..1000");
  EXPECT_EQ(error("/api/interactions?since=yesterday"),
            "since: expected milliseconds since 1970-01-01 UTC");
  EXPECT_EQ(error("/api/interactions?until=12x"),
            "until: expected milliseconds since 1970-01-01 UTC");
  EXPECT_EQ(error("/api/interactions?before=nope"), "before: unknown cursor \"nope\"");
  EXPECT_EQ(error("/api/interactions?queue=a&queue=b"), "queue: given twice");
  EXPECT_EQ(error("/api/interactions?q=%zz"), "malformed query string");
  EXPECT_EQ(error("/api/interactions?colour=red").substr(0, 27), "colour: unknown parameter (");
}

TEST_F(HttpServerTest, BasicAuthWorks) {
  Client c = client();
  Response res = c.send(http::verb::get, "/api/interactions?limit=1", "",
                        {{"Authorization", "Basic " + base64("admin:demoadmin")}});
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(ids(res), std::vector<std::string>{"call-4"});
  res = c.send(http::verb::get, "/api/interactions", "",
               {{"Authorization", "Basic " + base64("admin:wrong")}});
  EXPECT_EQ(res.result(), http::status::unauthorized);
  res = c.send(http::verb::get, "/api/interactions", "", {{"Authorization", "Basic !!!"}});
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST_F(HttpServerTest, AgentRoleIsForbidden) {
  Client c = client();
  const std::string cookie = login(c, "1001", "agentpw");
  const Response res = c.send(http::verb::get, "/api/interactions", "", {{"Cookie", cookie}});
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(json::parse(res.body())["error"], "needs role supervisor or admin");
}

TEST_F(HttpServerTest, BadLoginBodiesAre400AndWrongPasswordsLookAlike) {
  Client c = client();
  Response res = c.send(http::verb::post, "/api/login", "{not json");
  EXPECT_EQ(res.result(), http::status::bad_request);
  res = c.send(http::verb::post, "/api/login", R"({"user": "admin", "password": 5})");
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(json::parse(res.body())["error"], "password: expected a string");
  const Response wrong =
      c.send(http::verb::post, "/api/login", json{{"user", "admin"}, {"password", "x"}}.dump());
  const Response unknown =
      c.send(http::verb::post, "/api/login", json{{"user", "nobody"}, {"password", "x"}}.dump());
  EXPECT_EQ(wrong.result(), http::status::unauthorized);
  EXPECT_EQ(unknown.result(), http::status::unauthorized);
  EXPECT_EQ(wrong.body(), unknown.body());
}

TEST_F(HttpServerTest, RepeatedFailuresFromOneAddressAre429) {
  Client c = client();
  for (int i = 0; i < 3; ++i) {
    const Response res = c.send(http::verb::post, "/api/login",
                                json{{"user", "admin"}, {"password", "guess"}}.dump());
    EXPECT_EQ(res.result(), http::status::unauthorized);
  }
  // Blocked now, even with the right password, and for Basic too.
  Response res = c.send(http::verb::post, "/api/login",
                        json{{"user", "admin"}, {"password", "demoadmin"}}.dump());
  EXPECT_EQ(res.result(), http::status::too_many_requests);
  EXPECT_FALSE(res[http::field::retry_after].empty());
  res = c.send(http::verb::get, "/api/interactions", "",
               {{"Authorization", "Basic " + base64("admin:demoadmin")}});
  EXPECT_EQ(res.result(), http::status::too_many_requests);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  Client c = client();
  const Response res = c.send(http::verb::post, "/api/login", std::string(100 * 1024, 'x'));
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_EQ(json::parse(res.body())["error"], "request body too large");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  Client c = client();
  Response res = c.send(http::verb::get, "/nothing/here");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(json::parse(res.body())["error"], "no such path");
  res = c.send(http::verb::delete_, "/api/health");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET");
  res = c.send(http::verb::get, "/api/login");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
}

TEST_F(HttpServerTest, GarbageBytesGet400AndTheServerKeepsServing) {
  {
    Client c = client();
    static constexpr char kTlsHelloAndJunk[] =
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";
    c.sendRaw(std::string_view(kTlsHelloAndJunk, sizeof kTlsHelloAndJunk - 1));  // with the NULs
    const Response res = c.receive();
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_TRUE(c.closedByServer());
  }
  {
    Client c = client();
    c.sendRaw("GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
    EXPECT_EQ(c.receive().result(), http::status::bad_request);
  }
  {
    Client c = client();
    c.sendRaw("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(32 * 1024, 'a') +
              "\r\n\r\n");
    EXPECT_EQ(c.receive().result(), http::status::request_header_fields_too_large);
  }
  Client c = client();
  EXPECT_EQ(c.send(http::verb::get, "/api/health").result(), http::status::ok);
}

TEST_F(HttpServerTest, SlowClientsAreCutOffByTheReadTimeout) {
  start({.read_timeout = std::chrono::milliseconds(200)});
  Client slow = client();
  slow.sendRaw("GET /api/health HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
  EXPECT_TRUE(slow.closedByServer());
  Client c = client();
  EXPECT_EQ(c.send(http::verb::get, "/api/health").result(), http::status::ok);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheBoundAreClosed) {
  start({.max_connections = 2});
  Client a = client();
  Client b = client();
  // The server has accepted both once each has been answered.
  EXPECT_EQ(a.send(http::verb::get, "/api/health").result(), http::status::ok);
  EXPECT_EQ(b.send(http::verb::get, "/api/health").result(), http::status::ok);
  Client third = client();
  EXPECT_TRUE(third.closedByServer());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c = client();
  c.sendRaw(
      "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.receive().result(), http::status::ok);
  EXPECT_EQ(c.receive().result(), http::status::not_found);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  Client idle = client();
  EXPECT_EQ(idle.send(http::verb::get, "/api/health").result(), http::status::ok);
  Client half = client();
  half.sendRaw("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
  server_->stop();
  EXPECT_TRUE(idle.closedByServer());
  EXPECT_TRUE(half.closedByServer());
  server_->stop();  // idempotent
}

TEST(HttpServerStartup, TakenPortAndBadAddressAreErrors) {
  const Handler handler = [](const Request& r, const std::string&) {
    return errorResponse(http::status::not_found, "x", r.version());
  };
  auto first = HttpServer::start({.address = "127.0.0.1", .port = 0}, handler);
  ASSERT_TRUE(first.server) << first.error;
  const std::uint16_t port = first.server->port();
  const auto second = HttpServer::start({.address = "127.0.0.1", .port = port}, handler);
  EXPECT_FALSE(second.server);
  EXPECT_EQ(second.error.rfind("127.0.0.1:" + std::to_string(port) + ": ", 0), 0u) << second.error;
  const auto bad = HttpServer::start({.address = "localhost", .port = 0}, handler);
  EXPECT_EQ(bad.error, "localhost:0: not an IP address");
}

// The widget's path over real sockets: the script, a CORS preflight, then the POST.
class OneQueueDesk final : public CallbackDesk {
 public:
  CallbackAnswer request(const CallbackAsk& ask) override {
    std::lock_guard lock(mutex_);
    numbers_.push_back(ask.number);
    return {CallbackAnswer::Status::Created, "cb-1-1", std::nullopt, ""};
  }
  std::optional<QueueAvailability> availability(std::string_view queue) override {
    if (queue != "sales") return std::nullopt;
    return QueueAvailability{.queue = "sales", .open = true, .callback_now = true};
  }
  bool cancel(const std::string&) override { return false; }
  std::vector<std::string> numbers() {
    std::lock_guard lock(mutex_);
    return numbers_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> numbers_;
};

TEST(HttpServerWidget, ScriptPreflightAndCallbackRequestOverLoopback) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("parley-widget-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "widget.js") << "/* widget */";
  store::MemoryInteractionStore interactions;
  OneQueueDesk desk;
  Api api(ApiConfig{}, demoUsers, interactions,
          ApiServices{.callbacks = &desk,
                      .cors_origins = {"http://shop.test"},
                      .assets = StaticAssets::load(dir)});
  std::filesystem::remove_all(dir);  // loaded at start-up: the files are in memory now
  auto started =
      HttpServer::start({.address = "127.0.0.1", .port = 0},
                        [&](const Request& r, const std::string& a) { return api.handle(r, a); });
  ASSERT_TRUE(started.server) << started.error;
  Client c(started.server->port());

  const Response script = c.send(http::verb::get, "/widget.js");
  EXPECT_EQ(script.result(), http::status::ok);
  EXPECT_EQ(script.body(), "/* widget */");

  const Response preflight = c.send(http::verb::options, "/api/callbacks", "",
                                    {{"Origin", "http://shop.test"},
                                     {"Access-Control-Request-Method", "POST"},
                                     {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(preflight.result(), http::status::no_content);
  EXPECT_EQ(preflight[http::field::access_control_allow_origin], "http://shop.test");

  const Response created =
      c.send(http::verb::post, "/api/callbacks", R"({"queue":"sales","number":"+44 1234 567890"})",
             {{"Origin", "http://shop.test"}});
  EXPECT_EQ(created.result(), http::status::created) << created.body();
  EXPECT_EQ(created[http::field::access_control_allow_origin], "http://shop.test");
  EXPECT_EQ(desk.numbers(), std::vector<std::string>{"+441234567890"});

  const Response wait = c.send(http::verb::get, "/api/queues/sales/availability");
  EXPECT_EQ(wait.result(), http::status::ok);
  EXPECT_EQ(json::parse(wait.body())["callback_now"], true);
}

}  // namespace
}  // namespace parley::web
