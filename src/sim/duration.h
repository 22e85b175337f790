// Durations as people write them in scenario files: "90" (seconds), "250ms", "30s", "15m", "8h",
// "1d", compounds such as "1h30m", and clock offsets "08:30" / "08:30:15" (from the simulation
// start). Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/types.h"

namespace parley::sim {

// Parses `text` into milliseconds (fractions of a millisecond are rounded to the nearest one).
// A bare number is seconds. Returns nullopt for anything else, including negative values.
std::optional<engine::Millis> parseDuration(std::string_view text);

// Short human form: "45s", "15m", "1h30m", "2h", "250ms", "1m30.5s". Zero is "0s".
std::string formatDuration(engine::Millis d);

// Clock form of an offset from the simulation start: "08:30", "00:00:15"; hours go on past 24
// ("26:00"), as parseDuration accepts them.
std::string formatClock(engine::Millis d);

}  // namespace parley::sim
