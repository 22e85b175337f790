#include "sip/sip_server.h"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <future>
#include <limits>
#include <unordered_set>

#include "sip/call_legs.h"
#include "sip/libre.h"
#include "sip/libre_timers.h"

namespace parley::sip {
namespace {

// mqueue message ids.
constexpr int kWakeTasks = 1;
constexpr int kStop = 2;

// Limits on values copied out of a request (the rest of a message is libre's to bound).
constexpr std::size_t kMaxUriLength = 512;
constexpr std::size_t kMaxAorLength = 128;
constexpr std::size_t kMaxContactsPerRequest = 32;

// The Expires value of RFC 3261 §20.19 ("malformed values SHOULD be treated as 3600").
constexpr std::uint32_t kMalformedExpires = 3600;

constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO";

std::once_flag g_libre_once;
int g_libre_init_error = 0;

// Raises RLIMIT_NOFILE's soft limit to the hard limit (capped: libre allocates its poll table
// up front) and returns the descriptor count the loop may use.
rlim_t raiseDescriptorLimit() {
  constexpr rlim_t kCap = 65536;  // about 30,000 bridged calls
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  const rlim_t want = std::min(limit.rlim_max == RLIM_INFINITY ? kCap : limit.rlim_max, kCap);
  if (limit.rlim_cur < want) {
    rlimit raised = limit;
    raised.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return std::min(limit.rlim_cur == RLIM_INFINITY ? kCap : limit.rlim_cur, kCap);
}

std::string toString(const pl& p) {
  return p.p ? std::string(p.p, p.l) : std::string();
}
bool isSet(const pl& p) {
  return p.p != nullptr && p.l > 0;
}
bool methodIs(const sip_msg& msg, const char* method) {
  return pl_strcmp(&msg.met, method) == 0;
}

std::string errorText(int err) {
  return std::string(std::strerror(err));
}

// A header value we will echo into a response: no control characters or whitespace.
bool printable(std::string_view s, std::size_t max_length) {
  return !s.empty() && s.size() <= max_length && std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// Expires header or contact parameter: digits, saturating at 2^32-1; malformed means 3600.
std::optional<std::uint32_t> parseExpires(const pl& value) {
  if (!value.p) return std::nullopt;
  std::uint64_t v = 0;
  if (value.l == 0) return kMalformedExpires;
  for (std::size_t i = 0; i < value.l; ++i) {
    const char c = value.p[i];
    if (c < '0' || c > '9') return kMalformedExpires;
    v = std::min<std::uint64_t>(v * 10 + static_cast<std::uint64_t>(c - '0'),
                                std::numeric_limits<std::uint32_t>::max());
  }
  return static_cast<std::uint32_t>(v);
}

std::string addressText(const sa& addr, bool with_port) {
  char buf[80] = {};
  re_snprintf(buf, sizeof buf, with_port ? "%J" : "%j", &addr);
  return buf;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

struct ContactParse {
  std::vector<ContactSpec> contacts;
  bool wildcard = false;
  std::string error;  // non-empty: answer 400
};

bool collectContact(const sip_hdr* hdr, const sip_msg*, void* arg) {
  auto& out = *static_cast<ContactParse*>(arg);
  pl value = hdr->val;
  if (value.l == 1 && value.p[0] == '*') {
    out.wildcard = true;
    return false;
  }
  if (out.contacts.size() >= kMaxContactsPerRequest) {
    out.error = "too many Contact values";
    return true;  // stop
  }
  sip_addr addr{};
  if (sip_addr_decode(&addr, &value) != 0) {
    out.error = "malformed Contact";
    return true;
  }
  ContactSpec spec;
  spec.uri = toString(addr.auri);
  const bool sip_uri =
      pl_strcasecmp(&addr.uri.scheme, "sip") == 0 || pl_strcasecmp(&addr.uri.scheme, "sips") == 0;
  if (!sip_uri || !printable(spec.uri, kMaxUriLength) ||
      spec.uri.find_first_of("<>\"") != std::string::npos) {
    out.error = "unusable Contact URI";
    return true;
  }
  pl expires{};
  if (msg_param_decode(&addr.params, "expires", &expires) == 0)
    spec.expires = parseExpires(expires);
  out.contacts.push_back(std::move(spec));
  return false;
}

bool isSipUri(const uri& u) {
  return pl_strcasecmp(&u.scheme, "sip") == 0 || pl_strcasecmp(&u.scheme, "sips") == 0;
}

bool collectAuthorization(const sip_hdr* hdr, const sip_msg*, void* arg) {
  static_cast<std::vector<std::string>*>(arg)->push_back(toString(hdr->val));
  return false;
}

}  // namespace

// Loop-thread state. Every member is created, used and destroyed on the loop thread.
struct SipServer::Loop {
  SipServer* owner = nullptr;
  // First in, last out: every LoopTimer of this thread (call legs, the voice controller)
  // schedules on it.
  struct sip* stack = nullptr;
  dnsc* dns = nullptr;  // resolves host names in dialled URIs (trunks); null when unavailable
  sip_lsnr* listener = nullptr;
  mqueue* queue = nullptr;
  tmr expiry_timer{};
  std::unique_ptr<Registrar> registrar;
  std::unique_ptr<CallLegs> calls;  // after `listener`: its sipsess listener must come second
  std::unordered_set<void*> sized_sockets;  // UDP transports whose buffers are set

  TimePoint now() const { return owner->hooks_.now(); }

  static bool onRequest(const sip_msg* msg, void* arg) {
    return static_cast<Loop*>(arg)->handleRequest(*msg);
  }
  static void onQueue(int id, void* /*data*/, void* arg) {
    auto* self = static_cast<Loop*>(arg);
    if (id == kStop) {
      re_cancel();
      return;
    }
    self->owner->drainTasks();
  }
  static void onExpiryTimer(void* arg) {
    auto* self = static_cast<Loop*>(arg);
    self->publish(self->registrar->expire(self->now()));
    self->scheduleExpiry();
  }

  void scheduleExpiry() {
    const auto next = registrar->nextExpiry();
    if (!next) {
      tmr_cancel(&expiry_timer);
      return;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now());
    tmr_start(&expiry_timer, static_cast<std::uint64_t>(std::max<std::int64_t>(wait.count(), 0)),
              &Loop::onExpiryTimer, this);
  }

  void publish(const std::vector<AvailabilityEvent>& events) {
    for (const AvailabilityEvent& e : events) {
      spdlog::info("sip: AOR '{}' {}", e.aor,
                   e.available ? "registered (available)" : "has no contacts (unavailable)");
      if (owner->hooks_.on_availability) owner->hooks_.on_availability(e);
    }
  }

  // libre does not hand out the sockets of its transports; the first request on each UDP
  // socket does. The kernel's default receive buffer (208 KiB, ~150 small datagrams) holds
  // under 100 ms of signalling at 200 calls/s, so one scheduling hiccup of this thread lost
  // requests (the callers' retransmissions then cost seconds). The kernel caps the size at
  // net.core.rmem_max.
  void sizeReceiveBuffer(void* sock) {
    if (sock == nullptr || sized_sockets.size() >= owner->config_.udp_listen.size() ||
        !sized_sockets.insert(sock).second) {
      return;  // every UDP transport done: no lookup per request
    }
    constexpr int kReceiveBuffer = 4 << 20;
    if (const int err = udp_sockbuf_set(static_cast<udp_sock*>(sock), kReceiveBuffer)) {
      spdlog::warn("sip: could not size a UDP socket's buffers: {}", errorText(err));
    }
  }

  // The fields every response needs (RFC 3261 §8.1.1). Without a Via there is nobody to answer.
  static bool answerable(const sip_msg& msg) {
    return isSet(msg.via.sentby) && isSet(msg.via.branch);
  }
  static bool wellFormed(const sip_msg& msg) {
    return answerable(msg) && isSet(msg.callid) && isSet(msg.cseq.met) && isSet(msg.from.auri) &&
           isSet(msg.to.auri) && pl_casecmp(&msg.cseq.met, &msg.met) == 0;
  }

  void replyStateless(const sip_msg& msg, std::uint16_t code, const char* reason) {
    if (answerable(msg)) (void)sip_reply(stack, &msg, code, reason);
  }

  // Requests libre's sipsess listener (after ours) handles: in-dialog requests of our legs, and
  // 481 for dialogs it does not know.
  static bool forSessions(const sip_msg& msg) {
    const bool in_dialog = isSet(msg.to.tag);
    return methodIs(msg, "ACK") || methodIs(msg, "BYE") || methodIs(msg, "INFO") ||
           (in_dialog && (methodIs(msg, "INVITE") || methodIs(msg, "NOTIFY") ||
                          methodIs(msg, "REFER")));
  }

  bool handleRequest(const sip_msg& msg) {
    if (msg.tp == SIP_TRANSP_UDP) sizeReceiveBuffer(msg.sock);
    if (methodIs(msg, "ACK") && !wellFormed(msg)) return true;  // nobody to answer
    if (!wellFormed(msg)) {
      // Debug level: anyone can send these at line rate (libre itself reports undecodable
      // datagrams on stderr).
      spdlog::debug("sip: malformed {} from {}: missing or inconsistent mandatory headers",
                    toString(msg.met), addressText(msg.src, true));
      replyStateless(msg, 400, "Bad Request");
      return true;
    }
    if (forSessions(msg)) return false;
    if (methodIs(msg, "INVITE")) {
      handleInvite(msg);
    } else if (methodIs(msg, "REGISTER")) {
      handleRegister(msg);
    } else if (methodIs(msg, "OPTIONS")) {
      (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 200, "OK",
                        "Allow: %s\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n",
                        kAllow);
    } else if (methodIs(msg, "CANCEL")) {
      // CANCELs of accepted INVITEs are answered by libre's transaction layer before they
      // reach us; those of INVITEs still waiting for the app are matched by the call legs.
      if (!calls->cancel(msg)) {
        (void)sip_treply(nullptr, stack, &msg, 481, "Call/Transaction Does Not Exist");
      }
    } else if (isSet(msg.to.tag)) {
      (void)sip_treply(nullptr, stack, &msg, 481, "Call/Transaction Does Not Exist");
    } else {
      (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 501, "Not Implemented",
                        "Allow: %s\r\nContent-Length: 0\r\n\r\n", kAllow);
    }
    return true;
  }

  // A new INVITE: Request-URI check, source policy (trusted, or digest as a registrar user
  // with a 407 challenge), then the call legs.
  void handleInvite(const sip_msg& msg) {
    if (calls->absorbRetransmission(msg)) return;
    const std::string received = addressText(msg.src, true);
    const std::string ruri = toString(msg.ruri);
    if (!isSipUri(msg.uri) || !isSet(msg.uri.host) || !printable(ruri, kMaxUriLength)) {
      spdlog::info("sip: INVITE from {} refused: unusable Request-URI", received);
      (void)sip_treply(nullptr, stack, &msg, 400, "Bad Request");
      return;
    }
    InboundCall call;
    const std::string source = addressText(msg.src, false);
    const bool trusted = owner->hooks_.is_trusted_source && owner->hooks_.is_trusted_source(source);
    if (!trusted) {
      AuthRequest req;
      req.method = "INVITE";
      req.source = source;
      req.received = received;
      req.request_uri = ruri;
      (void)sip_msg_hdr_apply(&msg, true, SIP_HDR_PROXY_AUTHORIZATION, collectAuthorization,
                              &req.authorizations);
      AuthDecision d = registrar->authorize(req, now());
      if (!d.log.empty()) {
        const auto level = d.outcome == AuthOutcome::RateLimited ? spdlog::level::debug
                           : d.outcome == AuthOutcome::Challenge ? spdlog::level::info
                                                                 : spdlog::level::warn;
        spdlog::log(level, "sip: {}", d.log);
      }
      switch (d.outcome) {
        case AuthOutcome::Authenticated:
          call.authenticated_user = std::move(d.user);
          break;
        case AuthOutcome::Challenge:
          (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 407,
                            "Proxy Authentication Required",
                            "Proxy-Authenticate: %s\r\nContent-Length: 0\r\n\r\n",
                            d.challenge.c_str());
          return;
        case AuthOutcome::RateLimited:
          if (!owner->config_.drop_rate_limited) {
            (void)sip_treply(nullptr, stack, &msg, 403, "Forbidden");
          }
          return;
        default:
          (void)sip_treply(nullptr, stack, &msg, static_cast<std::uint16_t>(d.status),
                           d.reason.c_str());
          return;
      }
    }
    call.request_user = toString(msg.uri.user);
    call.request_host = lower(toString(msg.uri.host));
    call.from_user = toString(msg.from.uri.user);
    call.from_display = toString(msg.from.dname);
    call.from_uri = toString(msg.from.auri);
    call.call_id = toString(msg.callid);
    call.source = received;
    call.transport = lower(sip_transp_name(msg.tp));
    if (msg.mb && mbuf_get_left(msg.mb) > 0 && msg_ctype_cmp(&msg.ctyp, "application", "sdp")) {
      call.sdp.assign(reinterpret_cast<const char*>(mbuf_buf(msg.mb)), mbuf_get_left(msg.mb));
    }
    spdlog::info("sip: INVITE for '{}' from {} ({}){}", call.request_user, received,
                 call.from_uri,
                 trusted ? " from a trusted source" : " as user '" + call.authenticated_user + "'");
    calls->offer(msg, std::move(call));
  }

  void handleRegister(const sip_msg& msg) {
    RegisterRequest req;
    req.source = addressText(msg.src, false);
    req.received = addressText(msg.src, true);
    req.transport = lower(sip_transp_name(msg.tp));
    req.request_uri = toString(msg.ruri);
    req.aor = toString(msg.to.uri.user);
    req.call_id = toString(msg.callid);
    req.cseq = msg.cseq.num;
    req.expires = parseExpires(msg.expires);
    if (!printable(req.aor, kMaxAorLength)) {
      spdlog::info("sip: REGISTER from {} refused: To header has no usable user part",
                   req.received);
      (void)sip_treply(nullptr, stack, &msg, 400, "Bad Request");
      return;
    }
    ContactParse contacts;
    (void)sip_msg_hdr_apply(&msg, true, SIP_HDR_CONTACT, collectContact, &contacts);
    if (contacts.error.empty() && contacts.wildcard && !contacts.contacts.empty()) {
      contacts.error = "'Contact: *' mixed with other contacts";
    }
    if (!contacts.error.empty()) {
      spdlog::info("sip: REGISTER for '{}' from {} refused: {}", req.aor, req.received,
                   contacts.error);
      (void)sip_treply(nullptr, stack, &msg, 400, "Bad Request");
      return;
    }
    req.contacts = std::move(contacts.contacts);
    req.wildcard = contacts.wildcard;
    (void)sip_msg_hdr_apply(&msg, true, SIP_HDR_AUTHORIZATION, collectAuthorization,
                            &req.authorizations);

    const TimePoint now_at = now();
    RegisterResult result = registrar->handleRegister(req, now_at);
    if (!result.log.empty()) {
      // A locked-out source was logged once when the lockout began; its further requests are
      // logged at debug level so a flood cannot flood the log.
      const auto level = result.outcome == RegisterOutcome::RateLimited ? spdlog::level::debug
                         : result.outcome == RegisterOutcome::Challenge ? spdlog::level::info
                                                                        : spdlog::level::warn;
      spdlog::log(level, "sip: {}", result.log);
    }
    publish(result.events);
    scheduleExpiry();

    switch (result.outcome) {
      case RegisterOutcome::Registered: {
        std::string headers;
        for (const Binding& b : result.bindings) {
          const auto left = std::chrono::ceil<std::chrono::seconds>(b.expires_at - now_at);
          headers +=
              "Contact: <" + b.contact + ">;expires=" + std::to_string(left.count()) + "\r\n";
        }
        (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 200, "OK",
                          "%sContent-Length: 0\r\n\r\n", headers.c_str());
        break;
      }
      case RegisterOutcome::Challenge:
        (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 401, "Unauthorized",
                          "WWW-Authenticate: %s\r\nContent-Length: 0\r\n\r\n",
                          result.www_authenticate.c_str());
        break;
      case RegisterOutcome::IntervalTooBrief:
        (void)sip_treplyf(nullptr, nullptr, stack, &msg, false, 423, "Interval Too Brief",
                          "Min-Expires: %lld\r\nContent-Length: 0\r\n\r\n",
                          static_cast<long long>(result.min_expires.count()));
        break;
      case RegisterOutcome::RateLimited:
        if (owner->config_.drop_rate_limited) break;
        (void)sip_treply(nullptr, stack, &msg, 403, "Forbidden");
        break;
      default:
        (void)sip_treply(nullptr, stack, &msg, static_cast<std::uint16_t>(result.status),
                         result.reason.c_str());
        break;
    }
  }

  // Creates the stack and binds every address; an error message on failure.
  std::string open() {
    // The system's name servers, for dialling URIs with host names. Without them only numeric
    // targets can be dialled (agents' registered contacts are numeric).
    sa servers[8];
    std::uint32_t server_count = 8;
    char domain[64] = {};
    if (dns_srv_get(domain, sizeof domain, servers, &server_count) != 0 || server_count == 0 ||
        dnsc_alloc(&dns, nullptr, servers, server_count) != 0) {
      spdlog::warn("sip: no DNS resolver; only numeric SIP URIs can be dialled");
      dns = nullptr;
    }
    if (!libreTimersInterposed()) {
      return "libre's timer functions are not Parley's (src/sip/libre_timers.h): the "
             "binary was linked without parley_libre_timers";
    }
    // libre keeps transactions in hash tables of linked-list buckets. Over UDP a server
    // transaction lingers 64*T1 = 32 s after its final reply, so at 200 calls/s over 10,000
    // are alive; with 32 buckets every request and response walked hundreds of entries.
    constexpr std::uint32_t kTransactionBuckets = 16384;
    constexpr std::uint32_t kTcpConnectionBuckets = 1024;
    int err = sip_alloc(&stack, dns, kTransactionBuckets, kTransactionBuckets,
                        kTcpConnectionBuckets, owner->config_.software.c_str(), nullptr, nullptr);
    if (err) return "sip_alloc: " + errorText(err);
    struct Want {
      sip_transp tp;
      const char* name;
      const std::vector<std::string>* addresses;
    };
    for (const Want& want : {Want{SIP_TRANSP_UDP, "udp", &owner->config_.udp_listen},
                             Want{SIP_TRANSP_TCP, "tcp", &owner->config_.tcp_listen}}) {
      for (const std::string& text : *want.addresses) {
        sa laddr{};
        if (sa_decode(&laddr, text.c_str(), text.size()) != 0) {
          return std::string(want.name) + " listen address '" + text +
                 "': expected ip:port (e.g. 127.0.0.1:5060 or [::1]:5060)";
        }
        err = sip_transp_add(stack, want.tp, &laddr);
        if (err) return std::string(want.name) + " listen on " + text + ": " + errorText(err);
      }
    }
    // The transports that exist now are ours; read back their real addresses (port 0).
    for (const auto& [tp, name, addresses] :
         {std::tuple{SIP_TRANSP_UDP, "udp", &owner->config_.udp_listen},
          std::tuple{SIP_TRANSP_TCP, "tcp", &owner->config_.tcp_listen}}) {
      if (addresses->empty()) continue;
      sa bound{};
      if (sip_transp_laddr(stack, &bound, tp, nullptr) == 0) {
        owner->listening_.push_back({name, addressText(bound, false), sa_port(&bound)});
      }
    }
    err = sip_listen(&listener, stack, true, &Loop::onRequest, this);
    if (err) return "sip_listen: " + errorText(err);
    calls = std::make_unique<CallLegs>(
        stack, &owner->hooks_.calls,
        owner->listening_.empty() ? std::string("127.0.0.1") : owner->listening_.front().host);
    if (std::string e = calls->open(); !e.empty()) return e;
    err = mqueue_alloc(&queue, &Loop::onQueue, this);
    if (err) return "mqueue_alloc: " + errorText(err);
    tmr_init(&expiry_timer);
    return {};
  }

  void close() {
    tmr_cancel(&expiry_timer);
    calls.reset();
    listener = static_cast<sip_lsnr*>(mem_deref(listener));
    if (stack) {
      sip_close(stack, true);
      stack = static_cast<struct sip*>(mem_deref(stack));
    }
    dns = static_cast<dnsc*>(mem_deref(dns));
    queue = static_cast<mqueue*>(mem_deref(queue));
  }
};

SipServer::SipServer(SipServerConfig config, SipServerHooks hooks)
    : config_(std::move(config)), hooks_(std::move(hooks)) {}

SipServerStart SipServer::start(SipServerConfig config, SipServerHooks hooks) {
  if (auto error = validate(config.registrar)) return {nullptr, "registrar." + *error};
  if (config.udp_listen.empty() && config.tcp_listen.empty()) {
    return {nullptr, "no udp_listen or tcp_listen address"};
  }
  std::call_once(g_libre_once, [] { g_libre_init_error = libre_init(); });
  if (g_libre_init_error) return {nullptr, "libre_init: " + errorText(g_libre_init_error)};

  if (!hooks.now) hooks.now = [] { return Clock::now(); };
  if (!hooks.random) hooks.random = [] { return rand_u64(); };
  if (hooks.secret.empty()) {
    hooks.secret.resize(32);
    rand_bytes(reinterpret_cast<std::uint8_t*>(hooks.secret.data()), hooks.secret.size());
  }

  std::unique_ptr<SipServer> server(new SipServer(std::move(config), std::move(hooks)));
  std::promise<std::string> started;
  std::future<std::string> result = started.get_future();
  server->thread_ = std::thread([s = server.get(), p = std::move(started)]() mutable {
    s->run([&p](std::string error) { p.set_value(std::move(error)); });
  });
  std::string error = result.get();
  if (!error.empty()) {
    server->thread_.join();
    return {nullptr, std::move(error)};
  }
  return {std::move(server), {}};
}

void SipServer::run(std::function<void(std::string)> started) {
  // Each loop thread gets its own libre poll state (fd set, timers).
  if (const int err = re_thread_init()) {
    started("re_thread_init: " + errorText(err));
    return;
  }
  // libre's poll set holds 1024 descriptors unless told otherwise, and this loop also carries
  // the media streams (one socket each, two per bridged call): size it from the process's
  // descriptor limit, raised to its hard maximum first.
  if (const int err = fd_setsize(static_cast<int>(raiseDescriptorLimit()))) {
    started("fd_setsize: " + errorText(err));
    return;
  }
  loop_ = std::make_unique<Loop>();
  loop_->owner = this;
  loop_->registrar = std::make_unique<Registrar>(config_.registrar, hooks_.secret, hooks_.random);
  std::string error = loop_->open();
  if (!error.empty()) {
    loop_->close();
    loop_.reset();
    re_thread_close();
    started(std::move(error));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    mqueue_ = loop_->queue;
    accepting_ = true;
  }
  for (const ListenAddress& a : listening_) {
    spdlog::info("sip: listening on {} {}:{}", a.transport, a.host, a.port);
  }
  started({});

  const int err = re_main(nullptr);
  if (err) spdlog::error("sip: event loop ended: {}", errorText(err));

  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    mqueue_ = nullptr;
    tasks_.clear();
  }
  loop_->close();
  loop_.reset();
  re_thread_close();
}

void SipServer::drainTasks() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

bool SipServer::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (!accepting_) return false;
  tasks_.push_back(std::move(task));
  if (tasks_.size() == 1) (void)mqueue_push(static_cast<mqueue*>(mqueue_), kWakeTasks, nullptr);
  return true;
}

void SipServer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (accepting_) {
      accepting_ = false;
      (void)mqueue_push(static_cast<mqueue*>(mqueue_), kStop, nullptr);
    }
  }
  // From a hook on the loop thread the loop just ends; the owner's later stop() joins it.
  if (thread_.get_id() == std::this_thread::get_id()) return;
  std::lock_guard lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

SipServer::~SipServer() {
  stop();
}

std::uint16_t SipServer::port(std::string_view transport) const {
  for (const ListenAddress& a : listening_) {
    if (a.transport == transport) return a.port;
  }
  return 0;
}

Calls& SipServer::calls() {
  return *loop_->calls;
}

std::vector<Binding> SipServer::bindingsOf(std::string_view aor) {
  return loop_->registrar->lookup(aor, hooks_.now());
}

std::optional<std::vector<Binding>> SipServer::lookup(std::string aor,
                                                      std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<std::vector<Binding>>>();
  auto future = promise->get_future();
  const bool posted = post([this, promise, aor = std::move(aor)] {
    promise->set_value(loop_->registrar->lookup(aor, hooks_.now()));
  });
  if (!posted || future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  try {
    return future.get();
  } catch (const std::future_error&) {  // the loop stopped and dropped the task
    return std::nullopt;
  }
}

}  // namespace parley::sip
