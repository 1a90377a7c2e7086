"""cgroup v1 and v2 for the sandbox: what the host has (`host`), the file seam (`fs`), each version (`v1`, `v2`),
and the removal of groups a dead emulator left behind (`stale`). `lambda_emulator.sandbox.limits` composes them."""
