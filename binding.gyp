{
  "variables": {
    # 1 = ASan + UBSan build (scripts/test-asan.js passes -Duvsql_sanitize=1; see docs/SANITIZERS.md).
    "uvsql_sanitize%": 0
  },
  "targets": [
    {
      "target_name": "uvsql",
      "sources": [
        "src/base/base_buf.c",
        "src/base/base_err.c",
        "src/base/base_intern.c",
        "src/base/base_mem.c",
        "src/base/base_rowbatch.c",
        "src/auth/auth_ed25519.c",
        "src/auth/auth_md5.c",
        "src/auth/auth_mysql.c",
        "src/auth/auth_scram.c",
        "src/auth/auth_util.c",
        "src/net/net_js.c",
        "src/net/net_sock.c",
        "src/net/net_timer.c",
        "src/mysql/my_cmd.c",
        "src/mysql/my_conn.c",
        "src/mysql/my_msg.c",
        "src/mysql/my_packet.c",
        "src/mysql/my_row.c",
        "src/mysql/my_rowbatch.c",
        "src/mysql/my_stmt.c",
        "src/pg/pg_conn.c",
        "src/pg/pg_frame.c",
        "src/pg/pg_msg.c",
        "src/pg/pg_rowbatch.c",
        "src/pg/pg_binary.c",
        "src/pg/pg_stmt.c",
        "src/pool/pool.c",
        "src/pool/pool_cancel.c",
        "src/pool/pool_conn.c",
        "src/pool/pool_engine.c",
        "src/pool/pool_fsm.c",
        "src/pool/pool_timer.c",
        "src/tls/tls.c",
        "src/napi/js_addon.c",
        "src/napi/js_outbox.c",
        "src/napi/js_pool.c",
        "src/napi/js_sock.c",
        "src/napi/js_val.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "configurations": {
        "Release": { "defines": ["NDEBUG"] },
        "Debug": { "defines": ["UVSQL_DEBUG"] }
      },
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
        }],
        ["uvsql_sanitize==1", {
          "cflags!": ["-O0", "-O2", "-O3"],
          "cflags": [
            "-g",
            "-O1",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all"
          ],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
