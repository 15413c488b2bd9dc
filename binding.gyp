{
  # All sources are C: link with the C compiler as well (gyp's make generator
  # links with $(CXX), g++, by default), so a source build needs no C++
  # compiler and the addon no libgcc_s. LINK in the environment still wins.
  "make_global_settings": [["LINK", "$(CC)"]],
  "targets": [
    {
      "target_name": "hmsdk",
      "sources": [
        "native/prim/hm_prim.c",
        "native/core/hm_meta.c", "native/core/hm_place.c", "native/core/hm_capacity.c",
        "native/core/hm_extent.c", "native/core/hm_arena.c", "native/core/hm_stripe.c", "native/core/hm_core.c",
        "native/preload/hm_conf.c",
        "native/addon/addon.c",
        "native/core/hm_shm.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_c": ["-std=gnu11"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "hmsdk_preload",
      "type": "shared_library",
      "defines": ["_GNU_SOURCE"],
      "product_dir": "<(PRODUCT_DIR)",
      "sources": [
        "native/prim/hm_prim.c",
        "native/core/hm_meta.c", "native/core/hm_place.c", "native/core/hm_capacity.c",
        "native/core/hm_extent.c", "native/core/hm_arena.c", "native/core/hm_stripe.c", "native/core/hm_fork.c",
        "native/preload/hm_conf.c", "native/preload/hm_blocks.c", "native/preload/hm_report.c",
        "native/preload/hm_mmap.c", "native/preload/hm_coverage.c", "native/preload/hm_tcache.c",
        "native/preload/hm_interpose.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-fPIC", "-fvisibility=hidden", "-fno-builtin", "-fomit-frame-pointer", "-flto"],
      "cflags_c": ["-std=gnu11"],
      "ldflags": ["-Wl,-z,nodelete", "-Wl,--no-undefined", "-flto", "-O2"],
      "libraries": ["-ldl", "-lpthread"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "cflags": ["-falign-functions=64", "-Wa,-mbranches-within-32B-boundaries"]
        }]
      ]
    }
  ]
}
