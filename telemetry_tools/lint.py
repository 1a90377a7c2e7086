"""Lint a SAM template twice: as written, and as the CloudFormation AWS's own SAM translator makes of it.

cfn-lint 1.x validates SAM resources against SAM's schemas, which leave `Architectures` and `Runtime` as
free strings: an `arm65` passes. AWS's translator (aws-sam-translator, offline here) rejects a wrong layer
architecture itself, and cfn-lint on its output checks every AWS::Lambda::Function and LayerVersion
property against the full resource schemas. Local `ContentUri`/`CodeUri` paths are replaced by S3 URIs
first, as `sam package` would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from telemetry_tools.errors import ToolError

LINT_REGION: Final = "us-east-1"
LOCAL_URIS: Final = ("ContentUri", "CodeUri")


def lint_template(path: Path) -> list[str]:
    """Every problem cfn-lint or the SAM translator finds (warnings too), one line each; [] when clean."""
    from cfnlint.api import ManualArgs, lint
    from cfnlint.decode import decode_str

    try:
        text = path.read_text()
    except OSError as error:
        raise ToolError(f"{path}: {error.strerror}") from None
    config = ManualArgs(regions=[LINT_REGION])
    problems = [_line(path, match) for match in lint(text, config=config)]
    document, decode_errors = decode_str(text)
    if decode_errors or document is None:
        return problems or [f"{path}: not a template"]
    translated, translate_errors = _translate(document)
    problems += [f"{path}: SAM translator: {error}" for error in translate_errors]
    if translated is not None:
        problems += [f"{path} (translated): " + _line(None, m) for m in lint(json.dumps(translated), config=config)]
    return problems


def _translate(document: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    import boto3
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    packaged = json.loads(json.dumps(document))  # a plain copy (decode_str returns its own node types)
    for name, resource in packaged.get("Resources", {}).items():
        properties = resource.get("Properties", {}) if isinstance(resource, dict) else {}
        for key in LOCAL_URIS:
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://packaged-by-sam/{name}.zip"
    session = boto3.session.Session(region_name=LINT_REGION)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    try:
        result: dict[str, Any] = translator.translate(packaged, parameter_values={}, get_managed_policy_map=dict)
    except InvalidDocumentException as error:
        return None, [str(cause) for cause in error.causes]
    finally:
        metrics.publish()  # to nobody; unpublished metrics make the translator print a warning at exit
    return result, []


def _line(path: Path | None, match: Any) -> str:
    where = f"{path}:{match.linenumber}: " if path else ""
    return f"{where}{match.rule.id} {match.message}"
