// Api::handle() called directly (no sockets): the callback, widget and static routes with a
// fake CallbackDesk and a MemoryCallbackStore; GET /api/status with a fake status source.
#include "web/api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "store/memory_callback_store.h"
#include "store/memory_interaction_store.h"

namespace parley::web {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kSupervisor[] = "Basic c3VwZXJ2aXNvcjpkZW1vc3VwZXJ2aXNvcg==";  // supervisor
constexpr char kAgent[] = "Basic MTAwMTphZ2VudHB3";                           // 1001, agent
constexpr char kAdmin[] = "Basic YWRtaW46ZGVtb2FkbWlu";                       // admin

std::optional<Role> users(std::string_view name, std::string_view password) {
  if (name == "admin" && password == "demoadmin") return Role::Admin;
  if (name == "supervisor" && password == "demosupervisor") return Role::Supervisor;
  if (name == "1001" && password == "agentpw") return Role::Agent;
  return std::nullopt;
}

// Answers what the test sets and remembers what it was asked (thread-safe: the server test
// calls it from the io thread).
class FakeDesk final : public CallbackDesk {
 public:
  CallbackAnswer request(const CallbackAsk& ask) override {
    std::lock_guard lock(mutex_);
    asks_.push_back(ask);
    return answer_;
  }
  std::optional<QueueAvailability> availability(std::string_view queue) override {
    std::lock_guard lock(mutex_);
    const auto it = queues_.find(std::string(queue));
    if (it == queues_.end()) return std::nullopt;
    return it->second;
  }
  bool cancel(const std::string& id) override {
    std::lock_guard lock(mutex_);
    return open_.erase(id) > 0;
  }

  void answer(CallbackAnswer a) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(a);
  }
  void addQueue(QueueAvailability a) {
    std::lock_guard lock(mutex_);
    queues_[a.queue] = std::move(a);
  }
  void addOpen(const std::string& id) {
    std::lock_guard lock(mutex_);
    open_.insert(id);
  }
  std::vector<CallbackAsk> asks() {
    std::lock_guard lock(mutex_);
    return asks_;
  }

 private:
  std::mutex mutex_;
  CallbackAnswer answer_{CallbackAnswer::Status::Created, "cb-1-1000", std::nullopt, ""};
  std::map<std::string, QueueAvailability> queues_;
  std::set<std::string> open_;
  std::vector<CallbackAsk> asks_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-api-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& relative, const std::string& bytes) const {
    const auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class CallbackApi : public ::testing::Test {
 protected:
  void SetUp() override {
    desk_.addQueue({.queue = "sales",
                    .open = true,
                    .estimated_wait_s = 120,
                    .waiting = 3,
                    .callback_now = true,
                    .callback_later = true,
                    .chat = false,
                    .slots = {{1'764'000'000'000, 1'764'000'900'000, 2}}});
    desk_.addQueue({.queue = "sales uk", .open = false});
    make({});
  }
  // A new Api with these services (desk and store filled in unless `bare`).
  void make(ApiServices services, bool bare = false) {
    if (!bare) {
      services.callbacks = &desk_;
      services.callback_store = &callbacks_;
    }
    if (services.cors_origins.empty() && !bare) {
      services.cors_origins = {"https://shop.example.com"};
    }
    api_ = std::make_unique<Api>(ApiConfig{}, users, interactions_, std::move(services),
                                 [this] { return now_; });
  }
  Response send(http::verb method, const std::string& target, const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                const std::string& client = "198.51.100.7") {
    Request req{method, target, 11};
    req.set(http::field::host, "parley.example.com:8080");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    return api_->handle(req, client);
  }
  Response post(const json& body,
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                const std::string& client = "198.51.100.7") {
    return send(http::verb::post, "/api/callbacks", body.dump(), headers, client);
  }
  static std::string errorOf(const Response& res) {
    const json body = json::parse(res.body(), nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].get<std::string>()
                                                      : "(no error: " + res.body() + ")";
  }

  FakeDesk desk_;
  store::MemoryCallbackStore callbacks_;
  store::MemoryInteractionStore interactions_;
  Clock::time_point now_{};
  std::unique_ptr<Api> api_;
};

TEST_F(CallbackApi, AvailabilityIsPublicAndAnswersTheDocumentedShape) {
  const Response res = send(http::verb::get, "/api/queues/sales/availability");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"queue":"sales","open":true,"estimated_wait_s":120,"waiting":3,
              "callback_now":true,"callback_later":true,"chat":false,
              "slots":[{"start":1764000000000,"end":1764000900000,"free":2}]})"));
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");

  const Response closed = send(http::verb::get, "/api/queues/sales%20uk/availability");
  ASSERT_EQ(closed.result(), http::status::ok) << closed.body();
  const json body = json::parse(closed.body());
  EXPECT_EQ(body["queue"], "sales uk");
  EXPECT_TRUE(body["estimated_wait_s"].is_null());
  EXPECT_EQ(body["slots"], json::array());
}

TEST_F(CallbackApi, AvailabilityOfAnUnknownQueueIs404) {
  EXPECT_EQ(send(http::verb::get, "/api/queues/billing/availability").result(),
            http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/api/queues//availability").result(), http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/api/queues/a/b/availability").result(),
            http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/api/queues/%zz/availability").result(),
            http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/api/queues/sales").result(), http::status::not_found);
  const Response post = send(http::verb::post, "/api/queues/sales/availability", "{}");
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET");
}

TEST_F(CallbackApi, PostCreatesACallbackWithTheNormalisedNumberContextAndAddress) {
  const Response res =
      post({{"queue", "sales"},
            {"number", "+44 (0)1234 567-890"},
            {"context", {{"page_url", "https://shop.example.com/mortgage"}, {"campaign", "x"}}}});
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"id":"cb-1-1000","status":"created","scheduled_for":null})"));
  const auto asks = desk_.asks();
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].queue, "sales");
  EXPECT_EQ(asks[0].number, "+441234567890");
  EXPECT_FALSE(asks[0].at);
  EXPECT_EQ(asks[0].context.at("page_url"), "https://shop.example.com/mortgage");
  EXPECT_EQ(asks[0].source, "web");
  EXPECT_EQ(asks[0].client_address, "198.51.100.7");
}

TEST_F(CallbackApi, ALaterTimeIsPassedOnAndAMergeIs200Updated) {
  desk_.answer({CallbackAnswer::Status::Updated, "cb-7-5", 1'764'000'000'000, ""});
  const Response res =
      post({{"queue", "sales"}, {"number", "+441234567890"}, {"at", 1'764'000'000'000}});
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"id":"cb-7-5","status":"updated","scheduled_for":1764000000000})"));
  ASSERT_EQ(desk_.asks().size(), 1u);
  EXPECT_EQ(desk_.asks()[0].at, std::optional<store::EpochMillis>(1'764'000'000'000));
}

TEST_F(CallbackApi, DeskRefusalsMapToStatusesWithTheirMessages) {
  using S = CallbackAnswer::Status;
  const std::vector<std::tuple<S, std::string, http::status, std::string>> cases = {
      {S::UnknownQueue, "", http::status::not_found, "queue: no such queue"},
      {S::Invalid, "at: not on a slot boundary", http::status::bad_request,
       "at: not on a slot boundary"},
      {S::Closed, "", http::status::conflict, "the queue takes no callbacks now"},
      {S::NoSlot, "at: that slot is full", http::status::conflict, "at: that slot is full"},
      {S::Unavailable, "", http::status::service_unavailable,
       "callbacks are unavailable just now; try again later"},
  };
  int n = 0;
  for (const auto& [status, message, http_status, error] : cases) {
    desk_.answer({status, "", std::nullopt, message});
    // A fresh number and address each time, so no rate limit applies.
    const Response res = post({{"queue", "sales"}, {"number", "+4412345678" + std::to_string(n)}},
                              {}, "10.0.0." + std::to_string(n));
    ++n;
    EXPECT_EQ(res.result(), http_status) << res.body();
    EXPECT_EQ(errorOf(res), error);
  }
}

TEST_F(CallbackApi, BadBodiesAre400NamingTheFieldAndNeverReachTheDesk) {
  const std::string long_value(513, 'x');
  json eleven = json::object();
  for (int i = 0; i < 11; ++i) eleven[std::string(1, static_cast<char>('a' + i))] = "v";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "body: expected a JSON object {\"queue\": \"...\", \"number\": \"...\"}"},
      {"[1]", "body: expected a JSON object {\"queue\": \"...\", \"number\": \"...\"}"},
      {R"({"number":"+441234567890"})", "queue: missing"},
      {R"({"queue":"","number":"+441234567890"})", "queue: expected a queue name"},
      {R"({"queue":7,"number":"+441234567890"})", "queue: expected a queue name"},
      {R"({"queue":"sales"})", "number: missing"},
      {R"({"queue":"sales","number":441234567890})",
       "number: expected a string like \"+441234567890\""},
      {R"({"queue":"sales","number":"call me"})",
       "number: only digits, a leading \"+\", spaces, dashes, dots and parentheses are allowed"},
      {R"({"queue":"sales","number":"07911123456"})",
       "number: expected international format: \"+\", the country code and the number"},
      {R"({"queue":"sales","number":"+441234567890","at":"tomorrow"})",
       "at: expected milliseconds since 1970-01-01 UTC"},
      {R"({"queue":"sales","number":"+441234567890","at":-5})",
       "at: expected milliseconds since 1970-01-01 UTC"},
      {R"({"queue":"sales","number":"+441234567890","at":1.5})",
       "at: expected milliseconds since 1970-01-01 UTC"},
      {R"({"queue":"sales","number":"+441234567890","context":"x"})",
       "context: expected an object of strings"},
      {R"({"queue":"sales","number":"+441234567890","context":{"Page":"x"}})",
       "context.Page: keys are 1 to 32 of a-z and _"},
      {R"({"queue":"sales","number":"+441234567890","context":{"page_url":5}})",
       "context.page_url: expected a string"},
      {json{{"queue", "sales"}, {"number", "+441234567890"}, {"context", {{"a", long_value}}}}
           .dump(),
       "context.a: at most 512 characters"},
      {json{{"queue", "sales"}, {"number", "+441234567890"}, {"context", {{"a", "x\ny"}}}}.dump(),
       "context.a: control characters not allowed"},
      {json{{"queue", "sales"}, {"number", "+441234567890"}, {"context", eleven}}.dump(),
       "context: at most 10 keys"},
      {json{{"queue", "sales"},
            {"number", "+441234567890"},
            {"context", {{std::string(33, 'a'), "v"}}}}
           .dump(),
       "context." + std::string(33, 'a') + ": keys are 1 to 32 of a-z and _"},
      {R"({"queue":"sales","number":"+441234567890","nmuber":"x"})",
       "nmuber: unknown field (queue, number, at, context)"},
  };
  for (const auto& [body, error] : cases) {
    const Response res = send(http::verb::post, "/api/callbacks", body);
    EXPECT_EQ(res.result(), http::status::bad_request) << body;
    EXPECT_EQ(errorOf(res), error) << body;
  }
  EXPECT_TRUE(desk_.asks().empty());
  // 512 characters (not bytes) is fine: 512 two-byte characters.
  std::string accents;
  for (int i = 0; i < 512; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+441234567890"}, {"context", {{"a", accents}}}})
                .result(),
            http::status::created);
}

TEST_F(CallbackApi, TooManyRequestsFromOneAddressAre429WithRetryAfter) {
  make({.dial_guard = {.per_source = {2, 10min}, .per_number = {0, 0s}}});
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+441111111111"}}).result(),
            http::status::created);
  now_ += 60s;
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+442222222222"}}).result(),
            http::status::created);
  now_ += 60s;
  const Response refused = post({{"queue", "sales"}, {"number", "+443333333333"}});
  EXPECT_EQ(refused.result(), http::status::too_many_requests);
  EXPECT_EQ(refused[http::field::retry_after], "480");
  EXPECT_EQ(errorOf(refused), "too many callback requests from this address; try again in 480 s");
  EXPECT_EQ(desk_.asks().size(), 2u);  // the refused one never reached the desk
  // Another address is not affected; the first address is let in once its first request ages out.
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+443333333333"}}, {}, "203.0.113.1").result(),
            http::status::created);
  now_ += 480s;
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+444444444444"}}).result(),
            http::status::created);
}

TEST_F(CallbackApi, TooManyRequestsForOneNumberAre429WhateverTheAddress) {
  make({.dial_guard = {.per_source = {0, 0s}, .per_number = {3, 1h}}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        post({{"queue", "sales"}, {"number", "+44 1234 567890"}}, {}, "10.0.0." + std::to_string(i))
            .result(),
        http::status::created);
  }
  // The same number written differently is the same number.
  const Response refused = post({{"queue", "sales"}, {"number", "+441234567890"}}, {}, "10.9.9.9");
  EXPECT_EQ(refused.result(), http::status::too_many_requests);
  EXPECT_EQ(refused[http::field::retry_after], "3600");
  EXPECT_EQ(errorOf(refused), "too many callback requests for this number; try again in 3600 s");
}

TEST_F(CallbackApi, DeniedPrefixesAreRefusedBeforeTheDesk) {
  make({.dial_guard = {.country_code = "44", .denied_prefixes = {"+449"}}});
  const Response res = post({{"queue", "sales"}, {"number", "09011 123456"}});
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(errorOf(res), "number: numbers starting with +449 are not called");
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "07911 123456"}}).result(), http::status::created);
  ASSERT_EQ(desk_.asks().size(), 1u);
  EXPECT_EQ(desk_.asks()[0].number, "+447911123456");
}

TEST_F(CallbackApi, WithoutADeskTheCallbackRoutesAre503) {
  make({}, true);
  for (const Response& res :
       {post({{"queue", "sales"}, {"number", "+441234567890"}}),
        send(http::verb::get, "/api/queues/sales/availability"),
        send(http::verb::get, "/api/callbacks", "", {{"Authorization", kSupervisor}}),
        send(http::verb::get, "/api/callbacks/cb-1", "", {{"Authorization", kSupervisor}}),
        send(http::verb::delete_, "/api/callbacks/cb-1", "", {{"Authorization", kSupervisor}})}) {
    EXPECT_EQ(res.result(), http::status::service_unavailable) << res.body();
    EXPECT_EQ(res.body(), R"({"error":"callbacks are not configured"})");
  }
  // The widget config needs no desk.
  EXPECT_EQ(send(http::verb::get, "/api/widget/config?queue=sales").result(), http::status::ok);
}

TEST_F(CallbackApi, AnAllowedOriginIsEchoedOthersGetNoCorsHeaders) {
  const Response allowed = send(http::verb::get, "/api/queues/sales/availability", "",
                                {{"Origin", "https://Shop.Example.com"}});
  EXPECT_EQ(allowed[http::field::access_control_allow_origin], "https://Shop.Example.com");
  EXPECT_EQ(allowed[http::field::access_control_expose_headers], "Retry-After");
  EXPECT_EQ(allowed[http::field::vary], "Origin");

  const Response other = send(http::verb::get, "/api/queues/sales/availability", "",
                              {{"Origin", "https://evil.example.net"}});
  EXPECT_EQ(other.result(), http::status::ok);  // the browser will not let the page read it
  EXPECT_EQ(other.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(other[http::field::vary], "Origin");

  const Response refused = post({{"queue", "sales"}, {"number", "+441234567890"}},
                                {{"Origin", "https://evil.example.net"}});
  EXPECT_EQ(refused.result(), http::status::forbidden);
  EXPECT_EQ(errorOf(refused), "origin not allowed");
  EXPECT_TRUE(desk_.asks().empty());

  // Errors on a public route carry the headers too, so the widget can read them.
  const Response bad =
      post({{"queue", "sales"}, {"number", "x"}}, {{"Origin", "https://shop.example.com"}});
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_EQ(bad[http::field::access_control_allow_origin], "https://shop.example.com");

  // The server's own pages (the demo) are same-origin; requests without Origin (curl) work.
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+441234567890"}},
                 {{"Origin", "http://parley.example.com:8080"}})
                .result(),
            http::status::created);
  EXPECT_EQ(post({{"queue", "sales"}, {"number", "+441234567891"}}).result(),
            http::status::created);
}

TEST_F(CallbackApi, AStarAllowsEveryOrigin) {
  make({.cors_origins = {"*"}});
  const Response res = post({{"queue", "sales"}, {"number", "+441234567890"}},
                            {{"Origin", "https://anyone.example.org"}});
  EXPECT_EQ(res.result(), http::status::created);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://anyone.example.org");
}

TEST_F(CallbackApi, PreflightIs204ForAllowedOriginsAnd403ForOthers) {
  for (const std::string target :
       {"/api/callbacks", "/api/queues/sales/availability", "/api/widget/config?queue=sales"}) {
    const Response ok = send(http::verb::options, target, "",
                             {{"Origin", "https://shop.example.com"},
                              {"Access-Control-Request-Method", "POST"},
                              {"Access-Control-Request-Headers", "content-type"}});
    EXPECT_EQ(ok.result(), http::status::no_content) << target;
    EXPECT_EQ(ok[http::field::access_control_allow_origin], "https://shop.example.com");
    EXPECT_EQ(ok[http::field::access_control_allow_methods], "GET, POST");
    EXPECT_EQ(ok[http::field::access_control_allow_headers], "Content-Type");
    EXPECT_TRUE(ok.body().empty());

    const Response denied =
        send(http::verb::options, target, "", {{"Origin", "https://evil.example.net"}});
    EXPECT_EQ(denied.result(), http::status::forbidden) << target;
    EXPECT_EQ(denied.count(http::field::access_control_allow_origin), 0u);
  }
  // No preflight on the authenticated routes.
  const Response item = send(http::verb::options, "/api/callbacks/cb-1", "",
                             {{"Origin", "https://shop.example.com"}});
  EXPECT_EQ(item.result(), http::status::method_not_allowed);
  EXPECT_EQ(item.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(send(http::verb::options, "/api/nowhere").result(), http::status::not_found);
}

TEST_F(CallbackApi, WidgetConfigGivesTheRulesOfTheQueue) {
  make({.invitations = {{"*mortgage*", 30, "20:00", "24:00", "Need help with your mortgage?", ""},
                        {"*", 60, "", "", "Questions?", "support"},
                        {"*/loans/*", 0, "", "", "Talk to us", "sales"}}});
  const Response res = send(http::verb::get, "/api/widget/config?queue=sales");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(json::parse(res.body()), json::parse(R"({"queue":"sales","invitations":[
      {"url":"*mortgage*","after_s":30,"from":"20:00","to":"24:00",
       "message":"Need help with your mortgage?"},
      {"url":"*/loans/*","after_s":0,"message":"Talk to us"}]})"));
  EXPECT_EQ(errorOf(send(http::verb::get, "/api/widget/config")), "queue: missing");
  EXPECT_EQ(errorOf(send(http::verb::get, "/api/widget/config?queue=a&page=b")),
            "page: unknown parameter (queue)");
  EXPECT_EQ(errorOf(send(http::verb::get, "/api/widget/config?queue=a&queue=b")),
            "queue: given twice");
}

TEST_F(CallbackApi, ListingCallbacksNeedsSupervisorAndFilters) {
  for (int i = 0; i < 4; ++i) {
    store::Callback cb;
    cb.id = "cb-" + std::to_string(i);
    cb.queue = i % 2 == 0 ? "sales" : "support";
    cb.state = i < 2 ? "done" : "waiting";
    cb.requested_at = 1000 + i;
    ASSERT_TRUE(callbacks_.put(cb).ok());
  }
  EXPECT_EQ(send(http::verb::get, "/api/callbacks").result(), http::status::unauthorized);
  const Response agent = send(http::verb::get, "/api/callbacks", "", {{"Authorization", kAgent}});
  EXPECT_EQ(agent.result(), http::status::forbidden);
  EXPECT_EQ(send(http::verb::get, "/api/callbacks/cb-1", "", {{"Authorization", kAgent}}).result(),
            http::status::forbidden);

  const auto ids = [&](const std::string& target) {
    const Response res = send(http::verb::get, target, "", {{"Authorization", kSupervisor}});
    EXPECT_EQ(res.result(), http::status::ok) << target << ": " << res.body();
    EXPECT_EQ(res.count(http::field::access_control_allow_origin), 0u);
    std::vector<std::string> out;
    const json body = json::parse(res.body(), nullptr, false);
    if (body.is_object()) {
      for (const auto& cb : body["callbacks"]) out.push_back(cb["id"]);
    }
    return out;
  };
  EXPECT_EQ(ids("/api/callbacks"), (std::vector<std::string>{"cb-3", "cb-2", "cb-1", "cb-0"}));
  EXPECT_EQ(ids("/api/callbacks?queue=sales"), (std::vector<std::string>{"cb-2", "cb-0"}));
  EXPECT_EQ(ids("/api/callbacks?state=waiting&limit=1"), std::vector<std::string>{"cb-3"});
  EXPECT_EQ(ids("/api/callbacks?state=done&queue=support"), std::vector<std::string>{"cb-1"});

  for (const auto& [target, error] : std::vector<std::pair<std::string, std::string>>{
           {"/api/callbacks?state=lost", "state: expected waiting, scheduled, dialing or done"},
           {"/api/callbacks?limit=0", "limit: expected 1..1000"},
           {"/api/callbacks?limit=x", "limit: expected 1..1000"},
           {"/api/callbacks?sort=id", "sort: unknown parameter (queue, state, limit)"},
           {"/api/callbacks?queue=%zz", "malformed query string"}}) {
    const Response res = send(http::verb::get, target, "", {{"Authorization", kSupervisor}});
    EXPECT_EQ(res.result(), http::status::bad_request) << target;
    EXPECT_EQ(errorOf(res), error) << target;
  }
}

TEST_F(CallbackApi, OneCallbackByIdOr404) {
  store::Callback cb;
  cb.id = "cb-1-1000";
  cb.queue = "sales";
  cb.number = "+441234567890";
  cb.requested_at = 1000;
  cb.context = {{"page_url", "https://shop.example.com/"}};
  ASSERT_TRUE(callbacks_.put(cb).ok());
  const Response res =
      send(http::verb::get, "/api/callbacks/cb-1-1000", "", {{"Authorization", kSupervisor}});
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  const json body = json::parse(res.body());
  EXPECT_EQ(body["number"], "+441234567890");
  EXPECT_EQ(body["requested_at"], 1000);
  EXPECT_EQ(body["requested_at_iso"], "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(body["context"]["page_url"], "https://shop.example.com/");
  EXPECT_EQ(
      send(http::verb::get, "/api/callbacks/cb-2", "", {{"Authorization", kSupervisor}}).result(),
      http::status::not_found);
}

TEST_F(CallbackApi, StoreFailuresAre500WithoutDetails) {
  callbacks_.failWith("/var/lib/parley/parley.db: disk I/O error");
  for (const std::string target : {"/api/callbacks", "/api/callbacks/cb-1"}) {
    const Response res = send(http::verb::get, target, "", {{"Authorization", kSupervisor}});
    EXPECT_EQ(res.result(), http::status::internal_server_error);
    EXPECT_EQ(errorOf(res), "store error");
  }
}

TEST_F(CallbackApi, DeleteCancelsAnOpenCallbackThroughTheDesk) {
  desk_.addOpen("cb-5");
  EXPECT_EQ(send(http::verb::delete_, "/api/callbacks/cb-5").result(), http::status::unauthorized);
  EXPECT_EQ(
      send(http::verb::delete_, "/api/callbacks/cb-5", "", {{"Authorization", kAgent}}).result(),
      http::status::forbidden);
  const Response res =
      send(http::verb::delete_, "/api/callbacks/cb-5", "", {{"Authorization", kAdmin}});
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_TRUE(res.body().empty());
  const Response again =
      send(http::verb::delete_, "/api/callbacks/cb-5", "", {{"Authorization", kSupervisor}});
  EXPECT_EQ(again.result(), http::status::not_found);
  EXPECT_EQ(errorOf(again), "no such open callback");
}

TEST_F(CallbackApi, WrongMethodsAre405WithAllow) {
  const Response put = send(http::verb::put, "/api/callbacks", "{}");
  EXPECT_EQ(put.result(), http::status::method_not_allowed);
  EXPECT_EQ(put[http::field::allow], "GET, POST, OPTIONS");
  const Response post_item = send(http::verb::post, "/api/callbacks/cb-1", "{}");
  EXPECT_EQ(post_item.result(), http::status::method_not_allowed);
  EXPECT_EQ(post_item[http::field::allow], "GET, DELETE");
  const Response delete_list =
      send(http::verb::delete_, "/api/callbacks", "", {{"Authorization", kSupervisor}});
  EXPECT_EQ(delete_list.result(), http::status::method_not_allowed);
  const Response post_config = send(http::verb::post, "/api/widget/config?queue=sales", "{}");
  EXPECT_EQ(post_config.result(), http::status::method_not_allowed);
  EXPECT_EQ(post_config[http::field::allow], "GET");
}

TEST_F(CallbackApi, WidgetFilesAreServedAndOthers404) {
  TempDir dir;
  dir.write("widget.js", "(function(){})();");
  dir.write("widget/demo.html", "<!doctype html>");
  dir.write("index.html", "agent ui");
  make({.assets = StaticAssets::load(dir.path())});
  const Response js = send(http::verb::get, "/widget.js");
  ASSERT_EQ(js.result(), http::status::ok);
  EXPECT_EQ(js.body(), "(function(){})();");
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(js[http::field::cache_control], "no-cache");
  const std::string etag(js[http::field::etag]);
  EXPECT_EQ(send(http::verb::get, "/widget.js", "", {{"If-None-Match", etag}}).result(),
            http::status::not_modified);
  EXPECT_EQ(send(http::verb::get, "/widget.js?v=2").result(), http::status::ok);
  EXPECT_EQ(send(http::verb::get, "/widget/demo.html")[http::field::content_type],
            "text/html; charset=utf-8");
  EXPECT_EQ(send(http::verb::get, "/widget/nope.js").result(), http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/widget/../index.html").result(), http::status::not_found);
  EXPECT_EQ(send(http::verb::get, "/index.html").result(), http::status::not_found);
  const Response post = send(http::verb::post, "/widget.js", "x");
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET");

  make({});  // no files loaded
  EXPECT_EQ(send(http::verb::get, "/widget.js").result(), http::status::not_found);
}

TEST_F(CallbackApi, TheExistingRoutesWorkAsBeforeWithServices) {
  // The interaction routes are unchanged by the services.
  EXPECT_EQ(send(http::verb::get, "/api/health").result(), http::status::ok);
  EXPECT_EQ(
      send(http::verb::get, "/api/interactions", "", {{"Authorization", kSupervisor}}).result(),
      http::status::ok);
  EXPECT_EQ(send(http::verb::get, "/api/interactions", "", {{"Authorization", kAgent}}).result(),
            http::status::forbidden);
  EXPECT_EQ(send(http::verb::get, "/api/nothing").result(), http::status::not_found);
}

TEST_F(CallbackApi, StatusNeedsSupervisorOrAdminAndAsksOnlyThen) {
  int asked = 0;
  ApiServices services;
  services.status = [&asked] {
    ++asked;
    return ServerStatus{};
  };
  make(std::move(services));
  EXPECT_EQ(send(http::verb::get, "/api/status").result(), http::status::unauthorized);
  EXPECT_EQ(send(http::verb::get, "/api/status", "", {{"Authorization", kAgent}}).result(),
            http::status::forbidden);
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(send(http::verb::get, "/api/status", "", {{"Authorization", kSupervisor}}).result(),
            http::status::ok);
  EXPECT_EQ(send(http::verb::get, "/api/status", "", {{"Authorization", kAdmin}}).result(),
            http::status::ok);
  EXPECT_EQ(asked, 2);
  const Response post = send(http::verb::post, "/api/status", "", {{"Authorization", kAdmin}});
  EXPECT_EQ(post.result(), http::status::method_not_allowed);
  EXPECT_EQ(post[http::field::allow], "GET");
}

TEST_F(CallbackApi, StatusGivesTheMediaAndCallCounters) {
  ApiServices services;
  services.status = [] {
    ServerStatus s;
    s.media = MediaCounters{.streams_open = 2000,
                            .packets_received = 5'000'000'001,
                            .packets_sent = 4'900'000'000,
                            .packets_relayed = 4'800'000'000,
                            .packets_dropped = 7,
                            .io_uring = true};
    s.calls = CallCounters{
        .active = 1000, .started = 1200, .rejected = 3, .ended = 200, .agent_legs = 1100};
    return s;
  };
  make(std::move(services));
  const Response res = send(http::verb::get, "/api/status", "", {{"Authorization", kSupervisor}});
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"media": {"streams_open": 2000, "packets_received": 5000000001,
                                      "packets_sent": 4900000000, "packets_relayed": 4800000000,
                                      "packets_dropped": 7, "io": "io_uring"},
                            "calls": {"active": 1000, "started": 1200, "rejected": 3,
                                      "ended": 200, "agent_legs": 1100}})"));
}

TEST_F(CallbackApi, StatusPartsThatDidNotAnswerAreNull) {
  // No status source at all (voice not configured): both parts null, still 200.
  make({});
  Response res = send(http::verb::get, "/api/status", "", {{"Authorization", kAdmin}});
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json::parse(res.body()), json::parse(R"({"media": null, "calls": null})"));

  // The media thread timed out, the calls answered.
  ApiServices services;
  services.status = [] {
    ServerStatus s;
    s.calls = CallCounters{.active = 1};
    return s;
  };
  make(std::move(services));
  res = send(http::verb::get, "/api/status", "", {{"Authorization", kAdmin}});
  ASSERT_EQ(res.result(), http::status::ok);
  const json body = json::parse(res.body());
  EXPECT_TRUE(body["media"].is_null()) << body;
  EXPECT_EQ(body["calls"]["active"], 1) << body;
}

}  // namespace
}  // namespace parley::web
