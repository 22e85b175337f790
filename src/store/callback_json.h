// JSON form of a Callback, for the SQLite store's `json` column and the HTTP API
// (GET /api/callbacks). Field names are the C++ field names (snake_case) and stable: clients and
// old databases depend on them. Every time is a number of epoch milliseconds under its field
// name ("requested_at": 1764000000000) and, for people, an ISO-8601 UTC string under the name
// with "_iso" ("requested_at_iso": "2025-11-24T16:00:00.000Z"). (Interactions put the string
// under "<name>_at"; callback fields already end in "_at", hence "_iso".) An unset optional time
// (scheduled_for) is null in both. callbackFromJson() reads only the numbers; "_iso" strings
// are ignored on input.
//
// Thread rule: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store/callback.h"

namespace parley::store {

nlohmann::json toJson(const Callback& callback);

struct CallbackFromJson {
  std::optional<Callback> callback;  // set iff `error` is empty
  std::string error;                 // names the field: "attempt_log[1].sip_code: not an integer"
};

// Reads what toJson() wrote. Unknown fields are ignored and missing ones keep their defaults (so
// records written by older versions still read); a field of the wrong type is an error. Never
// throws.
[[nodiscard]] CallbackFromJson callbackFromJson(const nlohmann::json& json);

}  // namespace parley::store
