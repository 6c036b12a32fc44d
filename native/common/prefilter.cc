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

bool StartsFolded(std::string_view text, const std::string& item) {
  return text.size() >= item.size() && EqualsFolded(text.substr(0, item.size()), item);
}

bool EndsFolded(std::string_view text, const std::string& item) {
  return text.size() >= item.size() && EqualsFolded(text.substr(text.size() - item.size()), item);
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

bool FilePrefilter::Build(FilePrefilterSpec spec, FilePrefilter* out, std::string* error) {
  size_t total = spec.path_equals.size() + spec.path_prefix.size() + spec.path_suffix.size() +
                 spec.path_contains.size() + spec.name_equals.size();
  if (total > Prefilter::kMaxItems) {
    *error = "file pre-filter: more than 4096 items";
    return false;
  }
  if (!CheckList(spec.path_equals, "pathEquals", error) || !CheckList(spec.path_prefix, "pathPrefix", error) ||
      !CheckList(spec.path_suffix, "pathSuffix", error) || !CheckList(spec.path_contains, "pathContains", error) ||
      !CheckList(spec.name_equals, "nameEquals", error)) {
    return false;
  }
  out->spec_ = std::move(spec);
  return true;
}

bool FilePrefilter::IsCandidate(std::string_view path, bool truncated) const {
  const FilePrefilterSpec& s = spec_;
  if (s.path_equals.empty() && s.path_prefix.empty() && s.path_suffix.empty() && s.path_contains.empty() &&
      s.name_equals.empty()) {
    return false;
  }
  if (truncated || HasNonAscii(path)) return true;
  auto any = [](const std::vector<std::string>& items, auto&& match) {
    return std::any_of(items.begin(), items.end(), match);
  };
  if (any(s.path_equals, [&](const std::string& i) { return EqualsFolded(path, i); })) return true;
  if (any(s.path_prefix, [&](const std::string& i) { return StartsFolded(path, i); })) return true;
  if (any(s.path_suffix, [&](const std::string& i) { return EndsFolded(path, i); })) return true;
  if (any(s.path_contains, [&](const std::string& i) { return ContainsFolded(path, i); })) return true;
  if (!s.name_equals.empty()) {
    size_t slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (any(s.name_equals, [&](const std::string& i) { return EqualsFolded(name, i); })) return true;
  }
  return false;
}

}  // namespace macsensor
