"""The HTTP APIs Lambda serves on 127.0.0.1:9001: one route table and its server (`server`), one module per API
(`runtime`, `extensions`, `telemetry`, `credentials`). Handlers translate HTTP to calls on the state machines."""
