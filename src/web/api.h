// The JSON API of Parley's HTTP server, as a function from request to response (no sockets, so
// it is tested directly and served by HttpServer). Routes:
//   GET  /api/health                      no auth           {"status":"ok"}
//   POST /api/login   {"user","password"} no auth           200 {"user","role"} + session cookie
//   POST /api/logout                      session           200, cookie cleared
//   GET  /api/session                     any role          {"user","role"}
//   GET  /api/interactions?since=&until=&queue=&outcome=&agent=&limit=&before=&offset=
//                                         supervisor+       {"interactions":[...],"next":...}
//   GET  /api/interactions/<id>           supervisor+       one interaction or 404
// A request authenticates with the session cookie (parley_session) or HTTP Basic. Errors are
// JSON {"error": "..."}: 400 bad input (naming the parameter), 401 not authenticated, 403 role
// too low, 404, 405 (with Allow), 429 too many failed logins from this address (Retry-After),
// 500 store failure (details only in the log).
//
// Thread rule: handle() may be called from any thread (sessions and limiter lock; the store is
// thread-safe); HttpServer calls it from its io thread. *store must outlive this Api.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "store/interaction_store.h"
#include "web/auth.h"

namespace parley::web {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct ApiConfig {
  std::chrono::seconds session_idle_timeout{30 * 60};
  int login_max_failures = 10;  // per client address and window; 0: no limit
  std::chrono::seconds login_window{60};
  bool secure_cookie = false;  // add "Secure" (when served behind TLS)
};

// A JSON response {"error": message} with `status`.
Response errorResponse(boost::beast::http::status status, const std::string& message,
                       unsigned version = 11, bool keep_alive = true);

class Api {
 public:
  Api(ApiConfig config, UserDirectory users, store::InteractionStore& store,
      std::function<Clock::time_point()> now = Clock::now);

  // Answers `request` from `client_address` (the peer's IP, for the login limiter and logs).
  // Never throws.
  Response handle(const Request& request, const std::string& client_address);

  SessionTable& sessions() { return sessions_; }

 private:
  struct Caller {
    std::string user;
    Role role = Role::Agent;
    std::string token;  // set when authenticated by cookie
  };
  Response route(const Request& request, const std::string& client_address);
  Response login(const Request& request, const std::string& client_address);
  Response logout(const Request& request);
  Response listInteractions(const Request& request, std::string_view query);
  Response getInteraction(const Request& request, std::string_view id);
  // The caller, or the error response (401/429) to send instead.
  std::variant<Caller, Response> authenticate(const Request& request,
                                              const std::string& client_address);
  Response json(const Request& request, boost::beast::http::status status,
                const nlohmann::json& body) const;
  Response error(const Request& request, boost::beast::http::status status,
                 const std::string& message) const;

  const ApiConfig config_;
  const UserDirectory users_;
  store::InteractionStore& store_;
  const std::function<Clock::time_point()> now_;
  SessionTable sessions_;
  LoginLimiter limiter_;
};

// Decodes %XX and '+' (as space) of a URL query component; nullopt if a %XX is malformed.
std::optional<std::string> urlDecode(std::string_view text);
// Decodes standard base64 (with or without padding); nullopt for anything else.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace parley::web
