// The JSON API of Parley's HTTP server, as a function from request to response (no sockets, so
// it is tested directly and served by HttpServer). Routes:
//   GET  /api/health                      no auth           {"status":"ok"}
//   POST /api/login   {"user","password"} no auth           200 {"user","role"} + session cookie
//   POST /api/logout                      session           200, cookie cleared
//   GET  /api/session                     any role          {"user","role"}
//   GET  /api/interactions?since=&until=&queue=&outcome=&agent=&limit=&before=&offset=
//                                         supervisor+       {"interactions":[...],"next":...}
//   GET  /api/interactions/<id>           supervisor+       one interaction or 404
//   GET  /api/queues/<name>/availability  public, CORS      {"queue","open","estimated_wait_s",
//                                                            "waiting","callback_now",
//                                                            "callback_later","chat","slots"} / 404
//   POST /api/callbacks {"queue","number","at"?,"context"?}
//                                         public, CORS      201 {"id","status":"created",
//                                                            "scheduled_for"} / 200 "updated";
//                                                            400, 403 origin, 404 queue, 409,
//                                                            429 (Retry-After), 503
//   GET  /api/widget/config?queue=        public, CORS      {"queue","invitations":[...]}
//   OPTIONS on the three public routes above: CORS preflight, 204 (403 for an unlisted origin)
//   GET  /api/callbacks?queue=&state=&limit=
//                                         supervisor+       {"callbacks":[...]} newest first
//   GET  /api/callbacks/<id>              supervisor+       one callback (callback_json.h) / 404
//   DELETE /api/callbacks/<id>            supervisor+       204 cancelled / 404 no open callback
//   GET  /widget.js, /widget/<file>       public            static files (static_assets.h)
//   GET  /api/status                      supervisor+       {"media": {...} or null,
//                                                            "calls": {...} or null}
//                                                            (server_status.h)
// A request authenticates with the session cookie (parley_session) or HTTP Basic. Errors are
// JSON {"error": "..."}: 400 bad input (naming the parameter or field), 401 not authenticated,
// 403 role too low (or, on the public routes, an Origin that is not allowed), 404, 405 (with
// Allow), 429 too many failed logins from this address or too many callback requests
// (Retry-After), 500 store failure (details only in the log), 503 callbacks not configured or
// unavailable.
//
// CORS (public routes only): a request whose Origin is listed in ApiServices::cors_origins
// (compared in lower case; or "*" is listed, or it is the server's own origin per the Host
// header) gets Access-Control-Allow-Origin echoing it; others get no CORS headers, and POST
// /api/callbacks from them is refused (403). The authenticated routes never send CORS headers
// (the session cookie is SameSite=Strict).
//
// Thread rule: handle() may be called from any thread (sessions, limiters and the dial guard
// lock; the stores and the desk are thread-safe); HttpServer calls it from its io thread.
// *store (and ApiServices' desk and callback store) must outlive this Api.
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
#include <vector>

#include "store/callback.h"
#include "store/interaction_store.h"
#include "web/auth.h"
#include "web/callback_desk.h"
#include "web/dial_guard.h"
#include "web/server_status.h"
#include "web/static_assets.h"

namespace parley::web {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct ApiConfig {
  std::chrono::seconds session_idle_timeout{30 * 60};
  int login_max_failures = 10;  // per client address and window; 0: no limit
  std::chrono::seconds login_window{60};
  bool secure_cookie = false;  // add "Secure" (when served behind TLS)
};

// A proactive invitation rule, handed to the widget by GET /api/widget/config; the widget
// decides on the page (and shows it only when the queue can take the contact).
struct Invitation {
  std::string url;      // pattern on the page URL, "*" any characters ("*mortgage*")
  int after_s = 0;      // seconds on the page before it may show
  std::string from;     // "HH:MM" visitor's local time, inclusive; empty: 00:00
  std::string to;       // "HH:MM", exclusive; empty: 24:00
  std::string message;  // "Need help with your mortgage?"
  std::string queue;    // the queue whose widget shows it; empty: every queue
};

// What the callback and widget routes use; all optional (Api works without any of it).
struct ApiServices {
  CallbackDesk* callbacks = nullptr;               // null: the callback routes answer 503
  store::CallbackStore* callback_store = nullptr;  // GET /api/callbacks[/id]; null: 503
  DialGuardConfig dial_guard;                      // number rules and rate limits
  std::vector<std::string> cors_origins;           // "https://shop.example.com"; "*": any origin
  std::vector<Invitation> invitations;
  StaticAssets assets;  // /widget.js and /widget/*; empty: those answer 404
  // GET /api/status: the server's counters, read from the threads that own them. Called on
  // the HTTP io thread, so it must be thread-safe and return within about a second (a part
  // that does not answer in time is left empty). Null: every part is null.
  std::function<ServerStatus()> status;
};

// A JSON response {"error": message} with `status`.
Response errorResponse(boost::beast::http::status status, const std::string& message,
                       unsigned version = 11, bool keep_alive = true);

class Api {
 public:
  Api(ApiConfig config, UserDirectory users, store::InteractionStore& store,
      std::function<Clock::time_point()> now = Clock::now);
  // With the callback desk, its store, the dial guard, CORS origins, invitations and static
  // files. `now` also drives the dial guard's rate limits.
  Api(ApiConfig config, UserDirectory users, store::InteractionStore& store, ApiServices services,
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
  Response availability(const Request& request, std::string_view path);
  Response requestCallback(const Request& request, const std::string& client_address);
  Response widgetConfig(const Request& request, std::string_view query);
  Response listCallbacks(const Request& request, std::string_view query);
  Response getCallback(const Request& request, const std::string& id);
  Response cancelCallback(const Request& request, const Caller& caller, const std::string& id);
  Response serverStatus(const Request& request);
  Response preflight(const Request& request);
  // Whether the request's Origin may use the public routes: nullopt if it sent none.
  std::optional<bool> originAllowed(const Request& request) const;
  // Adds the CORS headers for an allowed Origin to a public route's response.
  Response withCors(const Request& request, Response response) const;
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
  CallbackDesk* const desk_;                    // may be null
  store::CallbackStore* const callback_store_;  // may be null
  const std::vector<std::string> cors_origins_;
  const std::vector<Invitation> invitations_;
  const StaticAssets assets_;
  const std::function<ServerStatus()> status_;  // may be empty
  DialGuard guard_;
};

// Decodes %XX and '+' (as space) of a URL query component; nullopt if a %XX is malformed.
std::optional<std::string> urlDecode(std::string_view text);
// Decodes standard base64 (with or without padding); nullopt for anything else.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace parley::web
