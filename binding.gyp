{
  "targets": [
    {
      "target_name": "macsensor",
      "sources": [
        "native/common/addon.cc",
        "native/common/raw_event_js.cc",
        "native/common/procargs.cc",
        "native/common/procargs_js.cc",
        "native/common/prefilter.cc",
        "native/common/prefilter_js.cc",
        "native/common/id_names.cc",
        "native/common/id_names_js.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/common"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "13.0"
      },
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/common/linux_binding.cc",
            "native/linux/proc_connector.cc",
            "native/linux/proc_reader.cc",
            "native/common/fanotify_binding.cc",
            "native/linux/fanotify_reader.cc"
          ]
        }],
        # macOS Endpoint Security backend: M1 adds native/macos/* sources, MACSENSOR_WITH_ES and the
        # EndpointSecurity / bsm link flags here.
        ["OS=='mac'", {
          "sources": [
            "native/common/es_binding.cc",
            "native/common/es_session.cc",
            "native/common/es_convert.cc",
            "native/common/pending_auth.cc",
            "native/common/deadline_watchdog.cc",
            "native/macos/self_audit_token.cc",
            "native/macos/process_list.cc"
          ],
          "defines": ["MACSENSOR_WITH_ES"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-fblocks", "-Werror=unguarded-availability-new"] },
          "link_settings": { "libraries": ["-lEndpointSecurity", "-lbsm"] }
        }]
      ]
    }
  ]
}
