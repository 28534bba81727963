// "Did you mean ...?": the closest known word to a mistyped one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace axon {

// Edit distance counting an insertion, deletion, substitution or swap of
// two neighbouring characters as 1 (optimal string alignment): "tset" is
// one edit from "test", as a typist would count it.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a typo:
// distance at most max(1, word.size() / 3), or `word` is a prefix of it.
// Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

}  // namespace axon
