"""A local AWS Lambda execution environment: Runtime, Extensions and Telemetry APIs."""
