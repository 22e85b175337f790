// SDP offer/answer rules and robustness against hostile bodies (no sockets, no loop).
#include "media/sdp_negotiation.h"

#include <gtest/gtest.h>

#include <random>

namespace parley::media {
namespace {

SdpParams params(std::vector<Codec> codecs = {Codec::Pcmu, Codec::Pcma}) {
  return {"127.0.0.1", std::move(codecs), 101};
}

std::string offer(const std::string& m_line, const std::string& extra = "") {
  return "v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n" + m_line + "\r\n" +
         extra;
}

TEST(SdpNegotiation, OurPreferenceOrderDecidesTheCodec) {
  auto r = parseOffer(offer("m=audio 4000 RTP/AVP 8 0"), params());
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_EQ(r.media.codec, Codec::Pcmu);
  EXPECT_EQ(r.media.address, "10.0.0.7");
  EXPECT_EQ(r.media.port, 4000);
  EXPECT_EQ(r.media.telephone_event_pt, -1);

  r = parseOffer(offer("m=audio 4000 RTP/AVP 0 8"), params({Codec::Pcma, Codec::Pcmu}));
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_EQ(r.media.codec, Codec::Pcma);
}

TEST(SdpNegotiation, TelephoneEventTakesTheOfferersPayloadType) {
  auto r = parseOffer(offer("m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000\r\n"), params());
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_EQ(r.media.telephone_event_pt, 96);
  const std::string answer = encodeAnswer(params(), 20000, r.media);
  EXPECT_NE(answer.find("m=audio 20000 RTP/AVP 0 96\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("a=rtpmap:96 telephone-event/8000"), std::string::npos) << answer;
  EXPECT_NE(answer.find("c=IN IP4 127.0.0.1"), std::string::npos) << answer;
}

TEST(SdpNegotiation, SendonlyOfferIsAnsweredRecvonlyAndWeDoNotSend) {
  auto r = parseOffer(offer("m=audio 4000 RTP/AVP 0", "a=sendonly\r\n"), params());
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_FALSE(r.media.may_send);
  EXPECT_NE(encodeAnswer(params(), 20000, r.media).find("a=recvonly"), std::string::npos);
}

TEST(SdpNegotiation, AnswerToOurOffer) {
  const std::string ours = encodeOffer(params(), 20000);
  EXPECT_NE(ours.find("m=audio 20000 RTP/AVP 0 8 101\r\n"), std::string::npos) << ours;
  EXPECT_NE(ours.find("a=fmtp:101 0-15"), std::string::npos) << ours;
  auto r = parseAnswer(offer("m=audio 5000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000\r\n"), params());
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_EQ(r.media.codec, Codec::Pcma);
  EXPECT_EQ(r.media.telephone_event_pt, 101);
  EXPECT_EQ(r.media.port, 5000);
  EXPECT_EQ(parseAnswer(offer("m=audio 0 RTP/AVP 0"), params()).error, SdpError::NoCommonCodec);
  EXPECT_EQ(parseAnswer(offer("m=audio 5000 RTP/AVP 18"), params()).error, SdpError::NoCommonCodec);
}

// The offer baresip 1.0.0 (Debian 12) sends, as captured from a dial to a raw UDP socket.
TEST(SdpNegotiation, BaresipOffer) {
  const std::string baresip =
      "v=0\r\no=- 2060464503 1876192870 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n"
      "a=tool:baresip 1.0.0\r\nm=audio 2766 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
      "a=sendrecv\r\na=label:1\r\na=rtcp-rsize\r\na=ssrc:148351043 cname:sip:m@127.0.0.1:5163\r\n"
      "a=minptime:20\r\na=ptime:20\r\n";
  auto r = parseOffer(baresip, params());
  ASSERT_EQ(r.error, SdpError::None) << r.message;
  EXPECT_EQ(r.media.codec, Codec::Pcmu);
  EXPECT_EQ(r.media.telephone_event_pt, 101);
  EXPECT_EQ(r.media.address, "192.0.2.2");
  EXPECT_EQ(r.media.port, 2766);
  EXPECT_TRUE(r.media.may_send);
}

TEST(SdpNegotiation, NoConnectionAddressIsMalformed) {
  auto r = parseOffer("v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", params());
  EXPECT_EQ(r.error, SdpError::Malformed);
}

// Mutated offers (bytes flipped, lines cut or repeated) never crash and always give either a
// usable result or an error; fixed seed.
TEST(SdpNegotiation, MutatedOffersNeverCrash) {
  const std::string base =
      offer("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n");
  std::mt19937 rng(4);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.erase(at, rng() % 20); break;
        case 2: s.insert(at, s.substr(rng() % s.size(), rng() % 30)); break;
        default: s.resize(at); break;
      }
    }
    for (bool as_offer : {true, false}) {
      const SdpOutcome r = as_offer ? parseOffer(s, params()) : parseAnswer(s, params());
      if (r.error == SdpError::None) {
        ++ok;
        EXPECT_NE(r.media.port, 0);
        EXPECT_FALSE(r.media.address.empty());
        EXPECT_FALSE(encodeAnswer(params(), 20000, r.media).empty());
      } else {
        EXPECT_FALSE(r.message.empty());
      }
    }
  }
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace parley::media
