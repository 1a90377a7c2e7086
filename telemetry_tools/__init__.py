"""User tooling around the telemetry-ext layer: deploy it, attach it, and read back what it wrote.

    publish.py     the built zip as a layer version per region (boto3), with a table of ARNs
    policy.py      least-privilege IAM policies: the function's (from the extension's settings) and the publisher's
    template.py    the SAM template (layer, example function, policy, environment), checked in as deploy/template.yaml
    athena.py      Athena DDL over the object layout, with partition projection
    report/        S3 objects -> DuckDB -> per function and version: markdown, JSON and the seed's four panels

Never imported by the extension (the layer ships `telemetry_ext` only) and never imports it: what the tools
need to know about the extension (setting names, key layout) is declared here and checked against the
extension by tests (tests/tools/test_settings.py).
"""
