#!/usr/bin/env bash
# Syntax- and availability-checks the macOS Endpoint Security code without a Mac: compiles every macOS source
# and the common ES C++ against a macOS SDK for arm64 and x86_64 (macOS 13 deployment target, as binding.gyp),
# with -Werror=unguarded-availability-new, so an API newer than the deployment target used without
# __builtin_available, a missing header or a type mismatch against Apple's real headers fails here.
# With --link it also links each slice with lld as a Mach-O bundle (as node-gyp does on a Mac: -bundle
# -undefined dynamic_lookup, so Node's napi_* symbols are looked up at load time) against the SDK's .tbd stubs
# and joins the slices with llvm-lipo into one universal macsensor.node.
#   usage: native/check-macos.sh [--link [--out FILE]] <SDK root>
#     SDK root: a MacOSX.sdk (e.g. /work/sdk/root from sdk-macos-12.0), or a directory holding one sysroot per
#     target (arm64-apple-macos13/, x86_64-apple-macos13/) as native/macos-ci-sysroot.sh assembles in CI.
#     --out: where the universal addon goes (default build/macos/macsensor.node).
# Exit: 0 all sources pass for both targets (and, with --link, the universal addon is written); 1 a compile or
# the link failed; 2 usage (no SDK given, not an SDK, or a tool missing).
set -u

link=0
work=""
out=""
sdk=""
while [ $# -gt 0 ]; do
  case "$1" in
    --link) link=1 ;;
    --out) out="${2:-}"; shift ;;
    -*) echo "check-macos: unknown option $1" >&2; exit 2 ;;
    *) sdk="$1" ;;
  esac
  shift
done
sdk="${sdk:-${MACSENSOR_MACOS_SDK:-}}"
targets=(arm64-apple-macos13 x86_64-apple-macos13)

if [ -z "$sdk" ]; then
  echo "usage: native/check-macos.sh [--link [--out FILE]] <macOS SDK root> (or set MACSENSOR_MACOS_SDK); no SDK given: nothing checked" >&2
  exit 2
fi

# The sysroot one target compiles and links against: the SDK itself, or its per-target sysroot.
sysroot_for() {
  if [ -f "$sdk/$1/usr/include/EndpointSecurity/EndpointSecurity.h" ]; then echo "$sdk/$1"; else echo "$sdk"; fi
}
for target in "${targets[@]}"; do
  if [ ! -f "$(sysroot_for "$target")/usr/include/EndpointSecurity/EndpointSecurity.h" ]; then
    echo "check-macos: $sdk is not a macOS SDK with EndpointSecurity headers (no usr/include/EndpointSecurity/EndpointSecurity.h)" >&2
    exit 2
  fi
done

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

# Debian ships llvm-lipo only with a version suffix (llvm-14) or under /usr/lib/llvm-N/bin.
find_llvm_tool() {
  local name="$1" candidate
  for candidate in "$name" "$name-14" /usr/lib/llvm-*/bin/"$name"; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}
if [ "$link" -eq 1 ]; then
  lipo="$(find_llvm_tool llvm-lipo)" || { echo "check-macos: llvm-lipo not found (Debian package llvm-14)" >&2; exit 2; }
  if ! command -v ld64.lld >/dev/null 2>&1 && ! ls /usr/lib/llvm-*/bin/ld64.lld >/dev/null 2>&1; then
    echo "check-macos: ld64.lld not found (Debian package lld)" >&2
    exit 2
  fi
  out="${out:-$root/build/macos/macsensor.node}"
  work="$(mktemp -d "${TMPDIR:-/tmp}/macsensor-link.XXXXXX")"
fi

sources=("$here"/macos/*.cc
  "$here"/common/es_session.cc "$here"/common/es_convert.cc "$here"/common/es_binding.cc
  "$here"/common/pending_auth.cc "$here"/common/deadline_watchdog.cc "$here"/common/prefilter.cc
  "$here"/common/prefilter_js.cc "$here"/common/raw_event_js.cc "$here"/common/addon.cc
  "$here"/common/procargs.cc "$here"/common/procargs_js.cc "$here"/common/id_names.cc "$here"/common/id_names_js.cc)

jobs="${MACSENSOR_CHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/macsensor-check.XXXXXX")"
trap 'rm -rf "$logs" ${work:+"$work"}' EXIT

# Compiles one source for one target; its compiler output goes to $3.log and its exit status to $3.rc.
compile_one() {
  local target="$1" src="$2" log="$3" sysroot mode
  sysroot="$(sysroot_for "$target")"
  if [ "$link" -eq 1 ]; then mode=(-c -O2 -o "$work/$target/$(basename "$src" .cc).o"); else mode=(-fsyntax-only); fi
  # libc++ only from the sysroot (-nostdinc++): clang otherwise prefers the host toolchain's own libc++
  # headers when some are installed. -isystem for Node's headers: only the SDK's and our own code are under
  # -Werror scrutiny.
  "$cxx" -target "$target" -isysroot "$sysroot" -stdlib=libc++ -nostdinc++ \
    -isystem "$sysroot/usr/include/c++/v1" -std=c++17 "${mode[@]}" -fblocks \
    -Wall -Wextra -Werror=unguarded-availability-new -Wunguarded-availability \
    -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS -DMACSENSOR_WITH_ES \
    -isystem "$napi_inc" -isystem "$node_inc" -I "$here/common" "$src" >"$log.log" 2>&1
  echo $? >"$log.rc"
}

status=0
slices=()
for target in "${targets[@]}"; do
  sysroot="$(sysroot_for "$target")"
  objects=()
  [ "$link" -eq 1 ] && mkdir -p "$work/$target"
  n=0
  for src in "${sources[@]}"; do
    [ -f "$src" ] || continue
    n=$((n + 1))
    objects+=("$work/$target/$(basename "$src" .cc).o")
    compile_one "$target" "$src" "$logs/$target.$n" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  done
  wait
  n=0
  for src in "${sources[@]}"; do
    [ -f "$src" ] || continue
    n=$((n + 1))
    if [ "$(cat "$logs/$target.$n.rc")" != 0 ]; then status=1; fi
    if [ -s "$logs/$target.$n.log" ]; then
      # Any warning counts as a failure: the check must pass clean.
      echo "check-macos: $target ${src#"$root"/}:" >&2
      cat "$logs/$target.$n.log" >&2
      status=1
    fi
  done
  echo "check-macos: $target: ${#sources[@]} sources checked"
  if [ "$link" -eq 1 ] && [ "$status" -eq 0 ]; then
    slice="$work/$target/macsensor.node"
    # As node-gyp links an addon on a Mac; the -l libraries are binding.gyp's macOS link_settings.
    if ! link_text="$("$cxx" -target "$target" -isysroot "$sysroot" -stdlib=libc++ -fuse-ld=lld \
        -bundle -undefined dynamic_lookup -o "$slice" "${objects[@]}" -lEndpointSecurity -lbsm 2>&1)" ||
        [ -n "$link_text" ]; then
      echo "check-macos: $target link:" >&2
      echo "$link_text" >&2
      status=1
    else
      slices+=("$slice")
      echo "check-macos: $target: linked"
    fi
  fi
done
if [ "$link" -eq 1 ] && [ "$status" -eq 0 ]; then
  mkdir -p "$(dirname "$out")"
  if ! "$lipo" -create "${slices[@]}" -output "$out"; then
    echo "check-macos: llvm-lipo failed" >&2
    status=1
  else
    echo "check-macos: universal addon $out ($("$lipo" -archs "$out"))"
  fi
fi
if [ "$status" -eq 0 ]; then echo "check-macos: OK (arm64 + x86_64, SDK $sdk)"; fi
exit "$status"
