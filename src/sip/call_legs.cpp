#include "sip/call_legs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sip/dtmf_info.h"
#include "sip/libre.h"

namespace parley::sip {
namespace {

constexpr const char* kContactUser = "parley";
constexpr const char* kSdpType = "application/sdp";
constexpr std::size_t kMaxInfoBody = 1024;  // more than any DTMF body; the rest is ignored
constexpr std::size_t kMaxHeaderText = 256;

std::string plText(const pl& p) {
  return p.p ? std::string(p.p, p.l) : std::string();
}

std::string bodyOf(const sip_msg& msg, std::size_t max = SIZE_MAX) {
  if (!msg.mb) return {};
  const std::size_t left = std::min(mbuf_get_left(msg.mb), max);
  return std::string(reinterpret_cast<const char*>(mbuf_buf(msg.mb)), left);
}

// An mbuf holding `text`, positioned at its start; null for empty text.
mbuf* mbufOf(const std::string& text) {
  if (text.empty()) return nullptr;
  mbuf* mb = mbuf_alloc(text.size());
  if (!mb) return nullptr;
  if (mbuf_write_mem(mb, reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) != 0) {
    return static_cast<mbuf*>(mem_deref(mb));
  }
  mb->pos = 0;
  return mb;
}

// Text we place in a header we generate: printable ASCII without the characters that would
// end a quoted string or a URI.
std::string headerSafe(std::string_view s, std::string_view forbidden) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || forbidden.find(c) != std::string_view::npos) continue;
    out.push_back(c);
    if (out.size() >= kMaxHeaderText) break;
  }
  return out;
}

const char* defaultReason(int code) {
  switch (code) {
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 480:
      return "Temporarily Unavailable";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 503:
      return "Service Unavailable";
    case 603:
      return "Decline";
    default:
      return "Rejected";
  }
}

}  // namespace

struct CallLegs::Leg {
  enum class State : unsigned char {
    Offered,      // inbound, 100 Trying only: no sipsess yet, `invite` held
    Early,        // inbound, 1xx sent through sipsess
    Answered,     // inbound, 200 sent, waiting for the ACK
    Calling,      // outbound, INVITE sent
    Established,  // ACK received (inbound) or sent (outbound)
  };

  CallLegs* owner = nullptr;
  LegId id = 0;
  bool outbound = false;
  State state = State::Offered;
  bool ended = false;
  sipsess* sess = nullptr;
  const sip_msg* invite = nullptr;  // Offered: a reference on the INVITE
  std::string offered_key;
  std::string sdp;       // our current SDP: answers re-INVITEs
  std::string peer_sdp;  // the peer's last SDP
  std::string auth_user;
  std::string auth_password;
  LoopTimer dial_timer;
  bool have_info_cseq = false;  // the last INFO seen: its retransmissions are not reported
  std::uint32_t info_cseq = 0;

  static Leg* live(void* arg) {
    auto* leg = static_cast<Leg*>(arg);
    return leg->ended ? nullptr : leg;
  }

  // A re-INVITE. With SDP the app answers it (on_reoffer); without, our current SDP goes as
  // the offer in the 2xx and the answer comes in the ACK (onAnswer). EPROTO makes libre refuse
  // it with 488 and keep the session as it was.
  static int onOffer(mbuf** descp, const sip_msg* msg, void* arg) {
    Leg* leg = live(arg);
    if (!leg) return EPROTO;
    if (msg && mbuf_get_left(msg->mb) > 0) {
      std::string offer = bodyOf(*msg);
      if (const auto& on_reoffer = leg->owner->hooks_->on_reoffer) {
        std::string answer = on_reoffer(leg->id, offer);
        if (answer.empty()) return EPROTO;
        leg->sdp = std::move(answer);
      }
      leg->peer_sdp = std::move(offer);
    }
    *descp = mbufOf(leg->sdp);
    return 0;
  }
  // The peer's answer: in our outbound INVITE's 2xx, or in the ACK of an offer we sent in a
  // 2xx (late offer, offerless re-INVITE).
  static int onAnswer(const sip_msg* msg, void* arg) {
    Leg* leg = live(arg);
    if (!leg || !msg) return 0;
    std::string sdp = mbuf_get_left(msg->mb) > 0 ? bodyOf(*msg) : std::string();
    if (!sdp.empty()) leg->peer_sdp = sdp;
    if (leg->outbound && leg->state == State::Calling) return 0;  // on_answered carries it
    if (leg->owner->hooks_->on_sdp_answer) leg->owner->hooks_->on_sdp_answer(leg->id, sdp);
    return 0;
  }
  static void onProgress(const sip_msg* msg, void* arg) {
    Leg* leg = live(arg);
    if (!leg || !msg || msg->scode <= 100) return;
    if (leg->owner->hooks_->on_progress) leg->owner->hooks_->on_progress(leg->id, msg->scode);
  }
  static void onEstablished(const sip_msg* /*msg*/, void* arg) {
    Leg* leg = live(arg);
    if (!leg) return;
    leg->state = State::Established;
    leg->dial_timer.cancel();
    const CallHooks& hooks = *leg->owner->hooks_;
    if (leg->outbound) {
      if (hooks.on_answered) hooks.on_answered(leg->id, leg->peer_sdp);
    } else if (hooks.on_established) {
      hooks.on_established(leg->id);
    }
  }
  // INFO is answered statelessly (RFC 3261 8.2.7): a server transaction would keep a 32 s
  // timer and a transaction-table entry per key press (see libre_timers.h). A retransmission (the same CSeq, our 200 lost) gets the same answer again
  // and is not reported twice.
  static void onInfo(struct ::sip* stack, const sip_msg* msg, void* arg) {
    const DtmfInfo info =
        parseDtmfInfo(plText(msg->ctyp.type), plText(msg->ctyp.subtype), bodyOf(*msg, kMaxInfoBody));
    if (info.kind == DtmfInfoKind::NotDtmf && mbuf_get_left(msg->mb) > 0) {
      (void)sip_replyf(stack, msg, 415, "Unsupported Media Type",
                       "Accept: application/dtmf-relay, application/dtmf\r\n"
                       "Content-Length: 0\r\n\r\n");
      return;
    }
    (void)sip_reply(stack, msg, 200, "OK");
    Leg* leg = live(arg);
    if (!leg) return;
    if (leg->have_info_cseq && msg->cseq.num == leg->info_cseq) return;  // a retransmission
    leg->have_info_cseq = true;
    leg->info_cseq = msg->cseq.num;
    if (info.kind == DtmfInfoKind::Key && leg->owner->hooks_->on_info_dtmf) {
      leg->owner->hooks_->on_info_dtmf(leg->id, info.key);
    }
  }
  // libre ended the session (peer BYE or CANCEL, a final error, a timeout). It has already
  // swapped our handlers out; the sipsess is released by the reaper.
  static void onClose(int err, const sip_msg* msg, void* arg) {
    Leg* leg = live(arg);
    if (!leg) return;
    LegEnded how;
    if (leg->state == State::Offered || leg->state == State::Early) {
      how = {LegEnd::Cancelled, true, 487, "cancelled by the caller"};
    } else if (leg->state == State::Calling) {
      if (msg && msg->scode >= 300) {
        how = {LegEnd::Failed, true, msg->scode, plText(msg->reason)};
      } else if (err == ETIMEDOUT) {
        how = {LegEnd::Failed, false, 408, "no response"};
      } else {
        how = {LegEnd::Failed, false, 503, err ? std::strerror(err) : "session failed"};
      }
    } else if (err == ECONNRESET) {
      how = {LegEnd::Bye, true, 0, "BYE"};
    } else if (err == ETIMEDOUT && leg->state == State::Answered) {
      how = {LegEnd::Failed, false, 408, "no ACK for our 200"};
    } else {
      how = {LegEnd::Failed, false, 500, err ? std::strerror(err) : "session failed"};
    }
    leg->owner->endLeg(*leg, std::move(how));
  }
  static int onAuth(char** user, char** password, const char* /*realm*/, void* arg) {
    auto* leg = static_cast<Leg*>(arg);
    if (leg->auth_user.empty()) return EAUTH;
    int err = str_dup(user, leg->auth_user.c_str());
    err |= str_dup(password, leg->auth_password.c_str());
    return err;
  }
};

namespace {
constexpr const char* kAllowHeader =
    "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO\r\n";

// sipsess_conn_h: never reached (SipServer's listener takes every new INVITE first).
void refuseUnexpected(const sip_msg* msg, void* arg) {
  (void)sip_treply(nullptr, static_cast<struct ::sip*>(arg), msg, 500, "Server Internal Error");
}
}  // namespace

CallLegs::CallLegs(struct ::sip* stack, const CallHooks* hooks, std::string local_host)
    : stack_(stack), hooks_(hooks), local_host_(std::move(local_host)) {}

CallLegs::~CallLegs() {
  reaper_.cancel();
  for (auto& [id, leg] : legs_) {
    leg->dial_timer.cancel();
    mem_deref(const_cast<sip_msg*>(leg->invite));
    mem_deref(leg->sess);
  }
  legs_.clear();
  mem_deref(sock_);
}

std::string CallLegs::open() {
  // Two sessions per bridged call, looked up by Call-ID on every in-dialog request: enough
  // buckets that a few thousand calls keep the lists short.
  constexpr std::uint32_t kSessionBuckets = 4096;
  const int err = sipsess_listen(&sock_, stack_, kSessionBuckets, &refuseUnexpected, stack_);
  return err ? std::string("sipsess_listen: ") + std::strerror(err) : std::string();
}

std::string CallLegs::offeredKey(const sip_msg& msg) {
  return plText(msg.callid) + '\n' + plText(msg.via.branch);
}

CallLegs::Leg* CallLegs::find(LegId id) {
  const auto it = legs_.find(id);
  return it == legs_.end() || it->second->ended ? nullptr : it->second.get();
}

CallLegs::Leg& CallLegs::newLeg(bool outbound) {
  auto leg = std::make_unique<Leg>();
  leg->owner = this;
  leg->id = next_id_++;
  leg->outbound = outbound;
  leg->state = outbound ? Leg::State::Calling : Leg::State::Offered;
  Leg& ref = *leg;
  legs_.emplace(ref.id, std::move(leg));
  ++live_;
  return ref;
}

void CallLegs::endLeg(Leg& leg, LegEnded how) {
  if (leg.ended) return;
  leg.ended = true;
  --live_;
  leg.dial_timer.cancel();
  if (!leg.offered_key.empty()) offered_.erase(leg.offered_key);
  spdlog::debug("sip: leg {} ended: {} {} {}", leg.id, toString(how.how), how.code, how.reason);
  ended_.emplace_back(leg.id, std::move(how));
  if (!reaper_.pending()) reaper_.start(std::chrono::milliseconds(0), [this] { reap(); });
}

void CallLegs::reap() {
  // Hooks may hang up other legs; those join the queue and are fired in this same pass. Every
  // ended leg passes through the queue exactly once (endLeg), so it names the legs to release.
  std::vector<LegId> done;
  while (!ended_.empty()) {
    auto [id, how] = std::move(ended_.front());
    ended_.pop_front();
    done.push_back(id);
    if (hooks_->on_ended) hooks_->on_ended(id, how);
  }
  for (LegId id : done) {
    auto node = legs_.extract(id);
    if (node.empty()) continue;
    Leg& leg = *node.mapped();
    mem_deref(const_cast<sip_msg*>(leg.invite));
    leg.invite = nullptr;
    // Releasing a live sipsess makes libre finish it: CANCEL an INVITE in progress, wait for
    // the ACK of a 200 and BYE, BYE an established dialog. Our handlers are never called again.
    leg.sess = static_cast<sipsess*>(mem_deref(leg.sess));
  }
}

void CallLegs::offer(const sip_msg& msg, InboundCall call) {
  (void)sip_reply(stack_, &msg, 100, "Trying");
  Leg& leg = newLeg(false);
  leg.invite = static_cast<const sip_msg*>(mem_ref(const_cast<sip_msg*>(&msg)));
  leg.offered_key = offeredKey(msg);
  offered_[leg.offered_key] = leg.id;
  leg.peer_sdp = call.sdp;
  call.leg = leg.id;
  const LegId id = leg.id;
  if (hooks_->on_invite) {
    hooks_->on_invite(call);
  } else {
    reject(id, 480, "Temporarily Unavailable");
  }
}

bool CallLegs::absorbRetransmission(const sip_msg& msg) {
  const auto it = offered_.find(offeredKey(msg));
  if (it == offered_.end()) return false;
  (void)sip_reply(stack_, &msg, 100, "Trying");
  return true;
}

bool CallLegs::cancel(const sip_msg& msg) {
  const auto it = offered_.find(offeredKey(msg));
  if (it == offered_.end()) return false;
  Leg* leg = find(it->second);
  if (!leg || leg->state != Leg::State::Offered) return false;
  (void)sip_treply(nullptr, stack_, &msg, 200, "OK");
  (void)sip_treply(nullptr, stack_, leg->invite, 487, "Request Terminated");
  endLeg(*leg, {LegEnd::Cancelled, true, 487, "cancelled by the caller"});
  return true;
}

void CallLegs::progress(LegId id, const std::string& early_sdp) {
  Leg* leg = find(id);
  if (!leg || leg->outbound) return;
  const std::uint16_t code = early_sdp.empty() ? 180 : 183;
  const char* reason = early_sdp.empty() ? "Ringing" : "Session Progress";
  if (!early_sdp.empty()) leg->sdp = early_sdp;
  mbuf* desc = mbufOf(early_sdp);
  int err = 0;
  if (leg->state == Leg::State::Offered) {
    err = sipsess_accept(&leg->sess, sock_, leg->invite, code, reason, kContactUser, kSdpType,
                         desc, nullptr, nullptr, false, &Leg::onOffer, &Leg::onAnswer,
                         &Leg::onEstablished, &Leg::onInfo, nullptr, &Leg::onClose, leg, "%s",
                         kAllowHeader);
    if (!err) {
      leg->state = Leg::State::Early;
      offered_.erase(leg->offered_key);
      leg->offered_key.clear();
    }
  } else if (leg->state == Leg::State::Early) {
    err = sipsess_progress(leg->sess, code, reason, desc, "%s", kAllowHeader);
  }
  mem_deref(desc);
  if (err) spdlog::warn("sip: leg {}: sending {} failed: {}", id, code, std::strerror(err));
}

bool CallLegs::answer(LegId id, const std::string& sdp) {
  Leg* leg = find(id);
  if (!leg || leg->outbound) return false;
  if (leg->state == Leg::State::Answered || leg->state == Leg::State::Established) return true;
  leg->sdp = sdp;
  mbuf* desc = mbufOf(sdp);
  int err = 0;
  if (leg->state == Leg::State::Offered) {
    err = sipsess_accept(&leg->sess, sock_, leg->invite, 200, "OK", kContactUser, kSdpType, desc,
                         nullptr, nullptr, false, &Leg::onOffer, &Leg::onAnswer,
                         &Leg::onEstablished, &Leg::onInfo, nullptr, &Leg::onClose, leg, "%s",
                         kAllowHeader);
    if (!err) {
      offered_.erase(leg->offered_key);
      leg->offered_key.clear();
    }
  } else {
    err = sipsess_answer(leg->sess, 200, "OK", desc, "%s", kAllowHeader);
  }
  mem_deref(desc);
  if (err) {
    spdlog::warn("sip: leg {}: sending 200 failed: {}", id, std::strerror(err));
    return false;
  }
  leg->state = Leg::State::Answered;
  return true;
}

void CallLegs::reject(LegId id, int code, const std::string& reason) {
  Leg* leg = find(id);
  if (!leg) return;
  if (leg->outbound || (leg->state != Leg::State::Offered && leg->state != Leg::State::Early)) {
    hangup(id);
    return;
  }
  if (code < 300 || code > 699) code = 500;
  std::string phrase = headerSafe(reason, "");
  if (phrase.empty()) phrase = defaultReason(code);
  const auto status = static_cast<std::uint16_t>(code);
  if (leg->state == Leg::State::Offered) {
    (void)sip_treply(nullptr, stack_, leg->invite, status, phrase.c_str());
  } else {
    (void)sipsess_reject(leg->sess, status, phrase.c_str(), nullptr);
  }
  endLeg(*leg, {LegEnd::LocalHangup, false, code, phrase});
}

void CallLegs::hangup(LegId id) {
  Leg* leg = find(id);
  if (!leg) return;
  if (!leg->outbound && (leg->state == Leg::State::Offered || leg->state == Leg::State::Early)) {
    const auto status = static_cast<std::uint16_t>(480);
    if (leg->state == Leg::State::Offered) {
      (void)sip_treply(nullptr, stack_, leg->invite, status, "Temporarily Unavailable");
    } else {
      (void)sipsess_reject(leg->sess, status, "Temporarily Unavailable", nullptr);
    }
  }
  // BYE, CANCEL (or ACK+BYE for a 200 racing the CANCEL) follow when the reaper releases the
  // sipsess.
  endLeg(*leg, {LegEnd::LocalHangup, false, 0, "hangup"});
}

LegId CallLegs::dial(const DialRequest& request) {
  Leg& leg = newLeg(true);
  const LegId id = leg.id;
  leg.sdp = request.sdp_offer;
  leg.auth_user = request.auth_user;
  leg.auth_password = request.auth_password;

  const std::string target = headerSafe(request.target, "<>\" ");
  std::string user = headerSafe(request.from_user, "<>\"@:; ?&=$,/\\");
  if (user.empty()) user = "anonymous";
  const std::string display = headerSafe(request.from_display, "\"\\");
  const bool v6 = local_host_.find(':') != std::string::npos;
  const std::string from_uri =
      "sip:" + user + "@" + (v6 ? "[" + local_host_ + "]" : local_host_);
  if (target.empty() || target != request.target) {
    endLeg(leg, {LegEnd::Failed, false, 416, "unusable target URI"});
    return id;
  }
  mbuf* desc = mbufOf(request.sdp_offer);
  const int err = sipsess_connect(
      &leg.sess, sock_, target.c_str(), display.empty() ? nullptr : display.c_str(),
      from_uri.c_str(), kContactUser, nullptr, 0, kSdpType, desc, &Leg::onAuth, &leg, false,
      &Leg::onOffer, &Leg::onAnswer, &Leg::onProgress, &Leg::onEstablished, &Leg::onInfo, nullptr,
      &Leg::onClose, &leg, "%s", kAllowHeader);
  mem_deref(desc);
  if (err) {
    leg.sess = nullptr;
    endLeg(leg, {LegEnd::Failed, false, err == EINVAL ? 416 : 503,
                 std::string("cannot send INVITE: ") + std::strerror(err)});
    return id;
  }
  if (!leg.ended) {
    leg.dial_timer.start(request.timeout, [this, id] {
      Leg* l = find(id);
      if (l && l->state == Leg::State::Calling) {
        endLeg(*l, {LegEnd::Failed, false, 408, "no answer within the dial timeout"});
      }
    });
  }
  return id;
}

}  // namespace parley::sip
