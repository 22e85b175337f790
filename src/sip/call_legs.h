// CallLegs: the Calls implementation on libre's sipsess (module-internal; SipServer owns one).
// SipServer's request listener parses and polices a new INVITE and hands it to offer(); libre's
// sipsess socket handles everything inside dialogs (ACK, BYE, INFO, re-INVITE) and CANCELs of
// accepted INVITEs. Until the app first responds (progress/answer/reject) an inbound leg has no
// sipsess yet: the INVITE was answered 100 Trying, its retransmissions and a CANCEL are matched
// here (absorbRetransmission, cancel).
//
// Every Leg ends exactly once: endLeg() marks it, queues on_ended and a zero-delay reap that
// fires the hooks and releases the sipsess (which then sends BYE / CANCEL / ACK+BYE itself), so
// no hook runs inside a Calls function and no libre object is freed inside its own callback.
//
// Thread rule: loop thread only, like the libre `sip` stack it borrows.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "sip/calls.h"

struct sip;
struct sip_msg;
struct sipsess;
struct sipsess_sock;

namespace parley::sip {

class CallLegs final : public Calls {
 public:
  // *stack and *hooks must outlive this object. `local_host` is the host of our From URIs.
  CallLegs(struct ::sip* stack, const CallHooks* hooks, std::string local_host);
  ~CallLegs() override;
  CallLegs(const CallLegs&) = delete;
  CallLegs& operator=(const CallLegs&) = delete;

  // Creates the sipsess socket (its request listener must come after SipServer's). Error text
  // on failure.
  std::string open();

  // A new INVITE (no To tag) that passed the policy: answers 100 Trying and calls on_invite.
  void offer(const sip_msg& msg, InboundCall call);
  // True (and 100 Trying re-sent) when `msg` retransmits an INVITE still waiting for the app.
  bool absorbRetransmission(const sip_msg& msg);
  // True when `msg` (a CANCEL) matched an INVITE still waiting for the app: 200 to the CANCEL,
  // 487 to the INVITE, on_ended(Cancelled).
  bool cancel(const sip_msg& msg);

  void progress(LegId leg, const std::string& early_sdp) override;
  bool answer(LegId leg, const std::string& sdp) override;
  void reject(LegId leg, int code, const std::string& reason) override;
  void hangup(LegId leg) override;
  LegId dial(const DialRequest& request) override;
  std::size_t legCount() const override { return live_; }

  struct Leg;  // defined in call_legs.cpp

 private:
  friend struct Leg;
  Leg* find(LegId id);
  Leg& newLeg(bool outbound);
  void endLeg(Leg& leg, LegEnded how);
  void reap();
  static std::string offeredKey(const sip_msg& msg);

  struct ::sip* stack_;
  const CallHooks* hooks_;
  std::string local_host_;
  sipsess_sock* sock_ = nullptr;
  LegId next_id_ = 1;
  std::size_t live_ = 0;                          // legs not yet ended
  std::map<LegId, std::unique_ptr<Leg>> legs_;    // live and ended-but-not-reaped legs
  std::unordered_map<std::string, LegId> offered_;  // Call-ID + branch of legs awaiting the app
  std::deque<std::pair<LegId, LegEnded>> ended_;  // on_ended hooks not yet fired
  LoopTimer reaper_;                              // zero-delay: fires ended_, frees sessions
};

}  // namespace parley::sip
