#include "prefilter.h"

#include <algorithm>

namespace macsensor {
namespace {

inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool HasNonAscii(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// item is already lower case.
bool EqualsFolded(std::string_view text, const std::string& item) {
  if (text.size() != item.size()) return false;
  for (size_t i = 0; i < text.size(); i++) {
    if (LowerAscii(text[i]) != item[i]) return false;
  }
  return true;
}

bool ContainsFolded(std::string_view text, const std::string& item) {
  if (item.empty()) return true;
  if (text.size() < item.size()) return false;
  const char first = item[0];
  for (size_t i = 0; i + item.size() <= text.size(); i++) {
    if (LowerAscii(text[i]) != first) continue;
    size_t j = 1;
    while (j < item.size() && LowerAscii(text[i + j]) == item[j]) j++;
    if (j == item.size()) return true;
  }
  return false;
}

bool CheckList(std::vector<std::string>& items, const char* name, std::string* error) {
  for (std::string& item : items) {
    if (item.size() > Prefilter::kMaxItemBytes) {
      *error = std::string("pre-filter ") + name + ": an item is longer than 4096 bytes";
      return false;
    }
    for (char& c : item) {
      auto b = static_cast<unsigned char>(c);
      if (b == 0 || b >= 0x80) {
        *error = std::string("pre-filter ") + name + ": item \"" + item +
                 "\" is not ASCII; send no pre-filter (null) for rules with non-ASCII strings";
        return false;
      }
      c = LowerAscii(c);
    }
  }
  return true;
}

}  // namespace

bool Prefilter::Build(PrefilterSpec spec, Prefilter* out, std::string* error) {
  size_t total = spec.arg_equals.size() + spec.arg_contains.size() + spec.executable_basename.size();
  if (total > kMaxItems) {
    *error = "pre-filter: more than 4096 items";
    return false;
  }
  if (!CheckList(spec.arg_equals, "argEquals", error) || !CheckList(spec.arg_contains, "argContains", error) ||
      !CheckList(spec.executable_basename, "executableBasename", error)) {
    return false;
  }
  out->spec_ = std::move(spec);
  return true;
}

bool Prefilter::IsCandidate(std::string_view executable, const std::vector<std::string_view>& args) const {
  if (!spec_.executable_basename.empty()) {
    size_t slash = executable.rfind('/');
    std::string_view base = slash == std::string_view::npos ? executable : executable.substr(slash + 1);
    if (HasNonAscii(base)) return true;
    for (const std::string& item : spec_.executable_basename) {
      if (EqualsFolded(base, item)) return true;
    }
  }
  if (spec_.arg_equals.empty() && spec_.arg_contains.empty()) return false;
  for (std::string_view arg : args) {
    if (HasNonAscii(arg)) return true;
    for (const std::string& item : spec_.arg_equals) {
      if (EqualsFolded(arg, item)) return true;
    }
    for (const std::string& item : spec_.arg_contains) {
      if (ContainsFolded(arg, item)) return true;
    }
  }
  return false;
}

}  // namespace macsensor
