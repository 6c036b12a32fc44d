# The Endpoint Security test addon (Linux): macsensor's ES backend sources built against the ES stand-in.
# Build: CC=clang CXX=clang++ npx node-gyp rebuild --directory test/native/es-standin
# (clang for -fblocks; libBlocksRuntime provides the block runtime on Linux).
{
  "targets": [
    {
      "target_name": "macsensor_es_test",
      "sources": [
        "standin.cc",
        "standin_js.cc",
        "../../../native/common/es_binding.cc",
        "../../../native/common/es_session.cc",
        "../../../native/common/es_convert.cc",
        "../../../native/common/pending_auth.cc",
        "../../../native/common/deadline_watchdog.cc",
        "../../../native/common/prefilter.cc",
        "../../../native/common/prefilter_js.cc",
        "../../../native/common/raw_event_js.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include",
        "../../../native/common"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "MACSENSOR_WITH_ES"],
      "cflags_cc": ["-std=c++17", "-fblocks", "-Wall", "-Wextra", "-Werror=unguarded-availability-new"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lBlocksRuntime"]
    }
  ]
}
