#include "sip/registrar.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <unordered_set>

namespace parley::sip {
namespace {

// Nonce-count records are pruned once there are this many, keeping memory bounded by the
// number of successful authentications within one nonce lifetime.
constexpr std::size_t kNonceCountPruneAt = 4096;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A value safe to place inside a quoted-string of a header we generate.
bool quotable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// nc is exactly 8 hex digits (RFC 2617 §3.2.2).
std::optional<std::uint32_t> parseNonceCount(std::string_view nc) {
  if (nc.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : nc) {
    const int d = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : (std::isxdigit(static_cast<unsigned char>(c))
                             ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                             : -1);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

}  // namespace

std::optional<std::string> validate(const RegistrarConfig& c) {
  if (c.realm.empty() || !quotable(c.realm)) {
    return "realm: must be non-empty without quotes, backslashes or control characters";
  }
  if (c.min_expires.count() < 1) return "min_expires: must be at least 1 second";
  if (c.max_expires < c.min_expires) return "max_expires: must not be below min_expires";
  if (c.default_expires < c.min_expires || c.default_expires > c.max_expires) {
    return "default_expires: must lie between min_expires and max_expires";
  }
  if (c.nonce_lifetime.count() < 1) return "nonce_lifetime: must be at least 1 second";
  if (c.max_contacts_per_aor < 1) return "max_contacts_per_aor: must be at least 1";
  if (c.rate_limit.max_failures < 0) return "rate_limit.max_failures: must not be negative";
  if (c.rate_limit.max_failures > 0 &&
      (c.rate_limit.window.count() < 1 || c.rate_limit.lockout.count() < 1 ||
       c.rate_limit.max_tracked < 1)) {
    return "rate_limit: window, lockout and max_tracked must be positive";
  }
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < c.users.size(); ++i) {
    const SipUser& u = c.users[i];
    const std::string where = "users[" + std::to_string(i) + "]";
    if (u.name.empty() || !quotable(u.name)) {
      return where + ".name: must be non-empty without quotes, backslashes or control characters";
    }
    if (!seen.insert(u.name).second) return where + ".name: duplicate user '" + u.name + "'";
    if (!u.ha1.empty()) {
      if (!parseHa1Hex(u.ha1)) return where + ".ha1: must be 32 hex digits";
    } else if (u.password.empty()) {
      return where + ": needs a password or an ha1";
    }
  }
  return std::nullopt;
}

Registrar::Registrar(RegistrarConfig config, std::string secret,
                     std::function<std::uint64_t()> random)
    : config_(std::move(config)),
      nonces_(std::move(secret), config_.realm, config_.nonce_lifetime),
      random_(std::move(random)),
      limiter_(config_.rate_limit) {
  assert(!validate(config_) && "Registrar needs a validated configuration");
  for (const SipUser& u : config_.users) {
    users_[u.name] =
        u.ha1.empty() ? computeHa1(u.name, config_.realm, u.password) : *parseHa1Hex(u.ha1);
  }
}

std::string Registrar::challenge(TimePoint now, bool stale) {
  std::string v = "Digest realm=\"" + config_.realm + "\", nonce=\"" +
                  nonces_.issue(now, random_()) + "\", algorithm=MD5, qop=\"auth\"";
  if (stale) v += ", stale=true";
  return v;
}

RegisterResult Registrar::refuse(RegisterOutcome outcome, int status, std::string reason,
                                 std::string log) {
  RegisterResult r;
  r.outcome = outcome;
  r.status = status;
  r.reason = std::move(reason);
  r.log = std::move(log);
  return r;
}

Registrar::AuthResult Registrar::authenticate(std::string_view method,
                                              const std::string& request_uri,
                                              const std::vector<std::string>& authorizations,
                                              TimePoint now) {
  std::optional<DigestCredentials> creds;
  for (const std::string& value : authorizations) {
    auto parsed = parseAuthorization(value);
    if (parsed && parsed->realm == config_.realm) {
      creds = std::move(parsed);
      break;
    }
  }
  // No credentials for our realm: the normal first leg of every registration.
  if (!creds) return {AuthVerdict::Challenge, {}};

  const std::string who = "user '" + creds->username + "'";
  if (!creds->algorithm.empty() && !iequals(creds->algorithm, "MD5")) {
    return {AuthVerdict::Fail, who + ": unsupported digest algorithm '" + creds->algorithm + "'"};
  }
  std::optional<std::uint32_t> nc;
  if (!creds->qop.empty()) {
    if (creds->qop != "auth") {
      return {AuthVerdict::Fail, who + ": unsupported qop '" + creds->qop + "'"};
    }
    nc = parseNonceCount(creds->nc);
    if (!nc || creds->cnonce.empty()) {
      return {AuthVerdict::Bad, who + ": qop=auth without a valid nc and cnonce"};
    }
  }
  if (creds->uri != request_uri) {
    return {AuthVerdict::Bad, who + ": digest uri '" + creds->uri +
                                  "' does not match the Request-URI '" + request_uri + "'"};
  }
  const NonceCheck nonce = nonces_.check(creds->nonce, now);
  // A nonce we did not issue proves nothing either way; ask again without counting a failure.
  if (nonce == NonceCheck::Invalid) return {AuthVerdict::Challenge, who + ": unknown nonce"};

  const auto user = users_.find(creds->username);
  if (user == users_.end()) return {AuthVerdict::Fail, who + ": unknown user"};
  if (!verifyDigest(*creds, method, user->second)) {
    return {AuthVerdict::Fail, who + ": wrong password"};
  }
  // RFC 7616 §3.3: stale=true only when the digest itself was right.
  if (nonce == NonceCheck::Stale) return {AuthVerdict::Stale, {}};

  if (nc) {
    if (nonce_counts_.size() >= kNonceCountPruneAt) {
      std::erase_if(nonce_counts_, [&](const auto& kv) {
        return now - kv.second.second > config_.nonce_lifetime;
      });
    }
    auto [it, inserted] = nonce_counts_.try_emplace(creds->nonce, *nc, now);
    if (!inserted) {
      if (*nc <= it->second.first) {
        return {AuthVerdict::Challenge, who + ": nonce count " + creds->nc + " replayed"};
      }
      it->second.first = *nc;
    }
  }
  return {AuthVerdict::Ok, {}, creds->username};
}

RegisterResult Registrar::handleRegister(const RegisterRequest& request, TimePoint now) {
  const std::string from = "REGISTER for '" + request.aor + "' from " + request.received;
  AuthDecision auth = check(from,
                            AuthRequest{"REGISTER", request.source, request.received,
                                        request.request_uri, request.authorizations},
                            now);
  // The same decision as for other requests; a registrar challenges with 401, not 407.
  switch (auth.outcome) {
    case AuthOutcome::RateLimited:
      return refuse(RegisterOutcome::RateLimited, auth.status, auth.reason, auth.log);
    case AuthOutcome::Challenge: {
      RegisterResult r = refuse(RegisterOutcome::Challenge, 401, "Unauthorized", auth.log);
      r.www_authenticate = std::move(auth.challenge);
      return r;
    }
    case AuthOutcome::BadRequest:
      return refuse(RegisterOutcome::BadRequest, auth.status, auth.reason, auth.log);
    case AuthOutcome::Forbidden:
      return refuse(RegisterOutcome::Forbidden, auth.status, auth.reason, auth.log);
    case AuthOutcome::Authenticated:
      break;
  }
  if (auth.user != request.aor) {
    return refuse(RegisterOutcome::Forbidden, 403, "Forbidden",
                  from + " refused: user '" + auth.user + "' may not register another AOR");
  }
  return applyBindings(request, now);
}

void Registrar::recordFailure(const std::string& source, TimePoint now, std::string& log) {
  if (const auto until = limiter_.recordFailure(source, now)) {
    log += "; source " + source + " locked out for " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*until - now).count()) +
           " s after " + std::to_string(config_.rate_limit.max_failures) + " failures";
  }
}

AuthDecision Registrar::authorize(const AuthRequest& request, TimePoint now) {
  return check(request.method + " from " + request.received, request, now);
}

AuthDecision Registrar::check(const std::string& from, const AuthRequest& request, TimePoint now) {
  AuthDecision d;
  if (limiter_.blocked(request.source, now)) {
    d.outcome = AuthOutcome::RateLimited;
    d.status = 403;
    d.reason = "Forbidden";
    d.log = from + " refused: source locked out after repeated authentication failures";
    return d;
  }
  AuthResult auth = authenticate(request.method, request.request_uri, request.authorizations, now);
  switch (auth.verdict) {
    case AuthVerdict::Challenge:
    case AuthVerdict::Stale:
      d.outcome = AuthOutcome::Challenge;
      d.status = 407;
      d.reason = "Proxy Authentication Required";
      d.challenge = challenge(now, auth.verdict == AuthVerdict::Stale);
      if (!auth.log.empty()) d.log = from + " challenged again: " + auth.log;
      return d;
    case AuthVerdict::Bad:
      d.outcome = AuthOutcome::BadRequest;
      d.status = 400;
      d.reason = "Bad Request";
      d.log = from + ": " + auth.log;
      return d;
    case AuthVerdict::Fail:
      d.outcome = AuthOutcome::Forbidden;
      d.status = 403;
      d.reason = "Forbidden";
      d.log = from + " refused: " + auth.log;
      recordFailure(request.source, now, d.log);
      return d;
    case AuthVerdict::Ok:
      break;
  }
  d.outcome = AuthOutcome::Authenticated;
  d.status = 200;
  d.reason = "OK";
  d.user = std::move(auth.user);
  return d;
}

void Registrar::eraseBinding(const std::string& aor, const std::string& contact) {
  auto it = bindings_.find(aor);
  if (it == bindings_.end()) return;
  auto b = it->second.find(contact);
  if (b == it->second.end()) return;
  expiry_index_.erase({b->second.expires_at, aor, contact});
  it->second.erase(b);
  if (it->second.empty()) bindings_.erase(it);
}

RegisterResult Registrar::applyBindings(const RegisterRequest& request, TimePoint now) {
  std::vector<AvailabilityEvent> events = expire(now);
  const std::string& aor = request.aor;
  const std::string from = "REGISTER for '" + aor + "' from " + request.received;
  static const std::map<std::string, Binding> kNone;
  const auto existing_it = bindings_.find(aor);
  const auto& existing = existing_it == bindings_.end() ? kNone : existing_it->second;

  // RFC 3261 §10.3 step 7: a request older than a binding's (same Call-ID, CSeq not higher)
  // must not change it.
  auto outOfOrder = [&](const Binding& b) {
    return b.call_id == request.call_id && request.cseq <= b.cseq;
  };

  if (request.wildcard) {
    if (!request.contacts.empty() || !request.expires || *request.expires != 0) {
      return refuse(RegisterOutcome::BadRequest, 400, "Bad Request",
                    from + ": 'Contact: *' needs 'Expires: 0' and no other contacts");
    }
    for (const auto& [uri, b] : existing) {
      if (outOfOrder(b)) {
        return refuse(RegisterOutcome::OutOfOrder, 500, "Server Internal Error",
                      from + ": CSeq " + std::to_string(request.cseq) + " is out of order");
      }
    }
    const bool had = !existing.empty();
    std::vector<std::string> uris;
    for (const auto& kv : existing) uris.push_back(kv.first);
    for (const auto& uri : uris) eraseBinding(aor, uri);
    if (had) events.push_back({aor, false});
    RegisterResult r;
    r.outcome = RegisterOutcome::Registered;
    r.status = 200;
    r.reason = "OK";
    r.events = std::move(events);
    return r;
  }

  // Plan every change first so a refused request changes nothing.
  struct Change {
    std::string uri;
    std::uint32_t expires = 0;
  };
  std::vector<Change> changes;
  for (const ContactSpec& c : request.contacts) {
    std::uint64_t e = c.expires ? *c.expires
                      : request.expires
                          ? *request.expires
                          : static_cast<std::uint64_t>(config_.default_expires.count());
    if (e != 0 && e < static_cast<std::uint64_t>(config_.min_expires.count())) {
      RegisterResult r = refuse(RegisterOutcome::IntervalTooBrief, 423, "Interval Too Brief", {});
      r.min_expires = config_.min_expires;
      return r;
    }
    e = std::min<std::uint64_t>(e, static_cast<std::uint64_t>(config_.max_expires.count()));
    if (const auto b = existing.find(c.uri); b != existing.end() && outOfOrder(b->second)) {
      return refuse(RegisterOutcome::OutOfOrder, 500, "Server Internal Error",
                    from + ": CSeq " + std::to_string(request.cseq) + " is out of order");
    }
    // A contact listed twice: the last one counts.
    std::erase_if(changes, [&](const Change& ch) { return ch.uri == c.uri; });
    changes.push_back({c.uri, static_cast<std::uint32_t>(e)});
  }
  std::size_t after = existing.size();
  for (const Change& ch : changes) {
    const bool present = existing.count(ch.uri) > 0;
    if (ch.expires == 0 && present) --after;
    if (ch.expires != 0 && !present) ++after;
  }
  if (after > config_.max_contacts_per_aor) {
    return refuse(
        RegisterOutcome::TooManyContacts, 403, "Too Many Contacts",
        from + " refused: more than " + std::to_string(config_.max_contacts_per_aor) + " contacts");
  }

  const bool had = !existing.empty();
  for (const Change& ch : changes) {
    eraseBinding(aor, ch.uri);
    if (ch.expires == 0) continue;
    Binding b;
    b.contact = ch.uri;
    b.expires_at = now + std::chrono::seconds(ch.expires);
    b.received = request.received;
    b.transport = request.transport;
    b.call_id = request.call_id;
    b.cseq = request.cseq;
    expiry_index_.insert({b.expires_at, aor, ch.uri});
    bindings_[aor].emplace(ch.uri, std::move(b));
  }
  const bool has = bindings_.count(aor) > 0;
  if (!had && has) events.push_back({aor, true});
  if (had && !has) events.push_back({aor, false});

  RegisterResult r;
  r.outcome = RegisterOutcome::Registered;
  r.status = 200;
  r.reason = "OK";
  r.bindings = lookup(aor, now);
  r.events = std::move(events);
  return r;
}

std::vector<AvailabilityEvent> Registrar::expire(TimePoint now) {
  std::vector<AvailabilityEvent> events;
  while (!expiry_index_.empty() && std::get<0>(*expiry_index_.begin()) <= now) {
    const auto [at, aor, contact] = *expiry_index_.begin();
    eraseBinding(aor, contact);
    if (bindings_.count(aor) == 0) events.push_back({aor, false});
  }
  return events;
}

std::optional<TimePoint> Registrar::nextExpiry() const {
  if (expiry_index_.empty()) return std::nullopt;
  return std::get<0>(*expiry_index_.begin());
}

std::vector<Binding> Registrar::lookup(std::string_view aor, TimePoint now) const {
  std::vector<Binding> out;
  const auto it = bindings_.find(std::string(aor));
  if (it == bindings_.end()) return out;
  for (const auto& [uri, b] : it->second) {
    if (b.expires_at > now) out.push_back(b);
  }
  return out;
}

}  // namespace parley::sip
