{
  "targets": [
    {
      "target_name": "uvsql",
      "sources": [
        "src/base/base_buf.c",
        "src/base/base_err.c",
        "src/base/base_intern.c",
        "src/base/base_mem.c",
        "src/auth/auth_md5.c",
        "src/auth/auth_scram.c",
        "src/auth/auth_util.c",
        "src/net/net_sock.c",
        "src/pg/pg_conn.c",
        "src/pg/pg_frame.c",
        "src/pg/pg_msg.c",
        "src/pg/pg_rowbatch.c",
        "src/pg/pg_stmt.c",
        "src/pool/pool.c",
        "src/pool/pool_cancel.c",
        "src/pool/pool_conn.c",
        "src/tls/tls.c",
        "src/napi/js_addon.c",
        "src/napi/js_pool.c",
        "src/napi/js_val.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags": [
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Wshadow",
        "-Wstrict-prototypes",
        "-Werror",
        "-fvisibility=hidden"
      ],
      "conditions": [
        ["OS=='linux'", {
          "libraries": [
            "/usr/lib/<!(uname -m)-linux-gnu/libssl.a",
            "/usr/lib/<!(uname -m)-linux-gnu/libcrypto.a",
            "-ldl",
            "-lpthread"
          ],
          "ldflags": ["-Wl,--exclude-libs,ALL"]
        }]
      ]
    }
  ]
}
