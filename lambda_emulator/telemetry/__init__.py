"""The platform's telemetry: the `record` of each platform event (`platform_records`), each subscriber's schema
(`schemas`), and the stream the phases emit into and the APIs subscribe to, batched and delivered by HTTP (`hub`)."""
