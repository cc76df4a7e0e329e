{
  "targets": [
    { "target_name": "affinity", "sources": ["native/affinity.c"], "cflags": ["-O2", "-Wall"] }
  ]
}
