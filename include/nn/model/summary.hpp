#pragma once
/// Text helpers of Sequential: Keras' default layer names and the summary table.

#include <cctype>
#include <string>
#include <vector>

#include "nn/core/shape.hpp"

namespace nn {
namespace detail {

/// Converts a class name to Keras' default layer name: "Conv2D" -> "conv2d",
/// "MaxPooling2D" -> "max_pooling2d", "ReLU" -> "re_lu", "RandomFlip" -> "random_flip".
///
/// The rule is that of Keras' `to_snake_case`. First an underscore goes before every capital
/// that starts a lower-case or digit run, except at the start. Then one goes between a
/// lower-case letter and a following capital, and the result is lower-cased.
inline std::string keras_snake_case(const std::string& name) {
  const auto is_upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  const auto is_lower = [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; };
  const auto is_lower_or_digit = [&](char c) {
    return is_lower(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
  };

  // First pass: "(.)([A-Z][a-z0-9]+)" -> "\1_\2", matched left to right without overlap.
  std::string first;
  std::size_t i = 0;
  while (i < name.size()) {
    if (i + 2 < name.size() && is_upper(name[i + 1]) && is_lower_or_digit(name[i + 2])) {
      first += name[i];
      first += '_';
      std::size_t j = i + 1;
      first += name[j++];
      while (j < name.size() && is_lower_or_digit(name[j])) first += name[j++];
      i = j;
    } else {
      first += name[i++];
    }
  }

  // Second pass: "([a-z])([A-Z])" -> "\1_\2", then lower-case everything.
  std::string result;
  for (std::size_t k = 0; k < first.size(); ++k) {
    result += static_cast<char>(std::tolower(static_cast<unsigned char>(first[k])));
    if (k + 1 < first.size() && is_lower(first[k]) && is_upper(first[k + 1])) result += '_';
  }
  return result;
}

/// Formats 3991607 as "3,991,607".
inline std::string thousands(long long value) {
  const bool negative = value < 0;
  std::string digits = std::to_string(negative ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

/// Lays out one table row as Keras' `print_summary` does: each field starts at its column and
/// is cut into pieces that continue on the next lines when it is too wide. `ends` contains the
/// column where each field ends. Every field but the last keeps two spaces before the next.
inline std::string summary_row(std::vector<std::string> fields, const std::vector<int>& ends) {
  std::string text;
  const auto pending = [&] {
    for (const auto& f : fields) {
      if (!f.empty()) return true;
    }
    return false;
  };
  while (pending()) {
    std::string line;
    for (std::size_t col = 0; col < fields.size(); ++col) {
      const int start = col == 0 ? 0 : ends[col - 1];
      const int space = col + 1 == ends.size() ? 0 : 2;
      const auto cutoff = static_cast<std::size_t>(ends[col] - start - space);
      if (col == 0) line += ' ';
      line += fields[col].substr(0, cutoff);
      line += std::string(static_cast<std::size_t>(space), ' ');
      fields[col] = fields[col].size() > cutoff ? fields[col].substr(cutoff) : std::string();
      if (static_cast<int>(line.size()) < ends[col]) {
        line += std::string(static_cast<std::size_t>(ends[col]) - line.size(), ' ');
      }
    }
    // Keras pads lines to the full width; trailing blanks only clutter logs and diffs.
    line.erase(line.find_last_not_of(' ') + 1);
    text += line + '\n';
  }
  return text;
}

}  // namespace detail
}  // namespace nn
