"""Each command: its flags and what it does. The table at the end is what cli.py offers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from telemetry_tools import athena, policy, publish, settings
from telemetry_tools.errors import ToolError
from telemetry_tools.flags import (
    REPO,
    add_destination_flags,
    comma_list,
    default_region,
    destination,
    destination_settings,
    progress_printer,
    read_env_file,
    stderr_line,
    write_json,
)
from telemetry_tools.runtimes import ARCHITECTURES


def add_publish(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", required=True, help="x86_64 or arm64")
    parser.add_argument("--flavor", default="native", choices=("native", "interpreted"), help="default native")
    parser.add_argument("--zip", type=Path, help="default dist/telemetry-ext-<flavor>-<arch>.zip")
    parser.add_argument("--regions", help="comma-separated (default $AWS_REGION)")
    parser.add_argument("--runtimes", help="comma-separated, at most 15 (default: every runtime the flavour runs on)")
    parser.add_argument("--layer-name", default="", help="default telemetry-ext-<flavor>-<arch>")
    parser.add_argument("--license", default=publish.LICENSE, help=f"SPDX id or URL (default {publish.LICENSE})")
    parser.add_argument("--public", action="store_true", help="let every AWS account use the layer versions")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; call nothing")
    parser.add_argument("--endpoint-url", help="Lambda endpoint override (a local test server)")
    parser.add_argument("--json", type=Path, help="also write the results here")


def run_publish(args: argparse.Namespace) -> int:
    zip_path = args.zip or REPO / "dist" / f"telemetry-ext-{args.flavor}-{args.arch}.zip"
    request = publish.Request(
        arch=args.arch,
        zip_path=zip_path,
        regions=comma_list(args.regions) or comma_list(default_region()),
        runtimes=comma_list(args.runtimes),
        layer_name=args.layer_name,
        license=args.license,
        public=args.public,
    )
    plan = publish.plan(request)
    print(publish.plan_text(plan), end="\n\n")
    if args.dry_run:
        rows = [publish.Published(r, f"(dry run) {plan.layer_name}", 0, plan.public, "", plan.runtimes,
                                  plan.architectures) for r in plan.regions]  # fmt: skip
        print(publish.table(rows))
        print("dry run: nothing was published")
        return 0
    import boto3

    session = boto3.session.Session()  # its own: credentials are read now, not reused from an earlier session

    def client_for(region: str) -> Any:
        return session.client("lambda", region_name=region, endpoint_url=args.endpoint_url)

    results = publish.execute(plan, client_for, stderr_line)
    print(publish.table(results))
    write_json(args.json, [_as_dict(r) for r in results])
    return 1 if any(r.error for r in results) else 0


def _as_dict(result: publish.Published) -> dict[str, Any]:
    return {name: getattr(result, name) for name in publish.Published.__slots__}


def add_policy(parser: argparse.ArgumentParser) -> None:
    add_destination_flags(parser)
    parser.add_argument("--region", help="the function's region (default $AWS_REGION)")
    parser.add_argument("--account", default="", help="account of a bare KMS key id; the publisher's account")
    parser.add_argument("--publisher", action="store_true", help="the policy to publish layers, not to write")
    parser.add_argument("--layer-name", default="", help="--publisher: comma-separated layer names")
    parser.add_argument("--regions", default="", help="--publisher: comma-separated (default: every region)")


def run_policy(args: argparse.Namespace) -> int:
    if args.publisher:
        names = comma_list(args.layer_name) or [f"telemetry-ext-native-{arch}" for arch in ARCHITECTURES]
        document = policy.publisher_policy(names, args.account, comma_list(args.regions))
    else:
        document = policy.function_policy(destination(args), args.region or default_region(), args.account)
    print(json.dumps(document, indent=2))
    return 0


def add_template(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", default="x86_64", choices=ARCHITECTURES)
    parser.add_argument("--out", type=Path, help="write here (default: stdout)")


def run_template(args: argparse.Namespace) -> int:
    from telemetry_tools.template import render

    text = render(args.arch)
    if args.out:
        args.out.write_text(text)
    else:
        print(text, end="")
    return 0


def add_lint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("templates", nargs="+", type=Path)


def run_lint(args: argparse.Namespace) -> int:
    from telemetry_tools.lint import lint_template

    problems = [problem for path in args.templates for problem in lint_template(path)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def add_athena(parser: argparse.ArgumentParser) -> None:
    add_destination_flags(parser)
    parser.add_argument("--database", default="default")
    parser.add_argument("--table", default="telemetry_ext")
    parser.add_argument("--functions", default="", help="comma-separated: projected as enum (default: injected)")
    parser.add_argument("--since", default="2025-01-01", help="first day of the dt projection (YYYY-MM-DD)")
    platform_only = "a typed Hive JSON SerDe table, for data written with TELEMETRY_EXT_TYPES=platform"
    parser.add_argument("--platform-only", action="store_true", help=platform_only)


def run_athena(args: argparse.Namespace) -> int:
    table = athena.spec(destination(args), args.database, args.table, comma_list(args.functions), args.since,
                        args.platform_only)  # fmt: skip
    print(athena.ddl(table), end="")
    return 0


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", help="read s3://BUCKET/PREFIX/ (boto3's usual credentials)")
    parser.add_argument("--prefix", default=None, help=f"default {settings.DEFAULT_PREFIX}")
    parser.add_argument("--env-file", type=Path, help="take bucket and prefix from the function's environment")
    parser.add_argument("--from", dest="folder", type=Path, help="read a local folder of objects instead")
    parser.add_argument("--endpoint-url", help="S3 endpoint override (a local S3 server)")
    parser.add_argument("--region", help="the bucket's region (default $AWS_REGION)")
    parser.add_argument("--out", type=Path, default=Path("report"), help="where report.{md,json,png} go")
    parser.add_argument("--cache", type=Path, help="where fetched objects are kept (default <out>/objects)")


def run_report(args: argparse.Namespace) -> int:
    from telemetry_tools.report.build import build
    from telemetry_tools.report.fetch import fetch, local_files

    if args.folder:
        if args.bucket or args.env_file:
            raise ToolError("give either --from FOLDER or --bucket/--env-file, not both")
        files, source = local_files(args.folder), str(args.folder)
    else:
        env = dict(read_env_file(args.env_file)) if args.env_file else {}
        env.update({k: v for k, v in ((settings.BUCKET, args.bucket), (settings.PREFIX, args.prefix)) if v is not None})
        target = settings.Destination.from_env(env)
        import boto3

        session = boto3.session.Session()  # credentials read now (the default session caches them)
        client = session.client(
            "s3", region_name=args.region or default_region() or None, endpoint_url=args.endpoint_url
        )
        cache = args.cache or args.out / "objects"
        source = f"s3://{target.bucket}/{target.key_root}"
        fetched = fetch(client, target.bucket, target.key_root, cache, progress_printer(f"fetch {source}"))
        files = fetched.files
    stderr_line(
        f"report: reading {len(files)} objects"
        if files
        else f"report: no *.ndjson.gz objects in {source} (is the bucket or prefix right?); the report will be empty"
    )
    written = build(files, source, args.out)
    print(f"report: {written.markdown}, {written.json}, {written.png}")
    return 0


def add_attach(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--function", required=True, help="name or ARN of an existing function")
    parser.add_argument("--layer-arn", required=True, help="the layer version to attach (publish prints it)")
    add_destination_flags(parser)
    parser.add_argument("--region", help="the function's region (default: the layer ARN's)")
    parser.add_argument("--put-role-policy", action="store_true", help="give the function's role the policy too")
    parser.add_argument("--account", default="", help="account of a bare KMS key id")
    parser.add_argument("--dry-run", action="store_true", help="read the function, print the change, change nothing")
    parser.add_argument("--endpoint-url", help="Lambda and IAM endpoint override (a local test server)")


def run_attach(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from telemetry_tools import attach
    from telemetry_tools.aws import call

    layer_base, version = attach.layer_name_of(args.layer_arn)
    region = args.region or layer_base.split(":")[3]
    session = boto3.session.Session()  # credentials read now (the default session caches them)
    client = session.client("lambda", region_name=region, endpoint_url=args.endpoint_url)
    configuration = call(lambda: client.get_function_configuration(FunctionName=args.function), args.function)
    try:
        layer = client.get_layer_version(LayerName=layer_base, VersionNumber=version)
    except (ClientError, BotoCoreError) as error:
        stderr_line(f"attach: cannot read {args.layer_arn} ({error}); its architectures are not checked")
        layer = {}
    requested = destination_settings(args)
    current = (configuration.get("Environment") or {}).get("Variables") or {}
    target = settings.Destination.from_env({**current, **requested})  # the result must be a valid setting
    change = attach.plan(configuration, args.layer_arn, layer, requested)
    document = policy.function_policy(target, region, args.account) if args.put_role_policy else None
    print(attach.describe(change, document is not None))
    if args.dry_run:
        print("dry run: nothing was changed")
        return 0
    iam = session.client("iam", region_name=region, endpoint_url=args.endpoint_url) if document else None
    call(lambda: attach.apply(change, client, iam, document), f"attach to {change.function}")
    print(f"attached: {args.layer_arn} to {change.function}")
    return 0


COMMANDS = (
    ("publish", add_publish, run_publish, "publish the layer zip as a layer version per region"),
    ("policy", add_policy, run_policy, "print the least-privilege IAM policy (function's, or --publisher's)"),
    ("template", add_template, run_template, "print the SAM template (layer, example function, policy)"),
    ("lint-template", add_lint, run_lint, "cfn-lint a SAM template, as written and as AWS's SAM translator makes it"),
    ("attach", add_attach, run_attach, "attach a layer version to an existing function, with its settings"),
    ("athena", add_athena, run_athena, "print Athena DDL over the objects, with partition projection"),
    ("report", add_report, run_report, "the seed's dashboard from the objects: report.md, report.json, report.png"),
)
