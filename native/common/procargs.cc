#include "procargs.h"

#include <algorithm>
#include <cstring>

namespace macsensor {

namespace {

constexpr size_t kArgcBytes = sizeof(int32_t);
// argv starts on a pointer boundary of the string area (which begins right after argc); 64-bit processes only
// on the macOS versions we support.
constexpr size_t kArgvAlign = 8;

// Index of the first NUL in [from, size), or size when there is none.
size_t FindNul(const uint8_t* data, size_t from, size_t size) {
  if (from >= size) return size;
  const void* hit = std::memchr(data + from, 0, size - from);
  return hit == nullptr ? size : static_cast<size_t>(static_cast<const uint8_t*>(hit) - data);
}

std::string Bytes(const uint8_t* data, size_t from, size_t to) {
  return std::string(reinterpret_cast<const char*>(data) + from, to - from);
}

}  // namespace

ProcArgs ParseProcArgs(const uint8_t* data, size_t size, bool want_env) {
  ProcArgs out;
  if (data == nullptr || size == 0) {
    out.problem = "empty buffer";
    return out;
  }
  if (size < kArgcBytes) {
    out.problem = "buffer shorter than argc";
    return out;
  }
  std::memcpy(&out.argc, data, kArgcBytes);

  const size_t path_start = kArgcBytes;
  const size_t path_end = FindNul(data, path_start, size);
  if (path_end == size) {
    out.problem = "exec path not terminated (buffer cut)";
    return out;
  }
  out.exec_path = Bytes(data, path_start, path_end);
  if (out.argc < 0) {
    out.problem = "negative argc " + std::to_string(out.argc);
    return out;
  }
  const size_t want = static_cast<size_t>(out.argc);

  // Skip the padding. Ordinary readers (ps) skip every NUL, which silently drops empty leading arguments
  // (argv[0] == "" is legal) and then takes environment strings for arguments. NULs at or past the boundary
  // where argv must start are therefore empty arguments — except in the synthetic one-argument buffer, whose
  // single padding NUL can sit there.
  const size_t after_path = path_end + 1;
  size_t first = after_path;
  while (first < size && data[first] == 0) first++;
  const size_t area_used = after_path - path_start;
  const size_t argv_start = path_start + (area_used + kArgvAlign - 1) / kArgvAlign * kArgvAlign;
  size_t empty_args = 0;
  if (first > argv_start) {
    bool synthetic = false;
    if (out.argc == 1 && first == after_path + 1) {
      const size_t end = FindNul(data, first, size);
      synthetic = end < size && end - first == path_end - path_start &&
                  std::memcmp(data + first, data + path_start, end - first) == 0;
    }
    if (!synthetic) empty_args = std::min(first - argv_start, want);
  }

  out.args.reserve(std::min(want, size - first + empty_args));  // never trust argc for the allocation
  out.args.resize(empty_args);
  // Uncapped, argv_start + empty_args == first; capped at argc, the environment starts right after them.
  size_t pos = empty_args > 0 ? argv_start + empty_args : first;
  while (out.args.size() < want && pos < size) {
    const size_t end = FindNul(data, pos, size);
    if (end == size) break;  // an argument cut off before its NUL: not returned
    out.args.push_back(Bytes(data, pos, end));
    pos = end + 1;
  }
  out.args_complete = out.args.size() == want;
  if (!out.args_complete) {
    out.problem = "argc is " + std::to_string(want) + " but only " + std::to_string(out.args.size()) +
                  " arguments are complete (buffer cut)";
    return out;
  }

  if (want_env) {
    while (pos < size) {
      const size_t end = FindNul(data, pos, size);
      if (end == size || end == pos) break;  // cut, or the empty string that ends the list
      out.env.push_back(Bytes(data, pos, end));
      pos = end + 1;
    }
  }
  return out;
}

}  // namespace macsensor
