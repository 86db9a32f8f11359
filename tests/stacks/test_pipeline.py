"""The delivery pipeline (R16): stage order, approval before production, the test/scan step,
KMS on artifacts, encrypted logs, notifications, least-privilege roles, gates and cfn-lint."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import config as cfg
from stacks.composition import compose, new_app
from stacks.config import pipeline as pipeline_cfg
from stacks.config.pipeline import DELIVERY_ROLE_PATH
from stacks.pipeline_stack import CDK_ASSETS_VERSION, CDK_CLI_VERSION, NOTIFY_ON
from stacks.stage import MediVaultStage
from tests.conftest import CONCRETE_ACCOUNTS, PipelineSynthesized, cfn_lint_command, resources_of
from tests.stacks.iam_eval import evaluate
from tests.stacks.test_cfn_lint import _templates

pytestmark = pytest.mark.requirements("R16")


def _only(template_resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(template_resources) == 1, sorted(template_resources)
    return next(iter(template_resources.items()))


def _pipeline(ps: PipelineSynthesized) -> dict[str, Any]:
    props: dict[str, Any] = _only(resources_of(ps.template(), "AWS::CodePipeline::Pipeline"))[1]["Properties"]
    return props


def _logical_id(ps: PipelineSynthesized, construct: Any) -> str:
    return str(ps.pipeline.get_logical_id(construct.node.default_child))


def _projects(ps: PipelineSynthesized) -> dict[str, dict[str, Any]]:
    return resources_of(ps.template(), "AWS::CodeBuild::Project")


def _actions(statement: dict[str, Any]) -> list[str]:
    """A statement's Action as a list (IAM takes a string or a list)."""
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _grants(statement: dict[str, Any], action: str) -> bool:
    """Whether ``statement`` names ``action``: exactly or by a wildcard (IAM action names match case-insensitively)."""
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _actions(statement))


def test_grants_sees_an_action_in_a_list_and_behind_a_wildcard() -> None:
    assert _grants({"Action": ["iam:PassRole", "sts:AssumeRole"]}, "sts:AssumeRole")
    assert _grants({"Action": "sts:*"}, "sts:AssumeRole") and _grants({"Action": "*"}, "sts:AssumeRole")
    assert _grants({"Action": "STS:assumerole"}, "sts:AssumeRole")
    assert not _grants({"Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}, "sts:AssumeRole")


def test_stages_run_sandbox_then_approval_then_production(pipeline_synth: PipelineSynthesized) -> None:
    stages = _pipeline(pipeline_synth)["Stages"]
    assert [s["Name"] for s in stages] == ["Source", "Build", "UpdatePipeline", "Assets", "Sandbox", "Production"]
    by_name = {s["Name"]: s["Actions"] for s in stages}
    # No approval gates the sandbox; every production deploy action runs after the manual approval.
    assert all(a["ActionTypeId"]["Category"] == "Deploy" for a in by_name["Sandbox"])
    approvals = [a for a in by_name["Production"] if a["ActionTypeId"]["Category"] == "Approval"]
    assert [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in approvals] == [("PromoteToProduction", "Manual", 1)]
    deploys = [a for a in by_name["Production"] if a is not approvals[0]]
    assert deploys and all(a["ActionTypeId"]["Category"] == "Deploy" and a["RunOrder"] > 1 for a in deploys)


def test_stages_deploy_every_stack_of_the_medivault_stage(pipeline_synth: PipelineSynthesized) -> None:
    # The pipeline's stages are MediVaultStage instances: every stack the stage gains is deployed.
    by_name = {s["Name"]: s["Actions"] for s in _pipeline(pipeline_synth)["Stages"]}
    for env, stage in (("sandbox", pipeline_synth.pipeline.sandbox_stage), ("production", pipeline_synth.pipeline.production_stage)):
        expected = {s.stack_name for s in stage.node.children if hasattr(s, "stack_name")}
        deployed = {a["Configuration"]["StackName"] for a in by_name[stage.stage_name] if a["ActionTypeId"]["Category"] == "Deploy"}
        assert expected == deployed
        assert {f"{stage.stage_name}-Keys", f"{stage.stage_name}-Network"} <= deployed
        account = CONCRETE_ACCOUNTS[env]
        for action in (a for a in by_name[stage.stage_name] if a["ActionTypeId"]["Category"] == "Deploy"):
            assert f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-" in json.dumps(action["RoleArn"])
            assert action["ActionTypeId"]["Provider"] == "CloudFormation"


def test_source_is_the_configured_connection(pipeline_synth: PipelineSynthesized) -> None:
    source = _pipeline(pipeline_synth)["Stages"][0]["Actions"]
    config = pipeline_synth.pipeline.config
    assert [a["ActionTypeId"]["Provider"] for a in source] == ["CodeStarSourceConnection"]
    assert source[0]["Configuration"]["ConnectionArn"] == config.connection_arn
    assert source[0]["Configuration"]["FullRepositoryId"] == "medivault/medivault-eu"
    assert source[0]["Configuration"]["BranchName"] == "main"


def test_synth_step_runs_the_test_command_then_synth_and_fails_on_findings(pipeline_synth: PipelineSynthesized) -> None:
    project = _projects(pipeline_synth)[_logical_id(pipeline_synth, pipeline_synth.pipeline.pipeline.synth_project)]["Properties"]
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == ["python3 --version", "make deps"]
    # The README's test command (ruff, mypy, pytest with the gates and cfn-lint), then the gated synth.
    assert spec["phases"]["build"]["commands"] == ["make test", "make synth"]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    env = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    # The build synthesizes exactly this pipeline: same accounts and connection.
    assert env["MEDIVAULT_SANDBOX_ACCOUNT"] == CONCRETE_ACCOUNTS["sandbox"]
    assert env["MEDIVAULT_PRODUCTION_ACCOUNT"] == CONCRETE_ACCOUNTS["production"]
    assert env["MEDIVAULT_TOOLING_ACCOUNT"] == pipeline_cfg.PLACEHOLDER_TOOLING_ACCOUNT
    assert env["MEDIVAULT_PIPELINE_CONNECTION_ARN"] == pipeline_cfg.PLACEHOLDER_CONNECTION_ARN


def test_make_targets_the_pipeline_runs_fail_on_findings() -> None:
    # `make synth` exits non-zero when tools.summary sees a violation; `make test` runs pytest (gated synth, cfn-lint).
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    # make test: ruff, mypy and pytest side by side in a sub-make, which fails when any of them fails
    # (no -k/-i, no "|| true", no leading "-" that would let a failure pass).
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert re.fullmatch(r" deps\n\t@\$\(MAKE\) --no-print-directory -j3 --output-sync=target lint typecheck unit", test_recipe), test_recipe
    synth_recipe = makefile.split("\nsynth:", 1)[1].split("\n\n", 1)[0]
    assert "tools.summary $(OUT) || rc=1" in synth_recipe
    assert synth_recipe.rstrip().endswith("exit $$rc")


def test_self_mutation_is_on_with_the_pinned_cli(pipeline_synth: PipelineSynthesized) -> None:
    stages = {s["Name"]: s["Actions"] for s in _pipeline(pipeline_synth)["Stages"]}
    assert [a["Name"] for a in stages["UpdatePipeline"]] == ["SelfMutate"]
    project = _projects(pipeline_synth)[_logical_id(pipeline_synth, pipeline_synth.pipeline.pipeline.self_mutation_project)]["Properties"]
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{CDK_CLI_VERSION}"]
    assert spec["phases"]["build"]["commands"] == ["cdk -a . deploy Pipeline --require-approval=never --verbose"]


def test_codebuild_unprivileged_encrypted_and_logging_to_encrypted_group(pipeline_synth: PipelineSynthesized) -> None:
    ps = pipeline_synth
    key = _logical_id(ps, ps.pipeline.artifact_key)
    log_group = _logical_id(ps, ps.pipeline.build_logs)
    projects = _projects(ps)
    assert len(projects) >= 3
    for lid, project in projects.items():
        props = project["Properties"]
        # Privileged (Docker) mode only where asset publishing builds container images (docs/pipeline.md).
        assert props["Environment"]["PrivilegedMode"] is ("DockerAsset" in lid), lid
        assert props["EncryptionKey"] == {"Fn::GetAtt": [key, "Arn"]}, lid
        assert props["LogsConfig"]["CloudWatchLogs"] == {"GroupName": {"Ref": log_group}, "Status": "ENABLED"}, lid
    logs_key = _logical_id(ps, ps.pipeline.logs_key)
    group = resources_of(ps.template(), "AWS::Logs::LogGroup")[log_group]
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logs_key, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == 731
    assert group["DeletionPolicy"] == "Retain"


def test_artifacts_are_kms_encrypted_with_rotated_keys_in_every_region(pipeline_synth: PipelineSynthesized) -> None:
    ps = pipeline_synth
    stores = {s["Region"]: s["ArtifactStore"] for s in _pipeline(ps)["ArtifactStores"]}
    assert set(stores) == {"eu-central-1", "eu-west-1", "us-east-1"}
    assert all(s["EncryptionKey"]["Type"] == "KMS" for s in stores.values())
    key = _logical_id(ps, ps.pipeline.artifact_key)
    assert stores["eu-central-1"]["EncryptionKey"]["Id"] == {"Fn::GetAtt": [key, "Arn"]}
    for region in ("eu-west-1", "us-east-1"):
        assert stores[region]["EncryptionKey"]["Id"] == f"arn:aws:kms:{region}:444444444444:alias/medivault/delivery/artifacts-{region}"
    for template in [ps.template(), *(ps.template(s) for s in ps.replication_stacks)]:
        keys = resources_of(template, "AWS::KMS::Key")
        assert keys and all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())
    bucket = resources_of(ps.template(), "AWS::S3::Bucket")[_logical_id(ps, ps.pipeline.artifact_bucket)]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in bucket
    for stack in ps.replication_stacks:
        buckets = resources_of(ps.template(stack), "AWS::S3::Bucket")
        kms_buckets = [
            b
            for b in buckets.values()
            if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            == "aws:kms"
        ]
        assert len(kms_buckets) == 1 and "LoggingConfiguration" in kms_buckets[0]["Properties"], stack.stack_name


def test_artifact_buckets_refuse_plain_http(pipeline_synth: PipelineSynthesized) -> None:
    for template in [pipeline_synth.template(), *(pipeline_synth.template(s) for s in pipeline_synth.replication_stacks)]:
        policies = resources_of(template, "AWS::S3::BucketPolicy")
        assert len(policies) == 2  # artifact bucket and its access-log bucket
        for policy in policies.values():
            denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
            assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_failures_notify_an_encrypted_topic(pipeline_synth: PipelineSynthesized) -> None:
    ps = pipeline_synth
    template = ps.template()
    topic_id, topic = _only(resources_of(template, "AWS::SNS::Topic"))
    notifications_key = _logical_id(ps, ps.pipeline.notifications_key)
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [notifications_key, "Arn"]}
    _, rule = _only(resources_of(template, "AWS::CodeStarNotifications::NotificationRule"))
    props = rule["Properties"]
    pipeline_id = _only(resources_of(template, "AWS::CodePipeline::Pipeline"))[0]
    assert json.dumps(props["Resource"]).count(pipeline_id) == 1
    assert props["Status"] == "ENABLED"
    assert "codepipeline-pipeline-pipeline-execution-failed" in props["EventTypeIds"]
    assert sorted(props["EventTypeIds"]) == sorted(NOTIFY_ON)
    assert props["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]
    _, subscription = _only(resources_of(template, "AWS::SNS::Subscription"))
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == ps.pipeline.config.notification_email
    # CodeStar Notifications may publish, and may use the topic's key only through SNS.
    key_policy = resources_of(template, "AWS::KMS::Key")[notifications_key]["Properties"]["KeyPolicy"]["Statement"]
    service = [s for s in key_policy if s.get("Principal") == {"Service": "codestar-notifications.amazonaws.com"}]
    assert len(service) == 1
    assert service[0]["Condition"] == {"StringEquals": {"kms:ViaService": "sns.eu-central-1.amazonaws.com"}}
    assert sorted(service[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    topic_policy = _only(resources_of(template, "AWS::SNS::TopicPolicy"))[1]["Properties"]["PolicyDocument"]["Statement"]
    publish = [s for s in topic_policy if s.get("Principal") == {"Service": "codestar-notifications.amazonaws.com"}]
    assert [(s["Action"], s["Condition"]) for s in publish] == [("sns:Publish", {"StringEquals": {"aws:SourceAccount": "444444444444"}})]


def test_pipeline_role_assumes_only_the_target_accounts_deploy_roles(pipeline_synth: PipelineSynthesized) -> None:
    ps = pipeline_synth
    policy = resources_of(ps.template(), "AWS::IAM::ManagedPolicy")[_logical_id(ps, ps.pipeline.pipeline_role.node.find_child("GrantsPolicy"))]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert all("NotAction" not in s for s in statements)
    # Every statement that grants sts:AssumeRole, alone, in a list or by a wildcard (sts:*, sts:Assume*, *).
    assume = [s for s in statements if _grants(s, "sts:AssumeRole")]
    assert len(assume) == 1 and _actions(assume[0]) == ["sts:AssumeRole"] and assume[0]["Effect"] == "Allow"
    accounts = "|".join(CONCRETE_ACCOUNTS.values())
    pattern = re.compile(rf":iam::({accounts}):role/cdk-hnb659fds-deploy-role-\1-(eu-central-1|eu-west-1|us-east-1)$")
    for resource in assume[0]["Resource"]:
        arn = "".join(p if isinstance(p, str) else "" for p in resource["Fn::Join"][1])
        assert pattern.search(arn), arn
    assert "*" not in json.dumps(assume[0]["Resource"])
    connection = [s for s in statements if _grants(s, "codestar-connections:UseConnection")]
    assert [(_actions(s), s["Resource"]) for s in connection] == [(["codestar-connections:UseConnection"], ps.pipeline.config.connection_arn)]
    # Actions run as this role: no generated per-action roles with inline policies.
    assert not [lid for lid in resources_of(ps.template(), "AWS::IAM::Role") if "ActionRole" in lid]


def test_placeholder_connection_refuses_to_deploy(pipeline_synth: PipelineSynthesized) -> None:
    assert pipeline_synth.pipeline.config.is_placeholder
    rules = pipeline_synth.template().to_json()["Rules"]
    assertion = rules["RequireRepositoryConnection"]["Assertions"][0]
    assert assertion["Assert"] == {"Fn::Equals": ["review-placeholder", "configured"]}
    assert "MEDIVAULT_PIPELINE_CONNECTION_ARN" in assertion["AssertDescription"]


def test_stateful_logical_ids_are_pinned(pipeline_synth: PipelineSynthesized) -> None:
    template = pipeline_synth.template()
    assert set(resources_of(template, "AWS::KMS::Key")) == {"ArtifactKey8D84C5F0", "LogsKeyFE4C4A83", "NotificationsKeyDB5F2700"}
    assert set(resources_of(template, "AWS::S3::Bucket")) == {"ArtifactsBucket88671897", "ArtifactsAccessLogs4D97777C"}
    assert "BuildLogs3759266E" in resources_of(template, "AWS::Logs::LogGroup")
    assert pipeline_synth.pipeline.termination_protection is True


def test_gates_pass_and_acknowledgments_are_written(pipeline_synth: PipelineSynthesized) -> None:
    report = json.loads((pipeline_synth.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin.get("violations", []) == [], plugin["pluginName"]
    policies = resources_of(pipeline_synth.template(), "AWS::IAM::Policy")
    mutation = next(p for lid, p in policies.items() if lid.startswith("PipelineUpdatePipelineSelfMutationRoleDefaultPolicy"))
    ids = {r["id"] for r in mutation["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert "HIPAA.Security-IAMNoInlinePolicy" in ids
    # Its look-ups are scoped to named stacks now: no Resource '*' left to acknowledge.
    assert "AwsSolutions-IAM5[Resource::*]" not in ids
    assert "AwsSolutions-IAM5[Resource::arn:aws:cloudformation:*:444444444444:stack/CDKToolkit/*]" in ids


def test_cfn_lint_clean_on_the_pipeline_app(pipeline_synth: PipelineSynthesized) -> None:
    templates = _templates(pipeline_synth.outdir)
    # pipeline, two replication stacks, and the stacks of both stages
    assert len(templates) >= 7
    # cfn-lint over exactly these templates, started in the background when the fixture synthesized them.
    assert pipeline_synth.lint is not None and pipeline_synth.lint.templates == templates
    result = pipeline_synth.lint.result()
    assert result.args == cfn_lint_command(templates)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gates_cover_the_stages_inside_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stacks.pipeline_stack

    class StageWithABadBucket(MediVaultStage):
        # add_stage synthesizes the stage at once, so the bad bucket must exist before it.
        def __init__(self, scope: Construct, *, config: cfg.EnvironmentConfig) -> None:
            super().__init__(scope, config=config)
            if config.is_production:
                s3.Bucket(self.network, "NonCompliantBucket")

    monkeypatch.setattr(stacks.pipeline_stack, "MediVaultStage", StageWithABadBucket)
    app = new_app(outdir=str(tmp_path))
    compose(
        app,
        environments=[cfg.sandbox(CONCRETE_ACCOUNTS["sandbox"]), cfg.production(CONCRETE_ACCOUNTS["production"])],
        pipeline=pipeline_cfg.tooling(),
    )
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violating = {c["constructPath"] for p in report["pluginReports"] for v in p.get("violations", []) for c in v["violatingConstructs"]}
    assert violating == {"Pipeline/Production/Network/NonCompliantBucket/Resource"}


def test_acknowledgments_are_written_into_the_pipeline_stages(pipeline_synth: PipelineSynthesized) -> None:
    network = pipeline_synth.pipeline.production_stage.network
    routes = pipeline_synth.template(network).find_resources("AWS::EC2::Route")
    public = [r for lid, r in routes.items() if "PublicSubnet" in lid]
    assert len(public) == 3
    for route in public:
        assert [s["id"] for s in route["Metadata"]["cdk_nag"]["rules_to_suppress"]] == ["HIPAA.Security-VPCNoUnrestrictedRouteToIGW"]


def test_ignore_cfn_lint_keeps_every_rule_on_one_resource() -> None:
    import aws_cdk as cdk
    from constructs.compliance import ignore_cfn_lint

    bucket = s3.Bucket(cdk.Stack(cdk.App(), "S"), "B")
    ignore_cfn_lint(bucket, "W1111", "first reason, long enough to be accepted by acknowledge")
    ignore_cfn_lint(bucket, "W2222", "second reason, long enough to be accepted by acknowledge")
    resource = bucket.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    assert resource.get_metadata("cfn-lint") == {"config": {"ignore_checks": ["W1111", "W2222"]}}


def test_app_switches_the_pipeline_off_with_context(tmp_path: Path) -> None:
    from tests.stacks.test_synth import _run_app

    result = _run_app({"environments": "sandbox", "pipeline": "false"}, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    artifacts = json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
    assert "Pipeline" not in artifacts and "assembly-Sandbox" in artifacts


def test_app_rejects_a_bad_tooling_account_with_one_clear_line(tmp_path: Path) -> None:
    from tests.stacks.test_synth import _run_app

    result = _run_app({"environments": "sandbox", "tooling_account": "123"}, tmp_path)
    assert result.returncode != 0
    assert "medivault: invalid configuration: pipeline.account: '123' is not an AWS account ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_container_image_asset_publishes_privileged_and_passes_the_gates(pipeline_synth: PipelineSynthesized) -> None:
    # The app tier's container image (the service, constructs/app_service.py) makes CDK Pipelines add a Docker
    # publishing project: the only privileged one. The fixture's synth passed the gates with it (its
    # generated Docker role and project carry their acknowledgments); cfn-lint runs over the same
    # assembly in test_cfn_lint_clean_on_the_pipeline_app. Synth hashes the directory only; no Docker.
    images = [
        image
        for manifest in pipeline_synth.outdir.glob("assembly-Pipeline-*/*.assets.json")
        for image in json.loads(manifest.read_text()).get("dockerImages", {})
    ]
    assert images, "the pipeline's stages hold no container image asset"
    projects = _projects(pipeline_synth)
    privileged = sorted(lid for lid, p in projects.items() if p["Properties"]["Environment"]["PrivilegedMode"])
    assert len(privileged) == 1 and privileged[0].startswith("PipelineAssetsDockerAsset")


def _asset_projects(ps: PipelineSynthesized) -> dict[str, dict[str, Any]]:
    return {lid: p for lid, p in _projects(ps).items() if lid.startswith("PipelineAssets")}


def test_assets_publish_on_arm_with_a_pinned_cdk_assets(pipeline_synth: PipelineSynthesized) -> None:
    """Issue 14 defect 5. The service image is linux/arm64 with RUN steps; building it on an x86
    CodeBuild image fails with "exec format error" (https://github.com/aws/aws-cdk/issues/28863), so
    every asset-publishing project runs on CodeBuild's aarch64 image (ARM_CONTAINER; see
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-available.html). The
    buildspec CDK Pipelines writes installs ``cdk-assets@<cdkAssetsCliVersion>``, "latest" by
    default (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines.CodePipelineProps.html):
    pinned, so an unreviewed cdk-assets release cannot change how assets are published."""
    ps = pipeline_synth
    manifests = list(ps.outdir.glob("assembly-Pipeline-*/*.assets.json"))
    platforms = {image.get("source", {}).get("platform") for m in manifests for image in json.loads(m.read_text()).get("dockerImages", {}).values()}
    assert platforms == {"linux/arm64"}  # what makes an ARM build necessary
    projects = _asset_projects(ps)
    assert {lid for lid in projects if "DockerAsset" in lid} and {lid for lid in projects if "FileAsset" in lid}
    for lid, project in projects.items():
        environment = project["Properties"]["Environment"]
        assert environment["Type"] == "ARM_CONTAINER", lid
        assert "aarch64" in environment["Image"], lid
        assert environment["ComputeType"] in ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"), lid  # the ARM sizes
        spec = json.loads((ps.outdir / project["Properties"]["Source"]["BuildSpec"]).read_text())
        assert spec["phases"]["install"]["commands"] == [f"npm install -g cdk-assets@{CDK_ASSETS_VERSION}"], lid
    assert re.fullmatch(r"\d+\.\d+\.\d+", CDK_ASSETS_VERSION)
    # Synth and self-mutation run no container builds: they stay on the x86 standard image.
    others = {lid: p for lid, p in _projects(ps).items() if lid not in projects}
    assert others and all(p["Properties"]["Environment"]["Type"] == "LINUX_CONTAINER" for p in others.values())


def _statements(template_resources: dict[str, dict[str, Any]], logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = template_resources[logical_id]["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_pipeline_role_uses_only_the_replication_keys_not_every_key(pipeline_synth: PipelineSynthesized) -> None:
    """Issue 15 item 9: CodePipeline names other-region replication keys by alias, so its grant
    read kms:* actions on Resource '*'. KMS cannot take an alias ARN as a policy resource for key
    operations; ``kms:ResourceAliases`` scopes by alias instead
    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases)."""
    ps = pipeline_synth
    statements = _statements(
        resources_of(ps.template(), "AWS::IAM::ManagedPolicy"), _logical_id(ps, ps.pipeline.pipeline_role.node.find_child("GrantsPolicy"))
    )
    assert not [s for s in statements if "*" in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    policy = {"Statement": statements}
    for region in ("eu-west-1", "us-east-1"):
        key = f"arn:aws:kms:{region}:444444444444:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        alias = {"kms:ResourceAliases": [f"alias/medivault/delivery/artifacts-{region}"]}
        assert evaluate(policy, "kms:GenerateDataKey", key, alias) == "Allow", region
        assert evaluate(policy, "kms:Decrypt", key, {"kms:ResourceAliases": ["alias/medivault/production/data"]}) == "Implicit", region
        assert evaluate(policy, "kms:Decrypt", key, {}) == "Implicit", region
    other_account = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert evaluate(policy, "kms:Decrypt", other_account, {"kms:ResourceAliases": ["alias/medivault/delivery/artifacts-eu-west-1"]}) == "Implicit"
    # The pipeline's own roles live under the delivery path the organisation's region SCP names.
    roles = resources_of(ps.template(), "AWS::IAM::Role")
    assert roles[_logical_id(ps, ps.pipeline.pipeline_role)]["Properties"]["Path"] == DELIVERY_ROLE_PATH


def test_self_mutation_lists_and_describes_only_its_own_buckets_and_stacks(pipeline_synth: PipelineSynthesized) -> None:
    """Issue 15 item 9: CDK Pipelines grants the self-mutation role cloudformation:DescribeStacks and
    s3:ListBucket on '*'. Scoped to the CDK bootstrap stack and assets bucket of each region the
    pipeline deploys to (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html) and the
    pipeline's own stacks and artifact buckets."""
    ps = pipeline_synth
    mutation_role = ps.pipeline.pipeline.self_mutation_project.role
    policy_id = next(
        lid for lid in resources_of(ps.template(), "AWS::IAM::Policy") if lid.startswith("PipelineUpdatePipelineSelfMutationRoleDefaultPolicy")
    )
    statements = _statements(resources_of(ps.template(), "AWS::IAM::Policy"), policy_id)
    assert not [s for s in statements if s["Resource"] == "*" or "*" in (s["Resource"] if isinstance(s["Resource"], list) else [])]
    policy = {"Statement": statements}
    assert evaluate(policy, "s3:ListBucket", "arn:aws:s3:::cdk-hnb659fds-assets-444444444444-us-east-1") == "Allow"
    assert evaluate(policy, "s3:ListBucket", "arn:aws:s3:::production-data-recordsbucket600c9c86-1x2y3z4w5v6u") == "Implicit"
    assert evaluate(policy, "cloudformation:DescribeStacks", "arn:aws:cloudformation:eu-west-1:444444444444:stack/CDKToolkit/abc") == "Allow"
    assert evaluate(policy, "cloudformation:DescribeStacks", "arn:aws:cloudformation:eu-central-1:444444444444:stack/Other/abc") == "Implicit"
    # Its generated role is under the delivery path, and CodeBuild is given the role's ARN: a Ref
    # (the role name) loses the path (cfn-lint E3050).
    role_id = ps.pipeline.get_logical_id(mutation_role.node.default_child)
    assert resources_of(ps.template(), "AWS::IAM::Role")[role_id]["Properties"]["Path"] == DELIVERY_ROLE_PATH
    project = _projects(ps)[_logical_id(ps, ps.pipeline.pipeline.self_mutation_project)]["Properties"]
    assert project["ServiceRole"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_no_key_policy_lets_a_service_use_a_pipeline_key_unconditioned(pipeline_synth: PipelineSynthesized) -> None:
    """Issue 15 item 9 (pipeline part): every service-principal statement of the pipeline's key
    policies is conditioned (kms:ViaService / aws:SourceAccount), so a service acting for another
    account cannot use the keys (confused deputy,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html)."""
    for template in [pipeline_synth.template(), *(pipeline_synth.template(s) for s in pipeline_synth.replication_stacks)]:
        for lid, key in resources_of(template, "AWS::KMS::Key").items():
            for statement in key["Properties"]["KeyPolicy"]["Statement"]:
                if "Service" in statement.get("Principal", {}):
                    assert statement.get("Condition"), (lid, statement.get("Sid"))
