"""The shared Lambda construct: every property a HIPAA reviewer asks of a function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template
from constructs.log_retention import retention
from constructs.medivault_function import MediVaultFunction

from stacks import config as cfg
from stacks.composition import new_app, populate

pytestmark = pytest.mark.requirements("R10", "R13")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lambda"


def test_function_is_hardened_and_passes_the_gates(tmp_path: Path) -> None:
    app = new_app(outdir=str(tmp_path))
    stage = populate(app, [cfg.load("production", "123456789012")])["production"]
    network = stage.network
    MediVaultFunction(
        network,
        "Echo",
        source="echo",
        source_root=FIXTURES,
        description="test function",
        vpc=network.vpc,
        vpc_subnets=network.app_subnets,
        security_group=network.endpoint_security_group,
        logs_key=stage.keys.logs_key,
        queue_key=stage.keys.data_key,
        log_retention=retention(731),
        removal_policy=stage.config.removal_policy,
        powertools_layer_version=27,
    )
    app.synth()  # the compliance gates pass with the function in place
    template = Template.from_stack(network)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "echo.handler.lambda_handler",
            "TracingConfig": {"Mode": "Active"},
            "ReservedConcurrentExecutions": 5,
            "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
            "DeadLetterConfig": {"TargetArn": Match.any_value()},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON", "LogGroup": Match.any_value()}),
            "Layers": [Match.string_like_regexp(":017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:27$")],
        },
    )
    [function] = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "echo.handler.lambda_handler"}}).values()
    props = function["Properties"]
    # Its own log group and its own DLQ: found through the function, not any group/queue of the stack.
    log_group = template.to_json()["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["RetentionInDays"] == 731
    assert "LogsKey" in json.dumps(log_group["KmsKeyId"])
    queue_id = props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    queue = template.to_json()["Resources"][queue_id]["Properties"]
    assert queue["MessageRetentionPeriod"] == 1209600
    assert "DataKey" in json.dumps(queue["KmsMasterKeyId"])
    assert template.find_resources("AWS::IAM::Policy") == {}
    # It waits for its permissions policy, not redundantly for its role (cfn-lint W3005 fixed at the source).
    [(function_id, function)] = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "echo.handler.lambda_handler"}}).items()
    [policy_id] = [lid for lid in template.find_resources("AWS::IAM::ManagedPolicy") if lid.startswith("EchoRoleGrantsPolicy")]
    assert function["DependsOn"] == [policy_id], function_id
    assert "Metadata" not in function or "cfn-lint" not in function["Metadata"]
    # The role may use the queue key, so a failed event can really be written to the encrypted DLQ.
    statements = [
        st for policy in template.find_resources("AWS::IAM::ManagedPolicy").values() for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    kms_actions = {a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]) if a.startswith("kms:")}
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= kms_actions
    # The asset holds this function only.
    assets = json.loads(next(tmp_path.rglob("ProductionNetwork*.assets.json")).read_text())
    folders = [tmp_path / "assembly-Production" / f["source"]["path"] for f in assets["files"].values() if "asset." in f["source"]["path"]]
    ours = [f for f in folders if f.is_dir() and (f / "echo").exists()]
    assert len(ours) == 1
    assert sorted(p.name for p in ours[0].iterdir()) == ["echo"]


def _echo(stage: object, network: object, construct_id: str = "Echo") -> MediVaultFunction:
    return MediVaultFunction(
        network,  # type: ignore[arg-type]
        construct_id,
        source="echo",
        source_root=FIXTURES,
        description="test function",
        vpc=network.vpc,  # type: ignore[attr-defined]
        vpc_subnets=network.app_subnets,  # type: ignore[attr-defined]
        security_group=network.endpoint_security_group,  # type: ignore[attr-defined]
        logs_key=stage.keys.logs_key,  # type: ignore[attr-defined]
        queue_key=stage.keys.data_key,  # type: ignore[attr-defined]
        log_retention=retention(731),
        removal_policy=stage.config.removal_policy,  # type: ignore[attr-defined]
        powertools_layer_version=27,
    )


def test_resource_star_acknowledgment_names_each_action_and_refuses_unknown_ones(tmp_path: Path) -> None:
    """Issue 15 item 10: the role's IAM5[Resource::*] reason is written from the role's actual policy
    (an action added by a stack is named with its reason), and an action on '*' with no recorded
    reason fails the synth with a message naming it."""
    from aws_cdk import aws_iam as iam

    app = new_app(outdir=str(tmp_path))
    stage = populate(app, [cfg.load("sandbox", "123456789012")])["sandbox"]
    network = stage.network
    fn = _echo(stage, network)
    fn.role.add_to_principal_policy(iam.PolicyStatement(actions=["cloudwatch:PutMetricData"], resources=["*"]))
    app.synth()
    role = next(
        r for lid, r in Template.from_stack(network).to_json()["Resources"].items() if lid.startswith("EchoRole") and r["Type"] == "AWS::IAM::Role"
    )
    [reason] = [r["reason"] for r in role["Metadata"]["cdk_nag"]["rules_to_suppress"] if r["id"] == "AwsSolutions-IAM5[Resource::*]"]
    for action in ("ec2:DescribeNetworkInterfaces", "xray:PutTraceSegments", "cloudwatch:PutMetricData"):
        assert action in reason
    assert "ec2:CreateNetworkInterface" not in reason  # scoped, not on '*'

    app = new_app(outdir=str(tmp_path / "bad"))
    stage = populate(app, [cfg.load("sandbox", "123456789012")])["sandbox"]
    fn = _echo(stage, stage.network)
    fn.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    with pytest.raises(Exception, match=r"s3:GetObject on Resource '\*' has no recorded reason"):
        app.synth()
