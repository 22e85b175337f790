// Call legs: the INVITE side of SipServer, a back-to-back user agent's signalling half.
//
// Each leg is one INVITE dialog with one peer: an inbound leg is a caller's INVITE to us, an
// outbound leg is our INVITE to an agent's phone (or a trunk). Legs carry SDP as opaque text;
// the media layer makes and reads it. libre's sipsess does the transaction work
// (retransmissions, ACK, CANCEL -> 487, BYE, re-INVITE answered with our last SDP; the server
// sends 100 Trying itself), so every order the network can produce ends in exactly one on_ended
// per leg:
//   - a caller CANCELs while we have not answered          -> on_ended(Cancelled, by_peer)
//   - a peer's BYE                                         -> on_ended(Bye, by_peer)
//   - our hangup()                                         -> on_ended(LocalHangup, !by_peer)
//   - an outbound INVITE gets a final 3xx-6xx or times out -> on_ended(Failed, code)
//   - an outbound leg answers after we hung up it (200 racing our CANCEL): libre ACKs and we
//     BYE it; the app saw on_ended(LocalHangup) already and hears nothing more.
//
// Inbound policy, applied by SipServer before on_invite: a source that `is_trusted_source`
// accepts passes; any other must authenticate with digest as a registrar user (407 challenge;
// wrong credentials count towards the registrar's rate limit and get 403). INVITEs without a
// usable Request-URI get 400.
//
// Thread rule: everything here runs on the SIP loop thread. Calls& comes from
// SipServer::calls() and is used only inside hooks and tasks given to SipServer::post();
// SipServer::bindingsOf(aor) (same thread) lists the contacts to dial for an agent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sip/loop_timer.h"

namespace parley::sip {

using LegId = std::uint64_t;  // from 1, never reused by one server

struct InboundCall {
  LegId leg = 0;
  std::string request_user;  // user part of the Request-URI ("100")
  std::string request_host;  // host part, lower case, without port
  std::string from_user;     // user part of From
  std::string from_display;  // display name of From, may be empty
  std::string from_uri;      // full From URI
  std::string call_id;
  std::string source;        // "ip:port" the INVITE came from
  std::string transport;     // "udp" or "tcp"
  std::string sdp;           // the offer; empty for an INVITE without SDP (a late offer:
                             // answer() with our offer, on_sdp_answer brings theirs)
  std::string authenticated_user;  // digest username, empty for a trusted source
};

enum class LegEnd : std::uint8_t {
  Cancelled,    // the caller cancelled before we answered
  Bye,          // the peer hung up an established leg
  LocalHangup,  // we ended it (hangup() or reject())
  Failed,       // outbound: final non-2xx response, timeout or transport error
};
std::string_view toString(LegEnd e);

struct LegEnded {
  LegEnd how = LegEnd::LocalHangup;
  bool by_peer = false;  // the peer ended it (Cancelled, Bye, Failed with a response)
  int code = 0;          // Failed: the SIP status (408 for a timeout, 503 for transport)
  std::string reason;    // reason phrase or a short description
};

struct DialRequest {
  std::string target;          // Request-URI (an agent's registered contact, a trunk URI)
  std::string from_user;       // caller id user shown on the agent's phone ("0701234567")
  std::string from_display;    // display name ("Sales: 0701234567")
  std::string sdp_offer;       // our SDP offer
  std::chrono::milliseconds timeout{30'000};  // no final answer within: CANCEL, Failed 408
  // Digest credentials for a trunk that challenges (401/407); empty: none.
  std::string auth_user;
  std::string auth_password;
};

struct CallHooks {
  // A new inbound INVITE passed the source policy. The handler must settle it (answer, reject,
  // or later one of them) unless the caller cancels first.
  std::function<void(const InboundCall&)> on_invite;
  // Outbound leg: a provisional response (180 / 183).
  std::function<void(LegId, int code)> on_progress;
  // Outbound leg: the peer answered (2xx, ACK sent); `sdp` is its answer.
  std::function<void(LegId, const std::string& sdp)> on_answered;
  // Inbound leg: the ACK for our 2xx arrived.
  std::function<void(LegId)> on_established;
  // The peer's SDP answer to an offer we put in a 2xx: the ACK of an INVITE that came without
  // SDP (a late offer; before on_established) or of a re-INVITE without SDP. Empty when the
  // ACK carried none.
  std::function<void(LegId, const std::string& sdp)> on_sdp_answer;
  // An established leg's peer sent a new offer (a re-INVITE: hold, resume, a new address).
  // Returns our answer; empty refuses it with 488 and the session stays as it was. Unset: our
  // last SDP answers (the media does not follow).
  std::function<std::string(LegId, const std::string& sdp)> on_reoffer;
  // The leg is over; exactly once per leg, never inside a Calls function (deferred to the loop).
  std::function<void(LegId, const LegEnded&)> on_ended;
  // A DTMF key sent by SIP INFO (application/dtmf-relay "Signal=5" or application/dtmf "5"),
  // answered 200. Keys other than 0-9 * # A-D are answered 200 and not reported.
  std::function<void(LegId, char key)> on_info_dtmf;
};

class Calls {
 public:
  virtual ~Calls() = default;

  // Inbound: 180 Ringing, or 183 with `early_sdp` when it is not empty.
  virtual void progress(LegId leg, const std::string& early_sdp) = 0;
  // Inbound: 200 OK with our SDP answer. False if the leg is gone.
  virtual bool answer(LegId leg, const std::string& sdp) = 0;
  // Inbound, not yet answered: a final response (403, 404, 480, 486, 488, 503 ...).
  virtual void reject(LegId leg, int code, const std::string& reason) = 0;
  // Ends the leg whatever its state: BYE when established, CANCEL for an unanswered outbound
  // leg, 480 for an unanswered inbound one. on_ended(LocalHangup) follows. Unknown ids: no-op.
  virtual void hangup(LegId leg) = 0;
  // Starts an outbound leg. Returns its id; every outcome (even an unreachable target) is
  // reported through the hooks, never from inside this call.
  virtual LegId dial(const DialRequest& request) = 0;
  // Number of live legs (for stats and tests).
  virtual std::size_t legCount() const = 0;
};

}  // namespace parley::sip
