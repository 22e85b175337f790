// The roles of HTTP API users, lowest first: an agent sees its own things, a supervisor sees
// everyone's (interaction history), an admin may also change settings.
//
// Thread rule: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace parley::web {

// Ordered: a higher role may do everything a lower one may.
enum class Role : std::uint8_t { Agent = 0, Supervisor = 1, Admin = 2 };
std::string_view toString(Role role);  // "agent", "supervisor", "admin"
std::optional<Role> parseRole(std::string_view text);

}  // namespace parley::web
