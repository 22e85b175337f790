// JSON form of an Interaction, for the SQLite store's `json` column and the HTTP API. Field
// names are snake_case and stable (clients and old databases depend on them). Every time is
// written twice: as epoch milliseconds under its own name ("arrived": 1764..., a number) and as
// an ISO-8601 UTC string for people under the name with "_at" ("arrived_at":
// "2026-11-23T22:33:28.123Z"). An unset optional time is null in both. fromJson() reads only
// the millisecond fields; the "_at" strings are ignored on input.
//
// Thread rule: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "store/interaction.h"

namespace parley::store {

// "2026-11-23T22:33:28.123Z" (UTC, milliseconds). Times before 1970 work too.
std::string isoTime(EpochMillis ms);

nlohmann::json toJson(const Interaction& interaction);

struct InteractionFromJson {
  std::optional<Interaction> interaction;  // set iff `error` is empty
  std::string error;                       // names the field: "offers[2].sip_code: not an integer"
};

// Reads what toJson() wrote. Unknown fields are ignored, missing ones keep their defaults
// (so records written by older versions still read); a field of the wrong type is an error.
// Never throws.
[[nodiscard]] InteractionFromJson fromJson(const nlohmann::json& json);

}  // namespace parley::store
