// SDP offer/answer for one audio stream (RFC 3264) with libre's sdp module: PCMU, PCMA and
// telephone-event (RFC 4733). Pure functions over text: no sockets, no event loop needed, any
// thread (libre's sdp functions only allocate).
//
// Untrusted input: a remote offer or answer of any content yields a result with an error,
// never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "media/media_engine.h"

namespace parley::media {

struct SdpParams {
  std::string address;                   // our c= address (IP literal)
  std::vector<Codec> codecs;             // preference order, not empty
  std::uint8_t telephone_event_pt = 101;  // the payload type we offer
};

enum class SdpError : std::uint8_t {
  None,
  Malformed,      // not SDP, or no usable connection address (answer 400)
  NoCommonCodec,  // no audio line we can use, or none of our codecs (answer 488)
};

// What was agreed with the peer.
struct RemoteMedia {
  Codec codec = Codec::Pcmu;
  int telephone_event_pt = -1;  // payload type of telephone-event; -1: not negotiated
  std::string address;          // where to send RTP
  std::uint16_t port = 0;
  bool may_send = true;    // false if the peer is sendonly/inactive or on hold by c=0.0.0.0
  bool peer_sends = true;  // false if the peer is recvonly/inactive (it sends us nothing)
};

struct SdpOutcome {
  SdpError error = SdpError::None;
  std::string message;  // set when error != None
  RemoteMedia media;    // valid when error == None
};

// Limit on an SDP body we parse; larger bodies are Malformed.
constexpr std::size_t kMaxSdpBytes = 16 * 1024;

// Parses a peer's offer: picks the first of params.codecs the offer has, and telephone-event if
// offered (with the offer's payload type).
SdpOutcome parseOffer(std::string_view offer, const SdpParams& params);
// Our answer to an offer parsed by parseOffer: the chosen codec and telephone-event only.
std::string encodeAnswer(const SdpParams& params, std::uint16_t port, const RemoteMedia& agreed);
// Our offer: every codec of params plus telephone-event.
std::string encodeOffer(const SdpParams& params, std::uint16_t port);
// Parses the answer to encodeOffer(params, ...): the codec is the first of ours the answer
// lists (the answerer's preference).
SdpOutcome parseAnswer(std::string_view answer, const SdpParams& params);

const char* codecName(Codec codec);
std::uint8_t codecPayloadType(Codec codec);  // static RTP payload type: PCMU 0, PCMA 8

}  // namespace parley::media
