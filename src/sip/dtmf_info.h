// Parsing of the bodies of SIP INFO requests that carry DTMF keys: application/dtmf-relay
// ("Signal=5\r\nDuration=160", the Cisco/SIPp form) and application/dtmf ("5").
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace parley::sip {

enum class DtmfInfoKind : unsigned char {
  NotDtmf,  // another content type: the request is answered 415
  Key,      // a valid key in DtmfInfo::key
  Invalid,  // a DTMF content type without a key 0-9 * # A-D: answered 200, not reported
};

struct DtmfInfo {
  DtmfInfoKind kind = DtmfInfoKind::NotDtmf;
  char key = 0;  // upper case for A-D
};

// `type` and `subtype` of Content-Type (any case); `body` as received (bounded by the caller).
DtmfInfo parseDtmfInfo(std::string_view type, std::string_view subtype, std::string_view body);

}  // namespace parley::sip
