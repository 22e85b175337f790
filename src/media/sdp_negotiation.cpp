#include "media/sdp_negotiation.h"

#include <cstring>

#include "media/rtp_libre.h"

namespace parley::media {
namespace {

constexpr const char* kProto = "RTP/AVP";

struct Session {
  MemRef<sdp_session> session;
  sdp_media* media = nullptr;  // owned by session
};

// A session with our audio line: `codecs` (in order) and telephone-event.
bool buildSession(Session& s, const SdpParams& params, std::uint16_t port,
                  const std::vector<Codec>& codecs, int telephone_event_pt) {
  sa laddr{};
  if (sa_set_str(&laddr, params.address.c_str(), 0) != 0) return false;
  if (sdp_session_alloc(s.session.out(), &laddr) != 0) return false;
  if (sdp_media_add(&s.media, s.session.get(), "audio", port, kProto) != 0) return false;
  for (Codec c : codecs) {
    const std::string id = std::to_string(codecPayloadType(c));
    if (sdp_format_add(nullptr, s.media, false, id.c_str(), codecName(c), kSampleRate, 1, nullptr,
                       nullptr, nullptr, false, nullptr) != 0) {
      return false;
    }
  }
  if (telephone_event_pt >= 0) {
    const std::string id = std::to_string(telephone_event_pt);
    if (sdp_format_add(nullptr, s.media, false, id.c_str(), telev_rtpfmt, kSampleRate, 1, nullptr,
                       nullptr, nullptr, false, "0-15") != 0) {
      return false;
    }
  }
  return true;
}

std::string encode(Session& s) {
  MemRef<mbuf> mb;
  if (sdp_encode(mb.out(), s.session.get(), true) != 0) return {};
  return std::string(reinterpret_cast<const char*>(mbuf_buf(mb.get())), mbuf_get_left(mb.get()));
}

SdpOutcome fail(SdpError e, std::string message) {
  SdpOutcome out;
  out.error = e;
  out.message = std::move(message);
  return out;
}

// Decodes `text` into s (offer: true for a remote offer) and checks the audio line.
SdpOutcome decode(Session& s, std::string_view text, bool offer) {
  if (text.empty() || text.size() > kMaxSdpBytes) return fail(SdpError::Malformed, "empty or oversized SDP");
  if (text.substr(0, 2) != "v=") return fail(SdpError::Malformed, "SDP does not start with v=");
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return fail(SdpError::Malformed, "NUL byte in SDP");
  }
  MemRef<mbuf> mb(mbuf_alloc(text.size()));
  if (!mb || mbuf_write_mem(mb.get(), reinterpret_cast<const std::uint8_t*>(text.data()),
                            text.size()) != 0) {
    return fail(SdpError::Malformed, "out of memory");
  }
  mb.get()->pos = 0;
  const int err = sdp_decode(s.session.get(), mb.get(), offer);
  if (err != 0) return fail(SdpError::Malformed, std::string("SDP: ") + std::strerror(err));
  if (sdp_media_rport(s.media) == 0) {
    return fail(SdpError::NoCommonCodec, "no RTP/AVP audio stream offered or accepted");
  }
  const sa* raddr = sdp_media_raddr(s.media);
  if (!raddr) return fail(SdpError::Malformed, "no connection address");
  SdpOutcome out;
  // c=0.0.0.0 is the old way to put a call on hold (RFC 3264 section 8.4): send nothing.
  // libre leaves the address unset both for c=0.0.0.0 and for no c= line at all.
  const bool hold_address = sa_af(raddr) == AF_INET && !sa_isset(raddr, SA_ADDR) &&
                            text.find("c=IN IP4 0.0.0.0") != std::string_view::npos;
  if (!hold_address && !sa_isset(raddr, SA_ADDR)) {
    return fail(SdpError::Malformed, "no connection address");
  }
  char ip[64] = {};
  if (sa_ntop(raddr, ip, sizeof ip) != 0) return fail(SdpError::Malformed, "bad connection address");
  out.media.address = ip;
  out.media.port = sa_port(raddr);
  const int dir = sdp_media_dir(s.media);
  out.media.may_send = (dir & SDP_SENDONLY) != 0 && !hold_address;
  out.media.peer_sends = (dir & SDP_RECVONLY) != 0;
  return out;
}

const sdp_format* findFormat(const sdp_media* m, bool local, const char* name) {
  return sdp_media_format(m, local, nullptr, -1, name, kSampleRate, -1);
}

}  // namespace

const char* codecName(Codec codec) {
  return codec == Codec::Pcmu ? "PCMU" : "PCMA";
}
std::uint8_t codecPayloadType(Codec codec) {
  return codec == Codec::Pcmu ? 0 : 8;
}

SdpOutcome parseOffer(std::string_view offer, const SdpParams& params) {
  Session s;
  if (!buildSession(s, params, 0, params.codecs, params.telephone_event_pt)) {
    return fail(SdpError::Malformed, "cannot build SDP session");
  }
  SdpOutcome out = decode(s, offer, true);
  if (out.error != SdpError::None) return out;
  // libre marks each local format the offer also has as supported (`sup`).
  bool found = false;
  for (Codec c : params.codecs) {
    const sdp_format* f = findFormat(s.media, true, codecName(c));
    if (f && f->sup) {
      out.media.codec = c;
      found = true;
      break;
    }
  }
  if (!found) return fail(SdpError::NoCommonCodec, "no common codec (we offer PCMU/PCMA)");
  const sdp_format* te = findFormat(s.media, true, telev_rtpfmt);
  // In an offer libre renumbers our format to the peer's payload type.
  if (te && te->sup && te->pt >= 0 && te->pt <= 127) out.media.telephone_event_pt = te->pt;
  return out;
}

std::string encodeAnswer(const SdpParams& params, std::uint16_t port, const RemoteMedia& agreed) {
  Session s;
  if (!buildSession(s, params, port, {agreed.codec}, agreed.telephone_event_pt)) return {};
  // The mirror of the offer: sendonly gets recvonly, recvonly sendonly, inactive inactive.
  const int dir = (agreed.may_send ? SDP_SENDONLY : 0) | (agreed.peer_sends ? SDP_RECVONLY : 0);
  sdp_media_set_ldir(s.media, static_cast<sdp_dir>(dir));
  return encode(s);
}

std::string encodeOffer(const SdpParams& params, std::uint16_t port) {
  Session s;
  if (!buildSession(s, params, port, params.codecs, params.telephone_event_pt)) return {};
  return encode(s);
}

SdpOutcome parseAnswer(std::string_view answer, const SdpParams& params) {
  Session s;
  if (!buildSession(s, params, 0, params.codecs, params.telephone_event_pt)) {
    return fail(SdpError::Malformed, "cannot build SDP session");
  }
  // libre decodes an answer against the media lines of an offer it encoded.
  if (encode(s).empty()) return fail(SdpError::Malformed, "cannot encode our offer");
  SdpOutcome out = decode(s, answer, false);
  if (out.error != SdpError::None) return out;
  bool found = false;
  for (le* e = list_head(sdp_media_format_lst(s.media, false)); e; e = e->next) {
    const auto* f = static_cast<const sdp_format*>(e->data);
    if (!f->sup) continue;
    for (Codec c : params.codecs) {
      if (f->pt == codecPayloadType(c)) {
        out.media.codec = c;
        found = true;
        break;
      }
    }
    if (found) break;
  }
  if (!found) return fail(SdpError::NoCommonCodec, "answer has none of our codecs");
  const sdp_format* te = sdp_media_rformat(s.media, telev_rtpfmt);
  if (te && te->pt >= 0 && te->pt <= 127) out.media.telephone_event_pt = te->pt;
  return out;
}

}  // namespace parley::media
