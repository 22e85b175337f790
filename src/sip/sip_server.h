// The SIP server: libre's SIP stack on its own thread, listening on UDP and TCP, answering
// REGISTER through the Registrar core, OPTIONS with 200, and INVITE dialogs through Calls
// (calls.h: inbound legs after the source policy, outbound legs from dial()). Requests outside a
// dialog that nothing handles get 501; in-dialog requests for unknown dialogs get 481.
// Malformed requests get 400 when they can be answered at all and are dropped otherwise;
// nothing a peer sends can stop the server.
//
// Thread rule: SipServer's public functions may be called from any thread. Everything libre
// (the stack, sockets, timers) and the Registrar live on the server's own loop thread, which
// runs libre's re_main; other threads reach it only through post() (a libre mqueue). Handlers
// given in SipServerHooks run on that loop thread and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sip/calls.h"
#include "sip/registrar.h"

namespace parley::sip {

struct SipServerConfig {
  // "ip:port" ("[v6]:port" for IPv6); port 0 binds a free port (see SipServer::listening()).
  std::vector<std::string> udp_listen{"127.0.0.1:5060"};
  std::vector<std::string> tcp_listen{"127.0.0.1:5060"};
  RegistrarConfig registrar;
  std::string software = "Parley";  // Server header
  // Requests from a source locked out by the registrar's rate limit: false answers 403,
  // true drops them silently (cheaper under a flood, gives an attacker less to measure).
  bool drop_rate_limited = false;
};

struct SipServerHooks {
  // Registrar time; defaults to std::chrono::steady_clock::now.
  std::function<TimePoint()> now;
  // Nonce secret and salts; default to libre's OpenSSL-backed random source.
  std::string secret;
  std::function<std::uint64_t()> random;
  // An AOR became reachable (first contact registered) or unreachable (last one gone).
  std::function<void(const AvailabilityEvent&)> on_availability;
  // INVITE dialogs (calls.h); run on the loop thread like every hook.
  CallHooks calls;
  // True for a source IP ("127.0.0.1", "::1") whose INVITEs need no digest authentication
  // (a trunk, a gateway). Unset: nothing is trusted, every INVITE must authenticate.
  std::function<bool(std::string_view source_ip)> is_trusted_source;
};

struct ListenAddress {
  std::string transport;  // "udp" or "tcp"
  std::string host;
  std::uint16_t port = 0;
};

class SipServer;

struct SipServerStart {
  std::unique_ptr<SipServer> server;  // null on failure
  std::string error;                  // why it failed, naming the address or setting
};

class SipServer {
 public:
  // Validates `config`, starts the loop thread and binds every address. Returns once the
  // server is serving or has failed (then nothing is left running).
  static SipServerStart start(SipServerConfig config, SipServerHooks hooks = {});

  // Stops the loop and joins it (unless called on the loop thread itself, from a hook: then
  // the loop ends and a later stop() or the destructor joins it). Idempotent; any thread.
  ~SipServer();
  void stop();

  SipServer(const SipServer&) = delete;
  SipServer& operator=(const SipServer&) = delete;

  // One entry per transport (its first configured address), with the real port where the
  // config asked for 0.
  const std::vector<ListenAddress>& listening() const { return listening_; }
  // The first bound port of `transport` ("udp" or "tcp"); 0 if none.
  std::uint16_t port(std::string_view transport) const;

  // Runs `task` on the loop thread. False (and `task` is dropped) once the server is stopping.
  bool post(std::function<void()> task);

  // The AOR's live bindings, read on the loop thread; nullopt if the loop did not answer within
  // `timeout` (stopping, or overloaded).
  std::optional<std::vector<Binding>> lookup(std::string aor, std::chrono::milliseconds timeout);

  // Loop thread only (inside hooks and post()ed tasks): the call legs.
  Calls& calls();
  // Loop thread only: the AOR's live bindings now (each is a contact to dial).
  std::vector<Binding> bindingsOf(std::string_view aor);

  struct Loop;  // loop-thread state (libre objects); defined in sip_server.cpp

 private:
  SipServer(SipServerConfig config, SipServerHooks hooks);
  void run(std::function<void(std::string)> started);
  void drainTasks();
  friend struct Loop;

  SipServerConfig config_;
  SipServerHooks hooks_;
  std::vector<ListenAddress> listening_;  // written by the loop before start() returns
  std::unique_ptr<Loop> loop_;            // touched only on the loop thread
  std::thread thread_;

  std::mutex join_mutex_;  // serialises joining thread_ between concurrent stop() calls
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_
  bool accepting_ = false;                   // guarded by mutex_: the mqueue exists
  void* mqueue_ = nullptr;                   // guarded by mutex_: libre's struct mqueue*
};

}  // namespace parley::sip
