"""telemetry-ext: an AWS Lambda external extension that ships Telemetry API events to S3."""

__version__ = "0.1.0"
