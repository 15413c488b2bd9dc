{
  "targets": [
    {
      "target_name": "hmsdk",
      "sources": ["native/hm_os.c", "native/hm_core.c", "native/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lnuma", "-lpthread"]
    },
    {
      "target_name": "hmsdk_preload",
      "type": "shared_library",
      "product_dir": "<(PRODUCT_DIR)",
      "sources": ["native/preload/hm_preload.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-fPIC", "-fvisibility=hidden", "-fno-builtin", "-fomit-frame-pointer"],
      "cflags_c": ["-std=gnu11"],
      "ldflags": ["-Wl,-z,nodelete", "-Wl,--no-undefined"],
      "libraries": ["-ldl"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "cflags": ["-falign-functions=64", "-Wa,-mbranches-within-32B-boundaries"]
        }]
      ]
    }
  ]
}
