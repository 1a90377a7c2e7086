"""The sandbox: where the environment's processes run and what confines them. Limits, freezer and figures through
cgroups (`limits`, `cgroups/`), the file system and names (`isolation`, `namespace`, `ns_holder`, `address`,
`layers`), the processes and their output (`processes`, `supervisor`, `log_sockets`) and their outward connections
(`connections`). Imports nothing else of the emulator."""
