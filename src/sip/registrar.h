// The SIP registrar core (RFC 3261 §10.3) with digest authentication (RFC 2617/7616, MD5,
// qop=auth): decides how to answer a REGISTER and keeps the bindings of each address of record
// (AOR). Pure: no sockets, no libre types, no clock, no randomness of its own; the SIP adapter
// (sip_server.h) parses messages into RegisterRequest, passes the time and sends the answer.
//
// One domain: an AOR is identified by its user part ("1001" for sip:1001@any-host), which is
// also the digest username allowed to register it.
//
// Thread rule: not thread-safe. One owner thread (the SIP loop) calls everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "sip/auth_failure_limiter.h"
#include "sip/digest.h"
#include "sip/nonce.h"

namespace parley::sip {

// A user allowed to register. Give either `password` or `ha1` (32 hex digits of
// MD5(name:realm:password)); `ha1` wins when both are set.
struct SipUser {
  std::string name;
  std::string password;
  std::string ha1;
};

struct RegistrarConfig {
  std::string realm = "parley";
  std::vector<SipUser> users;
  std::chrono::seconds default_expires{3600};  // when the request names none
  std::chrono::seconds min_expires{60};        // shorter non-zero requests get 423
  std::chrono::seconds max_expires{7200};      // longer requests are shortened to this
  std::chrono::seconds nonce_lifetime{300};
  std::size_t max_contacts_per_aor = 10;
  AuthFailureLimits rate_limit;
};

// Checks a configuration; the error names the offending field. nullopt when valid.
std::optional<std::string> validate(const RegistrarConfig& config);

// One Contact of a REGISTER request.
struct ContactSpec {
  std::string uri;                       // the URI inside <...>, compared as a string
  std::optional<std::uint32_t> expires;  // the contact's `expires` parameter
};

// A REGISTER request, parsed by the adapter. Strings are raw header values.
struct RegisterRequest {
  std::string source;       // source IP address: the rate-limiting key
  std::string received;     // source "ip:port", kept with the bindings for routing back
  std::string transport;    // "udp", "tcp", ...
  std::string request_uri;  // Request-URI as sent, for the digest `uri` check
  std::string aor;          // user part of the To URI
  std::vector<std::string> authorizations;  // every Authorization header value
  std::vector<ContactSpec> contacts;
  bool wildcard = false;                 // "Contact: *"
  std::optional<std::uint32_t> expires;  // Expires header
  std::string call_id;
  std::uint32_t cseq = 0;
};

struct Binding {
  std::string contact;  // contact URI
  TimePoint expires_at{};
  std::string received;
  std::string transport;
  std::string call_id;
  std::uint32_t cseq = 0;
};

// An AOR went from no live contacts to some (available) or back (not available).
struct AvailabilityEvent {
  std::string aor;
  bool available = false;
};

// A request other than REGISTER (an INVITE from an untrusted source) that must carry digest
// credentials of a registrar user, checked with the same nonces, users and rate limit.
struct AuthRequest {
  std::string method;                       // "INVITE": part of the digest
  std::string source;                       // source IP address: the rate-limiting key
  std::string received;                     // source "ip:port", for the log line
  std::string request_uri;                  // Request-URI as sent, for the digest `uri` check
  std::vector<std::string> authorizations;  // every Proxy-Authorization header value
};

enum class AuthOutcome {
  Authenticated,  // go on; `user` is the digest username
  Challenge,      // 407 with Proxy-Authenticate: `challenge`
  Forbidden,      // 403: unknown user or wrong password (counted by the rate limit)
  RateLimited,    // 403 (or dropped): the source is locked out
  BadRequest,     // 400: credentials that cannot be checked (uri mismatch, bad nc)
};

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::Forbidden;
  int status = 403;
  std::string reason;
  std::string challenge;  // header value, for Challenge
  std::string user;       // for Authenticated
  std::string log;        // as RegisterResult::log
};

enum class RegisterOutcome {
  Registered,        // 200: bindings updated (or only queried)
  Challenge,         // 401: WWW-Authenticate in `www_authenticate`
  Forbidden,         // 403: unknown user, wrong password, AOR not the user's, ...
  RateLimited,       // 403 (or dropped): the source is locked out after repeated failures
  BadRequest,        // 400: inconsistent request (e.g. "*" with other contacts)
  IntervalTooBrief,  // 423: Min-Expires in `min_expires`
  OutOfOrder,        // 500: CSeq not newer than the binding's for the same Call-ID
  TooManyContacts,   // 403: the AOR would exceed max_contacts_per_aor
};

struct RegisterResult {
  RegisterOutcome outcome = RegisterOutcome::Forbidden;
  int status = 403;
  std::string reason;                   // SIP reason phrase
  std::string www_authenticate;         // header value, for Challenge
  std::vector<Binding> bindings;        // for Registered: every live binding of the AOR afterwards
  std::chrono::seconds min_expires{0};  // for IntervalTooBrief
  std::vector<AvailabilityEvent> events;
  // Why the request was refused or what was rate-limited, for the adapter's log line; empty
  // when there is nothing worth logging (a first challenge, a successful registration).
  std::string log;
};

class Registrar {
 public:
  // `config` must pass validate() (asserted). `secret` keys the nonces; `random` supplies nonce
  // salts (inject a seeded generator in tests).
  Registrar(RegistrarConfig config, std::string secret, std::function<std::uint64_t()> random);

  // Answers one REGISTER at `now`.
  RegisterResult handleRegister(const RegisterRequest& request, TimePoint now);

  // Checks the digest credentials of a non-REGISTER request at `now`.
  AuthDecision authorize(const AuthRequest& request, TimePoint now);

  // Removes bindings that expired at or before `now`; returns AORs that lost their last one.
  std::vector<AvailabilityEvent> expire(TimePoint now);
  // The earliest time a binding expires, for the owner's timer; nullopt when none.
  std::optional<TimePoint> nextExpiry() const;

  // The AOR's bindings still live at `now`, ordered by contact URI.
  std::vector<Binding> lookup(std::string_view aor, TimePoint now) const;
  bool known(std::string_view user) const { return users_.count(std::string(user)) > 0; }

  const RegistrarConfig& config() const { return config_; }
  const AuthFailureLimiter& limiter() const { return limiter_; }

 private:
  enum class AuthVerdict { Ok, Challenge, Stale, Fail, Bad };
  struct AuthResult {
    AuthVerdict verdict = AuthVerdict::Challenge;
    std::string log;   // why, when not Ok
    std::string user;  // the authenticated username, when Ok
  };
  AuthResult authenticate(std::string_view method, const std::string& request_uri,
                          const std::vector<std::string>& authorizations, TimePoint now);
  // The lockout check and the digest verdict as a decision (407 for a challenge), shared by
  // REGISTER and other requests; `from` starts every log line ("REGISTER for '1001' from ...").
  AuthDecision check(const std::string& from, const AuthRequest& request, TimePoint now);
  // Counts a failure of `source` and appends the lockout, if one began, to `log`.
  void recordFailure(const std::string& source, TimePoint now, std::string& log);
  std::string challenge(TimePoint now, bool stale);
  RegisterResult refuse(RegisterOutcome outcome, int status, std::string reason, std::string log);
  RegisterResult applyBindings(const RegisterRequest& request, TimePoint now);
  void eraseBinding(const std::string& aor, const std::string& contact);

  RegistrarConfig config_;
  NonceIssuer nonces_;
  std::function<std::uint64_t()> random_;
  std::unordered_map<std::string, Ha1> users_;
  AuthFailureLimiter limiter_;
  // Highest nonce count accepted per nonce (qop=auth), to refuse replays; pruned as nonces age.
  std::unordered_map<std::string, std::pair<std::uint32_t, TimePoint>> nonce_counts_;
  // AOR -> contact URI -> binding.
  std::unordered_map<std::string, std::map<std::string, Binding>> bindings_;
  // (expires_at, aor, contact) for every binding: the expiry timer's index.
  std::set<std::tuple<TimePoint, std::string, std::string>> expiry_index_;
};

}  // namespace parley::sip
