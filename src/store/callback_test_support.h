// Test helpers for the callback store tests: a callback with every field set.
//
// Thread rule: test code.
#pragma once

#include <string>

#include "store/callback.h"

namespace parley::store::testing {

inline Callback fullCallback(const std::string& id, EpochMillis requested_at) {
  Callback cb;
  cb.id = id;
  cb.queue = "sales";
  cb.number = "+441234567890";
  cb.state = "scheduled";
  cb.outcome = "";
  cb.requested_at = requested_at;
  cb.place_since = requested_at - 60'000;
  cb.scheduled_for = requested_at + 3'600'000;
  cb.due_at = requested_at + 3'600'000;
  cb.priority = 5;
  cb.attempts = 2;
  cb.source = "web";
  cb.source_address = "192.0.2.7";
  cb.interaction_id = "call-7";
  cb.context = {{"page_url", "https://example.com/mortgage?x=1"}, {"campaign", "spring"}};
  cb.attempt_log = {{requested_at + 10, requested_at + 40'000, "1001", "no-answer", 480, "call-8"},
                    {requested_at + 100'000, 0, "1002", "", 0, ""}};
  cb.updated_at = requested_at + 100'000;
  return cb;
}

}  // namespace parley::store::testing
