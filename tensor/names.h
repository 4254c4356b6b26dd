// Enumerations spelled as words, for flags and saved files: a table of (value, name) pairs per
// enumeration, looked up both ways.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "tensor/error.h"

namespace lamppost {

template <class Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

template <class Enum, std::size_t N>
std::string_view name_of(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [known, name] : table) {
    if (known == value) return name;
  }
  return "?";
}

// The value of that name; throws "[what] unknown value 'name' (choose one of a, b, ...)".
template <class Enum, std::size_t N>
Enum parse_name(const NameTable<Enum, N>& table, std::string_view name, std::string_view what) {
  std::string choices;
  for (const auto& [known, known_name] : table) {
    if (known_name == name) return known;
    choices += choices.empty() ? "" : ", ";
    choices += known_name;
  }
  fail(what, "unknown value '{}' (choose one of {})", name, choices);
}

}  // namespace lamppost
