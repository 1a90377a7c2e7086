"""The SAM template: checked in as generated, lint-clean for both architectures, a wrong architecture or
runtime fails the lint, and its policy resolves to exactly what `policy` prints for the same settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from telemetry_tools import settings
from telemetry_tools.lint import lint_template
from telemetry_tools.policy import function_policy
from telemetry_tools.template import render, template
from tests.support.layers import REPO

CHECKED_IN = REPO / "deploy" / "template.yaml"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_checked_in_template_is_the_generated_one() -> None:
    assert CHECKED_IN.read_text() == render("x86_64"), "regenerate: python -m telemetry_tools template --out ..."


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_the_template_is_lint_clean(tmp_path: Path, arch: str) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(render(arch))
    assert lint_template(path) == []


def mutated(tmp_path: Path, change: Any) -> Path:
    document = template("x86_64")
    change(document["Resources"])
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def set_function(key: str, value: Any) -> Any:
    return lambda resources: resources["ExampleFunction"]["Properties"].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (set_function("Architectures", ["arm65"]), r"E3030 'arm65' is not one of \['x86_64', 'arm64'\]"),
        (
            lambda r: r["TelemetryExtLayer"]["Properties"].__setitem__("CompatibleArchitectures", ["arm65"]),
            r"CompatibleArchitectures needs to be a list of 'x86_64' or 'arm64'",
        ),
        (set_function("Runtime", "python3.99"), r"E3030 'python3.99' is not one of"),
    ],
    ids=["function-architecture", "layer-architecture", "runtime"],
)
def test_a_wrong_architecture_or_runtime_fails_the_lint(tmp_path: Path, change: Any, expected: str) -> None:
    problems = lint_template(mutated(tmp_path, change))
    assert any(re.search(expected, problem) for problem in problems), problems


def test_the_lint_command_exits_non_zero_on_a_problem(tmp_path: Path) -> None:
    from telemetry_tools.cli import main

    assert main(["lint-template", str(mutated(tmp_path, set_function("Architectures", ["arm65"])))]) == 1
    assert main(["lint-template", str(CHECKED_IN)]) == 0


class Resolver:
    """Just enough CloudFormation to evaluate the template's policy for given parameter values."""

    NO_VALUE = object()

    def __init__(self, document: dict[str, Any], parameters: dict[str, str], region: str) -> None:
        defaults = {name: str(spec.get("Default", "")) for name, spec in document["Parameters"].items()}
        self.values = {**defaults, **parameters, "AWS::Region": region, "AWS::Partition": "aws"}
        self.conditions = document["Conditions"]

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not self.NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return self.NO_VALUE if argument == "AWS::NoValue" else self.values[argument]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self.values[m.group(1)], argument)
            if key == "Fn::If":
                return self.value(argument[1] if self.condition(argument[0]) else argument[2])
            if key == "Fn::Equals":
                return self.value(argument[0]) == self.value(argument[1])
            if key == "Fn::Not":
                return not self.value(argument[0])
            if key == "Fn::And":
                return all(self.value(a) for a in argument)
            if key == "Fn::Or":
                return any(self.value(a) for a in argument)
            if key == "Condition":
                return self.condition(argument)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not self.NO_VALUE}


@pytest.mark.parametrize(
    "values",
    [
        {"BucketName": "my-bucket"},
        {"BucketName": "my-bucket", "Prefix": ""},
        {"BucketName": "my-bucket", "Prefix": "a/b.c", "Sse": "AES256", "ExpectedBucketOwner": "123456789012"},
        {"BucketName": "my-bucket", "Sse": "aws:kms", "KmsKeyArn": KEY_ARN},
        {"BucketName": "my-bucket", "Sse": "aws:kms", "KmsKeyArn": KEY_ARN, "BucketRegion": "us-west-2"},
    ],
)
def test_the_templates_policy_is_the_policy_commands(values: dict[str, str]) -> None:
    document = template("x86_64")
    resolver = Resolver(document, values, "eu-west-1")
    (policy,) = resolver.value(document["Resources"]["ExampleFunction"]["Properties"]["Policies"])
    environment = resolver.value(document["Resources"]["ExampleFunction"]["Properties"]["Environment"]["Variables"])
    assert set(environment) == set(settings.NAMES)  # every setting the policy depends on reaches the function
    expected = function_policy(settings.Destination.from_env(environment), "eu-west-1")
    assert policy == expected


def test_the_prefix_parameter_accepts_exactly_what_the_extension_keeps() -> None:
    pattern = re.compile(template("x86_64")["Parameters"]["Prefix"]["AllowedPattern"])
    for prefix in ["telemetry", "", "a/b", "a.b/c_d=e-f", "/a", "a/", "a//b", "a..b", ".a", "a b"]:
        assert bool(pattern.match(prefix)) == (settings.normalise_prefix(prefix) == prefix), prefix


def test_the_example_deploys_the_zip_scripts_build_makes() -> None:
    content = template("arm64")["Resources"]["TelemetryExtLayer"]["Properties"]["ContentUri"]
    assert (CHECKED_IN.parent / content).resolve() == (REPO / "dist" / "telemetry-ext-native-arm64.zip").resolve()
