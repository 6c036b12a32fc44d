// JavaScript → native conversions shared by the backends' bindings: string lists and the exec pre-filter spec
// (prefilter.h). JS thread only; on bad input they throw a TypeError naming the key and return false.
#pragma once

#include <napi.h>

#include <optional>
#include <string>
#include <vector>

#include "event_relevance.h"
#include "prefilter.h"

namespace macsensor {

// obj[key] as a list of strings (absent or undefined: left as is). `where` prefixes error messages.
bool ReadStringList(Napi::Env env, Napi::Object obj, const char* key, const std::string& where,
                    std::vector<std::string>* out);

// A PrefilterSpec object, or null/undefined for none (*out reset).
bool ReadPrefilter(Napi::Env env, Napi::Value v, std::optional<Prefilter>* out);

// A FilePrefilterSpec object (pathEquals, pathPrefix, pathSuffix, pathContains, nameEquals), or null/undefined
// for none (*out reset). `where` names the caller in error messages.
bool ReadFilePrefilter(Napi::Env env, Napi::Value v, const char* where, std::optional<FilePrefilter>* out);

// { kinds: RawEventKind[], execPrefilter: PrefilterSpec | null, filePrefilter?: FilePrefilterSpec | null }
// (event_relevance.h). `where` names the caller in error messages.
bool ReadRelevance(Napi::Env env, Napi::Value v, const char* where, std::optional<EventRelevance>* out);

}  // namespace macsensor
