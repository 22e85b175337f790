#include "web/api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <utility>

#include "store/interaction_json.h"

namespace parley::web {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

constexpr std::string_view kCookieName = "parley_session";
constexpr std::size_t kMaxLoggedName = 64;

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
    : config_(config),
      users_(std::move(users)),
      store_(store),
      now_(std::move(now)),
      sessions_(config.session_idle_timeout),
      limiter_(config.login_max_failures, config.login_window) {}

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
  const bool interactions = path == "/api/interactions" || path.starts_with("/api/interactions/");
  if (path != "/api/session" && !interactions) {
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
  std::map<std::string, std::string, std::less<>> params;
  while (!query.empty()) {
    const std::size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    if (pair.empty()) continue;
    const std::size_t eq = std::min(pair.find('='), pair.size());
    const auto key = urlDecode(pair.substr(0, eq));
    const auto value = urlDecode(pair.substr(std::min(eq + 1, pair.size())));
    if (!key || !value) return error(request, http::status::bad_request, "malformed query string");
    if (!params.emplace(*key, *value).second) {
      return error(request, http::status::bad_request, printable(*key) + ": given twice");
    }
  }
  for (const auto& [key, value] : params) {
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

Response Api::getInteraction(const Request& request, std::string_view id) {
  auto found = store_.get(std::string(id));
  if (!found.ok()) {
    spdlog::error("web: reading interaction failed: {}", found.error());
    return error(request, http::status::internal_server_error, "store error");
  }
  if (!found.value()) return error(request, http::status::not_found, "no such interaction");
  return json(request, http::status::ok, store::toJson(*found.value()));
}

}  // namespace parley::web
