#include "sip/dtmf_info.h"

#include <gtest/gtest.h>

namespace parley::sip {
namespace {

TEST(DtmfInfo, DtmfRelaySignalIsTheKey) {
  const DtmfInfo d = parseDtmfInfo("application", "dtmf-relay", "Signal=5\r\nDuration=160\r\n");
  EXPECT_EQ(d.kind, DtmfInfoKind::Key);
  EXPECT_EQ(d.key, '5');
  EXPECT_EQ(parseDtmfInfo("Application", "DTMF-Relay", "Duration=100\nsignal = #\n").key, '#');
  EXPECT_EQ(parseDtmfInfo("application", "dtmf-relay", "Signal=10\r\n").key, '*');
  EXPECT_EQ(parseDtmfInfo("application", "dtmf-relay", "Signal=d").key, 'D');
}

TEST(DtmfInfo, PlainDtmfBodyIsTheKey) {
  const DtmfInfo d = parseDtmfInfo("application", "dtmf", "7\r\n");
  EXPECT_EQ(d.kind, DtmfInfoKind::Key);
  EXPECT_EQ(d.key, '7');
}

TEST(DtmfInfo, BadKeysAreInvalidOtherTypesAreNotDtmf) {
  EXPECT_EQ(parseDtmfInfo("application", "dtmf", "x").kind, DtmfInfoKind::Invalid);
  EXPECT_EQ(parseDtmfInfo("application", "dtmf", "").kind, DtmfInfoKind::Invalid);
  EXPECT_EQ(parseDtmfInfo("application", "dtmf-relay", "Signal=99").kind, DtmfInfoKind::Invalid);
  EXPECT_EQ(parseDtmfInfo("application", "dtmf-relay", std::string(3000, '=')).kind,
            DtmfInfoKind::Invalid);
  EXPECT_EQ(parseDtmfInfo("application", "sdp", "v=0").kind, DtmfInfoKind::NotDtmf);
  EXPECT_EQ(parseDtmfInfo("", "", "5").kind, DtmfInfoKind::NotDtmf);
}

}  // namespace
}  // namespace parley::sip
