// Test helpers for the store tests: a temporary directory and sample records.
//
// Thread rule: test code, one thread.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/interaction.h"

namespace parley::store::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A record with every field set to something recognisable.
inline Interaction fullInteraction(const std::string& id, EpochMillis arrived) {
  Interaction in;
  in.id = id;
  in.channel = "voice";
  in.caller = "+4930123456";
  in.called = "100";
  in.entry_point = "sip:100@127.0.0.1";
  in.sip_call_id = "abc@host";
  in.arrived = arrived;
  in.ivr_path = {{"welcome", "play", arrived + 10, "done"}, {"menu", "menu", arrived + 2000, "1"}};
  in.digits = {{'1', arrived + 1900, "menu", "rfc4733", false},
               {'#', arrived + 2500, "menu", "info", true}};
  in.queue = "sales";
  in.enqueued = arrived + 2100;
  in.offers = {{"1001", arrived + 2200, arrived + 5200, "timeout", 0},
               {"1002", arrived + 5300, arrived + 7000, "answered", 200}};
  in.answered = arrived + 7000;
  in.agent = "1002";
  in.ended = arrived + 60'000;
  in.ended_by = "caller";
  in.outcome = "answered";
  in.end_reason = "bye";
  in.attributes = {{"campaign", "spring"}, {"account", "4711"}};
  in.recording = "/var/lib/parley/recordings/x.wav";
  return in;
}

}  // namespace parley::store::testing
