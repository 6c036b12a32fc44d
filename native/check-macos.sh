#!/usr/bin/env bash
# Syntax- and availability-checks the macOS Endpoint Security code without a Mac: compiles every macOS source
# and the common ES C++ against a macOS SDK for arm64 and x86_64 (macOS 13 deployment target, as binding.gyp),
# with -Werror=unguarded-availability-new, so an API newer than the deployment target used without
# __builtin_available, a missing header or a type mismatch against Apple's real headers fails here.
#   usage: native/check-macos.sh <path to MacOSX.sdk root>   (e.g. /work/sdk/root from sdk-macos-12.0)
# Exit: 0 all sources pass for both targets; 1 a compile failed; 2 usage (no SDK given or not an SDK).
set -u

sdk="${1:-${MACSENSOR_MACOS_SDK:-}}"
if [ -z "$sdk" ]; then
  echo "usage: native/check-macos.sh <macOS SDK root> (or set MACSENSOR_MACOS_SDK); no SDK given: nothing checked" >&2
  exit 2
fi
if [ ! -f "$sdk/usr/include/EndpointSecurity/EndpointSecurity.h" ]; then
  echo "check-macos: $sdk is not a macOS SDK with EndpointSecurity headers (no usr/include/EndpointSecurity/EndpointSecurity.h)" >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cxx="${CXX_FOR_MACOS:-clang++}"
napi_inc="$(cd "$root" && node -p "require('node-addon-api').include_dir")"
case "$napi_inc" in /*) ;; *) napi_inc="$root/$napi_inc" ;; esac
node_inc=""
for candidate in "${NODE_INCLUDE_DIR:-}" "$(dirname "$(dirname "$(command -v node)")")/include/node" \
  "$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node" /usr/include/node; do
  if [ -n "$candidate" ] && [ -f "$candidate/node_api.h" ]; then node_inc="$candidate"; break; fi
done
if [ -z "$node_inc" ]; then
  echo "check-macos: Node's headers (node_api.h) not found; set NODE_INCLUDE_DIR" >&2
  exit 2
fi

sources=("$here"/macos/*.cc
  "$here"/common/es_session.cc "$here"/common/es_convert.cc "$here"/common/es_binding.cc
  "$here"/common/pending_auth.cc "$here"/common/deadline_watchdog.cc "$here"/common/prefilter.cc
  "$here"/common/prefilter_js.cc "$here"/common/raw_event_js.cc "$here"/common/addon.cc
  "$here"/common/procargs.cc "$here"/common/procargs_js.cc "$here"/common/id_names.cc "$here"/common/id_names_js.cc)

status=0
for target in arm64-apple-macos13 x86_64-apple-macos13; do
  for src in "${sources[@]}"; do
    [ -f "$src" ] || continue
    # -isystem for Node's headers: only the SDK's and our own code are under -Werror scrutiny.
    if ! out="$("$cxx" -target "$target" -isysroot "$sdk" -stdlib=libc++ -std=c++17 -fsyntax-only -fblocks \
        -Wall -Wextra -Werror=unguarded-availability-new -Wunguarded-availability \
        -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DMACSENSOR_WITH_ES \
        -isystem "$napi_inc" -isystem "$node_inc" -I "$here/common" "$src" 2>&1)"; then
      status=1
    fi
    if [ -n "$out" ]; then
      # Any warning counts as a failure: the check must pass clean.
      echo "check-macos: $target ${src#"$root"/}:" >&2
      echo "$out" >&2
      status=1
    fi
  done
  echo "check-macos: $target: ${#sources[@]} sources checked"
done
if [ "$status" -eq 0 ]; then echo "check-macos: OK (arm64 + x86_64, SDK $sdk)"; fi
exit "$status"
