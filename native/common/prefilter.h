// The native AUTH_EXEC pre-filter: a cheap NECESSARY condition for "some loaded block rule could match this
// exec". An exec that fails it is answered ALLOW in native code at once (no JavaScript round trip) and still
// reported; an exec that passes it (a candidate) goes to JavaScript, which runs the real rules and answers.
// With no pre-filter installed every AUTH exec is a candidate.
//
// The spec (JavaScript → setPrefilter(handle, spec); derived from the rules' EQL AST by src/sensor/esPrefilter.ts,
// never hand-written). An exec is a CANDIDATE when ANY of these holds (a disjunction of all items of all lists):
//   argEquals:          string[]  some argument (argv[0] included) equals the item, ASCII case-insensitively
//   argContains:        string[]  some argument contains the item, ASCII case-insensitively
//   executableBasename: string[]  the target executable path's last component ("security") equals the item,
//                                 ASCII case-insensitively
// Rules of the spec (the deriving side must respect them; setPrefilter rejects a spec that breaks them):
//   - items are ASCII (bytes 0x01..0x7f). Case folding is ASCII only, so to stay a necessary condition any
//     argument / basename holding a non-ASCII byte counts as matching every item of its lists (Unicode case
//     folding could make "K" (U+212A) equal "k"): such execs always go to JavaScript.
//   - at most 4096 items in all, each at most 4096 bytes; an empty argContains item matches every exec.
//   - all lists empty = no exec can match = every AUTH exec is allowed natively (use this only when no loaded
//     block rule can ever match; to send everything to JavaScript, install no pre-filter: setPrefilter(h, null)).
//   - a block rule whose condition cannot be reduced to such items makes the whole pre-filter absent (null).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace macsensor {

// The native AUTH_OPEN pre-filter: the same idea for file opens. An open is a CANDIDATE when its path
//   pathEquals:  string[]  equals an item
//   pathPrefix:  string[]  starts with an item
//   pathSuffix:  string[]  ends with an item
//   pathContains: string[] contains an item
//   nameEquals:  string[]  has a last component (after the last '/') equal to an item
// all ASCII case-insensitively, under the same spec rules as above (ASCII items, 4096 items of 4096 bytes at most,
// all lists empty = no open is a candidate). A path holding a non-ASCII byte, or one ES reports as truncated, is
// always a candidate. Derived by src/sensor/esPrefilter.ts (deriveOpenPrefilter).
struct FilePrefilterSpec {
  std::vector<std::string> path_equals;
  std::vector<std::string> path_prefix;
  std::vector<std::string> path_suffix;
  std::vector<std::string> path_contains;
  std::vector<std::string> name_equals;
};

struct PrefilterSpec {
  std::vector<std::string> arg_equals;
  std::vector<std::string> arg_contains;
  std::vector<std::string> executable_basename;
};

class Prefilter {
 public:
  static constexpr size_t kMaxItems = 4096;
  static constexpr size_t kMaxItemBytes = 4096;

  // Validates and lower-cases the spec. On a rule violation returns false and says why in *error.
  static bool Build(PrefilterSpec spec, Prefilter* out, std::string* error);

  // executable: the target's full path; args: argv as (pointer, length) views.
  bool IsCandidate(std::string_view executable, const std::vector<std::string_view>& args) const;

  const PrefilterSpec& spec() const { return spec_; }

 private:
  PrefilterSpec spec_;  // items lower-cased
};

class FilePrefilter {
 public:
  static bool Build(FilePrefilterSpec spec, FilePrefilter* out, std::string* error);
  bool IsCandidate(std::string_view path, bool truncated) const;
  const FilePrefilterSpec& spec() const { return spec_; }

 private:
  FilePrefilterSpec spec_;  // items lower-cased
};

}  // namespace macsensor
