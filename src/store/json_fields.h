// The small field readers of the store's JSON decoders (interaction_json.cpp,
// callback_json.cpp): each reads one member if present and not null, and throws BadField naming
// the member's path ("offers[2].agent: not a string") when it has the wrong type. The decoders
// catch BadField and return it as their error; nothing escapes them.
//
// Thread rule: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "store/interaction.h"

namespace parley::store::json_fields {

using nlohmann::json;

// Thrown by the readers below; the decoder turns it into its error value.
struct BadField {
  std::string what;
};

inline std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

inline const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

inline void readString(const json& object, const std::string& path, const char* key,
                       std::string& out) {
  if (const json* v = member(object, key)) {
    if (!v->is_string()) throw BadField{join(path, key) + ": not a string"};
    out = v->get<std::string>();
  }
}

inline void readMillis(const json& object, const std::string& path, const char* key,
                       EpochMillis& out) {
  if (const json* v = member(object, key)) {
    if (!v->is_number_integer()) throw BadField{join(path, key) + ": not an integer"};
    out = v->get<EpochMillis>();
  }
}

inline void readOptionalMillis(const json& object, const std::string& path, const char* key,
                               std::optional<EpochMillis>& out) {
  if (member(object, key) == nullptr) {
    out.reset();
    return;
  }
  EpochMillis ms = 0;
  readMillis(object, path, key, ms);
  out = ms;
}

inline void readBool(const json& object, const std::string& path, const char* key, bool& out) {
  if (const json* v = member(object, key)) {
    if (!v->is_boolean()) throw BadField{join(path, key) + ": not true or false"};
    out = v->get<bool>();
  }
}

inline void readInt(const json& object, const std::string& path, const char* key, int& out) {
  if (const json* v = member(object, key)) {
    if (!v->is_number_integer()) throw BadField{join(path, key) + ": not an integer"};
    const auto n = v->get<std::int64_t>();
    if (n < -1'000'000'000 || n > 1'000'000'000) throw BadField{join(path, key) + ": out of range"};
    out = static_cast<int>(n);
  }
}

// Calls read(element, element_path) for each object in the array `key`, if present.
template <typename F>
inline void readArray(const json& object, const std::string& path, const char* key, F&& read) {
  const json* v = member(object, key);
  if (v == nullptr) return;
  const std::string p = join(path, key);
  if (!v->is_array()) throw BadField{p + ": not an array"};
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string ep = p + "[" + std::to_string(i) + "]";
    if (!(*v)[i].is_object()) throw BadField{ep + ": not an object"};
    read((*v)[i], ep);
  }
}

}  // namespace parley::store::json_fields
