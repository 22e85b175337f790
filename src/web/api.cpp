#include "web/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>
#include <variant>

#include "store/callback_json.h"
#include "store/interaction_json.h"

namespace parley::web {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr std::string_view kCookieName = "parley_session";
constexpr std::size_t kMaxLoggedName = 64;
constexpr std::size_t kMaxQueueName = 128;
constexpr std::size_t kMaxContextKeys = 10;
constexpr std::size_t kMaxContextKey = 32;
constexpr std::size_t kMaxContextValue = 512;                 // characters (UTF-8 code points)
constexpr std::int64_t kMaxEpochMillis = 32'503'680'000'000;  // year 3000
constexpr std::string_view kNoCallbacks = "callbacks are not configured";

// Beast (Boost 1.74) hands out boost::string_view.
std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

// A user name as it may appear in a log line: printable ASCII, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, kMaxLoggedName)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > kMaxLoggedName) out += "...";
  return out;
}

std::optional<std::int64_t> parseInteger(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string_view> cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = std::min(header.find(';'), header.size());
    std::string_view pair = header.substr(0, end);
    header.remove_prefix(std::min(end + 1, header.size()));
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

using Params = std::map<std::string, std::string, std::less<>>;

// A number as it may appear in a log line: its country code and last three digits.
std::string masked(std::string_view number) {
  if (number.size() <= 6) return std::string(number.size(), '*');
  return std::string(number.substr(0, 3)) + std::string(number.size() - 6, '*') +
         std::string(number.substr(number.size() - 3));
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::size_t codePoints(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool contextKeyOk(std::string_view key) {
  return !key.empty() && key.size() <= kMaxContextKey &&
         std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

// The queue name of "/api/queues/<name>/availability" (still URL-encoded), or nullopt.
std::optional<std::string_view> availabilityQueue(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/queues/";
  constexpr std::string_view kSuffix = "/availability";
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix) ||
      path.size() < kPrefix.size() + kSuffix.size()) {
    return std::nullopt;
  }
  const std::string_view name =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  if (name.find('/') != std::string_view::npos) return std::nullopt;
  return name;
}

// The parameters of a query string, or the message for a 400 ("malformed query string",
// "<key>: given twice").
std::variant<Params, std::string> parseQuery(std::string_view query) {
  Params params;
  while (!query.empty()) {
    const std::size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    if (pair.empty()) continue;
    const std::size_t eq = std::min(pair.find('='), pair.size());
    const auto key = urlDecode(pair.substr(0, eq));
    const auto value = urlDecode(pair.substr(std::min(eq + 1, pair.size())));
    if (!key || !value) return std::string("malformed query string");
    if (!params.emplace(*key, *value).second) return printable(*key) + ": given twice";
  }
  return params;
}

}  // namespace

std::optional<std::string> urlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (count >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

Response errorResponse(http::status status, const std::string& message, unsigned version,
                       bool keep_alive) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Api::Api(ApiConfig config, UserDirectory users, store::InteractionStore& store,
         std::function<Clock::time_point()> now)
    : Api(config, std::move(users), store, ApiServices{}, std::move(now)) {}

Api::Api(ApiConfig config, UserDirectory users, store::InteractionStore& store,
         ApiServices services, std::function<Clock::time_point()> now)
    : config_(config),
      users_(std::move(users)),
      store_(store),
      now_(std::move(now)),
      sessions_(config.session_idle_timeout),
      limiter_(config.login_max_failures, config.login_window),
      desk_(services.callbacks),
      callback_store_(services.callback_store),
      cors_origins_(std::move(services.cors_origins)),
      invitations_(std::move(services.invitations)),
      assets_(std::move(services.assets)),
      status_(std::move(services.status)),
      guard_(std::move(services.dial_guard)) {}

Response Api::json(const Request& request, http::status status, const nlohmann::json& body) const {
  Response res{status, request.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  return res;
}

Response Api::error(const Request& request, http::status status, const std::string& message) const {
  return errorResponse(status, message, request.version(), request.keep_alive());
}

Response Api::handle(const Request& request, const std::string& client_address) {
  try {
    return route(request, client_address);
  } catch (const std::exception& e) {
    spdlog::error("web: {} {} from {} failed: {}", std::string(request.method_string()),
                  printable(sv(request.target())), client_address, e.what());
    return error(request, http::status::internal_server_error, "internal error");
  }
}

Response Api::route(const Request& request, const std::string& client_address) {
  const std::string_view target = sv(request.target());
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const http::verb method = request.method();

  const auto only = [&](http::verb allowed) -> std::optional<Response> {
    if (method == allowed) return std::nullopt;
    spdlog::debug("web: {} {} from {}: method not allowed", std::string(request.method_string()),
                  printable(path), client_address);
    Response res = error(request, http::status::method_not_allowed,
                         "method not allowed; use " + std::string(http::to_string(allowed)));
    res.set(http::field::allow, http::to_string(allowed));
    return res;
  };

  if (path == "/api/health") {
    if (auto bad = only(http::verb::get)) return *bad;
    return json(request, http::status::ok, {{"status", "ok"}});
  }
  if (path == "/api/login") {
    if (auto bad = only(http::verb::post)) return *bad;
    return login(request, client_address);
  }
  if (path == "/api/logout") {
    if (auto bad = only(http::verb::post)) return *bad;
    return logout(request);
  }
  if (path == "/widget.js" || path.starts_with("/widget/")) {
    if (auto bad = only(http::verb::get)) return *bad;
    Response res = assets_.serve(request, path);
    if (res.result() == http::status::not_found) {
      spdlog::debug("web: GET {} from {}: no such file", printable(path), client_address);
    }
    return res;
  }

  // The public routes of the customer widget (CORS).
  const auto queue = availabilityQueue(path);
  const bool widget_config = path == "/api/widget/config";
  const bool callbacks = path == "/api/callbacks";
  if ((queue || widget_config || callbacks) && method == http::verb::options) {
    return preflight(request);
  }
  if (queue) {
    if (auto bad = only(http::verb::get)) return withCors(request, std::move(*bad));
    return withCors(request, availability(request, *queue));
  }
  if (widget_config) {
    if (auto bad = only(http::verb::get)) return withCors(request, std::move(*bad));
    return withCors(request, widgetConfig(request, query));
  }
  if (callbacks && method == http::verb::post) {
    if (originAllowed(request) == false) {
      spdlog::info("web: POST /api/callbacks from {}: origin {} not allowed", client_address,
                   printable(sv(request[http::field::origin])));
      return error(request, http::status::forbidden, "origin not allowed");
    }
    return withCors(request, requestCallback(request, client_address));
  }

  // The supervisors' callback routes (authenticated, no CORS).
  if (callbacks || path.starts_with("/api/callbacks/")) {
    const bool allowed = method == http::verb::get || (!callbacks && method == http::verb::delete_);
    if (!allowed) {
      Response res = error(request, http::status::method_not_allowed, "method not allowed");
      res.set(http::field::allow, callbacks ? "GET, POST, OPTIONS" : "GET, DELETE");
      return res;
    }
    auto auth = authenticate(request, client_address);
    if (auto* refusal = std::get_if<Response>(&auth)) return std::move(*refusal);
    const Caller& caller = std::get<Caller>(auth);
    if (caller.role < Role::Supervisor) {
      spdlog::info("web: {} {} refused for {} (role {})", std::string(request.method_string()),
                   printable(path), printable(caller.user), toString(caller.role));
      return error(request, http::status::forbidden, "needs role supervisor or admin");
    }
    if (callbacks) return listCallbacks(request, query);
    const auto id = urlDecode(path.substr(std::string_view("/api/callbacks/").size()));
    if (!id || id->empty()) return error(request, http::status::not_found, "no such callback");
    if (method == http::verb::delete_) return cancelCallback(request, caller, *id);
    return getCallback(request, *id);
  }

  const bool interactions = path == "/api/interactions" || path.starts_with("/api/interactions/");
  const bool server_status = path == "/api/status";
  if (path != "/api/session" && !interactions && !server_status) {
    spdlog::debug("web: {} {} from {}: no such path", std::string(request.method_string()),
                  printable(path), client_address);
    return error(request, http::status::not_found, "no such path");
  }
  if (auto bad = only(http::verb::get)) return *bad;

  auto auth = authenticate(request, client_address);
  if (auto* refusal = std::get_if<Response>(&auth)) return std::move(*refusal);
  const Caller& caller = std::get<Caller>(auth);
  if (path == "/api/session") {
    return json(request, http::status::ok,
                {{"user", caller.user}, {"role", std::string(toString(caller.role))}});
  }
  if (caller.role < Role::Supervisor) {
    spdlog::info("web: {} {} refused for {} (role {})", std::string(request.method_string()),
                 printable(path), printable(caller.user), toString(caller.role));
    return error(request, http::status::forbidden, "needs role supervisor or admin");
  }
  if (server_status) return serverStatus(request);
  if (path == "/api/interactions") return listInteractions(request, query);
  const auto id = urlDecode(path.substr(std::string_view("/api/interactions/").size()));
  if (!id || id->empty()) return error(request, http::status::not_found, "no such interaction");
  return getInteraction(request, *id);
}

std::variant<Api::Caller, Response> Api::authenticate(const Request& request,
                                                      const std::string& client_address) {
  const Clock::time_point now = now_();
  if (const auto it = request.find(http::field::cookie); it != request.end()) {
    if (const auto token = cookie(sv(it->value()), kCookieName)) {
      if (auto session = sessions_.find(*token, now)) {
        return Caller{session->user, session->role, std::string(*token)};
      }
    }
  }
  const auto it = request.find(http::field::authorization);
  if (it == request.end()) {
    return error(request, http::status::unauthorized,
                 "not logged in; POST /api/login or use HTTP Basic");
  }
  const std::string_view value = sv(it->value());
  constexpr std::string_view kBasic = "Basic ";
  std::optional<std::string> decoded;
  if (value.size() > kBasic.size() && value.substr(0, kBasic.size()) == kBasic) {
    decoded = base64Decode(value.substr(kBasic.size()));
  }
  const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    spdlog::debug("web: malformed Authorization header from {}", client_address);
    return error(request, http::status::bad_request,
                 "Authorization: expected Basic base64(user:password)");
  }
  if (const auto wait = limiter_.retryAfterSeconds(client_address, now); wait > 0) {
    Response res =
        error(request, http::status::too_many_requests, "too many failed logins; try again later");
    res.set(http::field::retry_after, std::to_string(wait));
    return res;
  }
  const std::string user = decoded->substr(0, colon);
  const auto role = users_(user, std::string_view(*decoded).substr(colon + 1));
  if (!role) {
    limiter_.failed(client_address, now);
    spdlog::info("web: failed HTTP Basic login for '{}' from {}", printable(user), client_address);
    return error(request, http::status::unauthorized, "wrong user or password");
  }
  return Caller{user, *role, {}};
}

Response Api::login(const Request& request, const std::string& client_address) {
  const Clock::time_point now = now_();
  if (const auto wait = limiter_.retryAfterSeconds(client_address, now); wait > 0) {
    spdlog::info("web: login from {} refused: too many failures", client_address);
    Response res =
        error(request, http::status::too_many_requests, "too many failed logins; try again later");
    res.set(http::field::retry_after, std::to_string(wait));
    return res;
  }
  const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    spdlog::debug("web: login from {}: body is not a JSON object", client_address);
    return error(request, http::status::bad_request,
                 "body: expected JSON {\"user\": \"...\", \"password\": \"...\"}");
  }
  for (const char* key : {"user", "password"}) {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_string()) {
      return error(request, http::status::bad_request, std::string(key) + ": expected a string");
    }
  }
  const std::string user = body["user"].get<std::string>();
  const auto role = users_(user, body["password"].get<std::string>());
  if (!role) {
    limiter_.failed(client_address, now);
    spdlog::info("web: failed login for '{}' from {}", printable(user), client_address);
    return error(request, http::status::unauthorized, "wrong user or password");
  }
  const std::string token = sessions_.create({user, *role}, now);
  spdlog::info("web: '{}' ({}) logged in from {}", printable(user), toString(*role),
               client_address);
  Response res =
      json(request, http::status::ok, {{"user", user}, {"role", std::string(toString(*role))}});
  res.set(http::field::set_cookie, std::string(kCookieName) + "=" + token +
                                       "; Path=/; HttpOnly; SameSite=Strict" +
                                       (config_.secure_cookie ? "; Secure" : ""));
  return res;
}

Response Api::logout(const Request& request) {
  if (const auto it = request.find(http::field::cookie); it != request.end()) {
    if (const auto token = cookie(sv(it->value()), kCookieName)) sessions_.remove(*token);
  }
  Response res = json(request, http::status::ok, {{"status", "logged out"}});
  res.set(http::field::set_cookie,
          std::string(kCookieName) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return res;
}

Response Api::listInteractions(const Request& request, std::string_view query) {
  store::InteractionQuery q;
  auto parsed = parseQuery(query);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    return error(request, http::status::bad_request, *bad);
  }
  for (const auto& [key, value] : std::get<Params>(parsed)) {
    const auto bad = [&](const std::string& what) {
      spdlog::debug("web: /api/interactions: {}: {}", printable(key), what);
      return error(request, http::status::bad_request, key + ": " + what);
    };
    if (key == "since" || key == "until") {
      const auto ms = parseInteger(value);
      if (!ms) return bad("expected milliseconds since 1970-01-01 UTC");
      (key == "since" ? q.since : q.until) = *ms;
    } else if (key == "limit") {
      const auto n = parseInteger(value);
      if (!n || *n < 1 || *n > store::kMaxListLimit) {
        return bad("expected 1.." + std::to_string(store::kMaxListLimit));
      }
      q.limit = static_cast<int>(*n);
    } else if (key == "offset") {
      const auto n = parseInteger(value);
      if (!n || *n < 0 || *n > 1'000'000) return bad("expected 0..1000000");
      q.offset = static_cast<std::size_t>(*n);
    } else if (key == "queue") {
      q.queue = value;
    } else if (key == "outcome") {
      q.outcome = value;
    } else if (key == "agent") {
      q.agent = value;
    } else if (key == "before") {
      q.before = value;
    } else {
      return error(request, http::status::bad_request,
                   printable(key) +
                       ": unknown parameter (since, until, queue, outcome, agent, limit, before, "
                       "offset)");
    }
  }
  auto page = store_.list(q);
  if (!page.ok()) {
    if (!q.before.empty() && page.error().starts_with("unknown cursor")) {
      return error(request, http::status::bad_request, "before: " + page.error());
    }
    spdlog::error("web: listing interactions failed: {}", page.error());
    return error(request, http::status::internal_server_error, "store error");
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& in : page->interactions) list.push_back(store::toJson(in));
  return json(request, http::status::ok,
              {{"interactions", std::move(list)},
               {"next", page->next ? nlohmann::json(*page->next) : nlohmann::json(nullptr)}});
}

Response Api::serverStatus(const Request& request) {
  const ServerStatus status = status_ ? status_() : ServerStatus{};
  nlohmann::json media(nullptr);
  if (const auto& m = status.media) {
    media = {{"streams_open", m->streams_open},
             {"packets_received", m->packets_received},
             {"packets_sent", m->packets_sent},
             {"packets_relayed", m->packets_relayed},
             {"packets_dropped", m->packets_dropped},
             {"io", m->io_uring ? "io_uring" : "epoll"}};
  } else {
    spdlog::debug("web: /api/status: no media counters (voice not running or no answer)");
  }
  nlohmann::json calls(nullptr);
  if (const auto& c = status.calls) {
    calls = {{"active", c->active},
             {"started", c->started},
             {"rejected", c->rejected},
             {"ended", c->ended},
             {"agent_legs", c->agent_legs}};
  } else {
    spdlog::debug("web: /api/status: no call counters (voice not running or no answer)");
  }
  return json(request, http::status::ok,
              {{"media", std::move(media)}, {"calls", std::move(calls)}});
}

Response Api::getInteraction(const Request& request, std::string_view id) {
  auto found = store_.get(std::string(id));
  if (!found.ok()) {
    spdlog::error("web: reading interaction failed: {}", found.error());
    return error(request, http::status::internal_server_error, "store error");
  }
  if (!found.value()) return error(request, http::status::not_found, "no such interaction");
  return json(request, http::status::ok, store::toJson(*found.value()));
}

std::optional<bool> Api::originAllowed(const Request& request) const {
  const auto it = request.find(http::field::origin);
  if (it == request.end()) return std::nullopt;
  // Browsers send scheme and host in lower case; compare so anyway.
  const std::string origin = lowerAscii(sv(it->value()));
  for (const std::string& allowed : cors_origins_) {
    if (allowed == "*" || lowerAscii(allowed) == origin) return true;
  }
  // The server's own pages (the demo page) are same-origin: allowed without being listed.
  const std::string host = lowerAscii(sv(request[http::field::host]));
  return !host.empty() && (origin == "http://" + host || origin == "https://" + host);
}

Response Api::withCors(const Request& request, Response response) const {
  response.set(http::field::vary, "Origin");
  if (originAllowed(request) == true) {
    response.set(http::field::access_control_allow_origin, request[http::field::origin]);
    response.set(http::field::access_control_expose_headers, "Retry-After");
  }
  return response;
}

Response Api::preflight(const Request& request) {
  const auto allowed = originAllowed(request);
  if (allowed == false) {
    spdlog::debug("web: CORS preflight for {} refused: origin {} not allowed",
                  printable(sv(request.target())), printable(sv(request[http::field::origin])));
    Response res = error(request, http::status::forbidden, "origin not allowed");
    res.set(http::field::vary, "Origin");
    return res;
  }
  Response res{http::status::no_content, request.version()};
  res.set(http::field::allow, "GET, POST, OPTIONS");
  res.set(http::field::vary, "Origin");
  if (allowed == true) {
    res.set(http::field::access_control_allow_origin, request[http::field::origin]);
    res.set(http::field::access_control_allow_methods, "GET, POST");
    res.set(http::field::access_control_allow_headers, "Content-Type");
    res.set(http::field::access_control_max_age, "600");
  }
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  return res;
}

Response Api::availability(const Request& request, std::string_view encoded_queue) {
  const auto queue = urlDecode(encoded_queue);
  if (!queue || queue->empty() || queue->size() > kMaxQueueName) {
    return error(request, http::status::not_found, "no such queue");
  }
  if (desk_ == nullptr) {
    return error(request, http::status::service_unavailable, std::string(kNoCallbacks));
  }
  const auto a = desk_->availability(*queue);
  if (!a) {
    spdlog::debug("web: availability of unknown queue '{}'", printable(*queue));
    return error(request, http::status::not_found, "no such queue");
  }
  nlohmann::json slots = nlohmann::json::array();
  for (const Slot& slot : a->slots) {
    slots.push_back({{"start", slot.start}, {"end", slot.end}, {"free", slot.free}});
  }
  Response res =
      json(request, http::status::ok,
           {{"queue", a->queue.empty() ? *queue : a->queue},
            {"open", a->open},
            {"estimated_wait_s",
             a->estimated_wait_s ? nlohmann::json(*a->estimated_wait_s) : nlohmann::json(nullptr)},
            {"waiting", a->waiting},
            {"callback_now", a->callback_now},
            {"callback_later", a->callback_later},
            {"chat", a->chat},
            {"slots", std::move(slots)}});
  return res;
}

Response Api::requestCallback(const Request& request, const std::string& client_address) {
  if (desk_ == nullptr) {
    return error(request, http::status::service_unavailable, std::string(kNoCallbacks));
  }
  const auto bad = [&](const std::string& message) {
    spdlog::info("web: callback request from {} refused: {}", client_address, message);
    return error(request, http::status::bad_request, message);
  };
  const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return bad("body: expected a JSON object {\"queue\": \"...\", \"number\": \"...\"}");
  }
  CallbackAsk ask;
  ask.source = "web";
  ask.client_address = client_address;
  std::string number;
  for (const auto& [key, value] : body.items()) {
    if (key == "queue") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return bad("queue: expected a queue name");
      }
      ask.queue = value.get<std::string>();
      if (ask.queue.size() > kMaxQueueName || hasControl(ask.queue)) {
        return bad("queue: not a queue name");
      }
    } else if (key == "number") {
      if (!value.is_string()) return bad("number: expected a string like \"+441234567890\"");
      number = value.get<std::string>();
    } else if (key == "at") {
      if (value.is_null()) continue;
      if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 ||
          value.get<std::int64_t>() > kMaxEpochMillis) {
        return bad("at: expected milliseconds since 1970-01-01 UTC");
      }
      ask.at = value.get<std::int64_t>();
    } else if (key == "context") {
      if (value.is_null()) continue;
      if (!value.is_object()) return bad("context: expected an object of strings");
      if (value.size() > kMaxContextKeys) {
        return bad("context: at most " + std::to_string(kMaxContextKeys) + " keys");
      }
      for (const auto& [k, v] : value.items()) {
        if (!contextKeyOk(k)) {
          return bad("context." + printable(k) + ": keys are 1 to 32 of a-z and _");
        }
        if (!v.is_string()) return bad("context." + k + ": expected a string");
        const auto& text = v.get_ref<const std::string&>();
        if (codePoints(text) > kMaxContextValue) {
          return bad("context." + k + ": at most " + std::to_string(kMaxContextValue) +
                     " characters");
        }
        if (hasControl(text)) return bad("context." + k + ": control characters not allowed");
        ask.context[k] = text;
      }
    } else {
      return bad(printable(key) + ": unknown field (queue, number, at, context)");
    }
  }
  if (ask.queue.empty()) return bad("queue: missing");
  if (!body.contains("number")) return bad("number: missing");
  const NumberCheck check = guard_.checkNumber(number);
  if (!check.ok()) return bad(check.error);
  ask.number = check.number;

  const Admission admission = guard_.admit(client_address, ask.number, now_());
  if (!admission.allowed) {
    spdlog::warn("web: callback request from {} for {} rate limited: {}", client_address,
                 masked(ask.number), admission.error);
    Response res = error(request, http::status::too_many_requests, admission.error);
    res.set(http::field::retry_after, std::to_string(admission.retry_after_s));
    return res;
  }

  const CallbackAnswer answer = desk_->request(ask);
  using Status = CallbackAnswer::Status;
  const auto refused = [&](http::status status, const std::string& fallback) {
    const std::string message = answer.message.empty() ? fallback : answer.message;
    spdlog::info("web: callback request from {} for {} in '{}': {} {}", client_address,
                 masked(ask.number), printable(ask.queue), static_cast<unsigned>(status), message);
    return error(request, status, message);
  };
  switch (answer.status) {
    case Status::Created:
    case Status::Updated: {
      const bool created = answer.status == Status::Created;
      spdlog::info("web: callback {} {} from {} for {} in '{}'", answer.id,
                   created ? "created" : "updated", client_address, masked(ask.number),
                   printable(ask.queue));
      return json(request, created ? http::status::created : http::status::ok,
                  {{"id", answer.id},
                   {"status", created ? "created" : "updated"},
                   {"scheduled_for", answer.scheduled_for ? nlohmann::json(*answer.scheduled_for)
                                                          : nlohmann::json(nullptr)}});
    }
    case Status::UnknownQueue:
      return refused(http::status::not_found, "queue: no such queue");
    case Status::Invalid:
      return refused(http::status::bad_request, "invalid request");
    case Status::Closed:
      return refused(http::status::conflict, "the queue takes no callbacks now");
    case Status::NoSlot:
      return refused(http::status::conflict, "no free slot at that time");
    case Status::Unavailable:
      break;
  }
  return refused(http::status::service_unavailable,
                 "callbacks are unavailable just now; try again later");
}

Response Api::widgetConfig(const Request& request, std::string_view query) {
  auto parsed = parseQuery(query);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    return error(request, http::status::bad_request, *bad);
  }
  std::string queue;
  for (const auto& [key, value] : std::get<Params>(parsed)) {
    if (key != "queue") {
      return error(request, http::status::bad_request,
                   printable(key) + ": unknown parameter (queue)");
    }
    queue = value;
  }
  if (queue.empty()) return error(request, http::status::bad_request, "queue: missing");
  nlohmann::json rules = nlohmann::json::array();
  for (const Invitation& rule : invitations_) {
    if (!rule.queue.empty() && rule.queue != queue) continue;
    nlohmann::json r = {{"url", rule.url}, {"after_s", rule.after_s}, {"message", rule.message}};
    if (!rule.from.empty()) r["from"] = rule.from;
    if (!rule.to.empty()) r["to"] = rule.to;
    rules.push_back(std::move(r));
  }
  return json(request, http::status::ok, {{"queue", queue}, {"invitations", std::move(rules)}});
}

Response Api::listCallbacks(const Request& request, std::string_view query) {
  if (callback_store_ == nullptr) {
    return error(request, http::status::service_unavailable, std::string(kNoCallbacks));
  }
  auto parsed = parseQuery(query);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    return error(request, http::status::bad_request, *bad);
  }
  store::CallbackQuery q;
  for (const auto& [key, value] : std::get<Params>(parsed)) {
    if (key == "queue") {
      q.queue = value;
    } else if (key == "state") {
      if (value != "waiting" && value != "scheduled" && value != "dialing" && value != "done") {
        return error(request, http::status::bad_request,
                     "state: expected waiting, scheduled, dialing or done");
      }
      q.state = value;
    } else if (key == "limit") {
      const auto n = parseInteger(value);
      if (!n || *n < 1 || *n > store::kMaxListLimit) {
        return error(request, http::status::bad_request,
                     "limit: expected 1.." + std::to_string(store::kMaxListLimit));
      }
      q.limit = static_cast<int>(*n);
    } else {
      return error(request, http::status::bad_request,
                   printable(key) + ": unknown parameter (queue, state, limit)");
    }
  }
  auto found = callback_store_->list(q);
  if (!found.ok()) {
    spdlog::error("web: listing callbacks failed: {}", found.error());
    return error(request, http::status::internal_server_error, "store error");
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& cb : found.value()) list.push_back(store::toJson(cb));
  return json(request, http::status::ok, {{"callbacks", std::move(list)}});
}

Response Api::getCallback(const Request& request, const std::string& id) {
  if (callback_store_ == nullptr) {
    return error(request, http::status::service_unavailable, std::string(kNoCallbacks));
  }
  auto found = callback_store_->get(id);
  if (!found.ok()) {
    spdlog::error("web: reading callback failed: {}", found.error());
    return error(request, http::status::internal_server_error, "store error");
  }
  if (!found.value()) return error(request, http::status::not_found, "no such callback");
  return json(request, http::status::ok, store::toJson(*found.value()));
}

Response Api::cancelCallback(const Request& request, const Caller& caller, const std::string& id) {
  if (desk_ == nullptr) {
    return error(request, http::status::service_unavailable, std::string(kNoCallbacks));
  }
  if (!desk_->cancel(id)) {
    return error(request, http::status::not_found, "no such open callback");
  }
  spdlog::info("web: callback {} cancelled by '{}'", printable(id), printable(caller.user));
  Response res{http::status::no_content, request.version()};
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace parley::web
