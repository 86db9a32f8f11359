"""tools/sandbox/preflight.py against moto (STS, IAM, CloudFormation, SSM, Config, GuardDuty, EC2, Route 53)
and botocore Stubber where moto 5.2.5 lacks the API or answers wrongly - said at each use:
backup DescribeRegionSettings ("Not yet implemented"), lambda GetAccountSettings ("Not yet implemented")
and GetLayerVersionByArn (NotImplementedError), service-quotas GetServiceQuota ("not available in the
current Region"), macie2 GetMacieSession (moto reports a session as ENABLED before Macie is enabled),
cloudformation DescribeStacks (moto's CloudFormation imports openapi_spec_validator, an extra the
lock file does not carry)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.tools.conftest import ACCOUNT, LAYER, STACKS, write_assembly
from tools.sandbox import assembly, preflight
from tools.sandbox.aws import Aws

pytestmark = pytest.mark.usefixtures("aws_credentials")
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/eu-central-1/"


def _docker(arm64: bool) -> preflight.Runner:
    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        assert command == ["docker", "buildx", "ls"]
        platforms = "linux/amd64, linux/arm64, linux/arm/v7" if arm64 else "linux/amd64, linux/386"
        return subprocess.CompletedProcess(command, 0, stdout=f"default * docker\n  default default running {platforms}\n", stderr="")

    return run


class Account:
    """A moto account prepared like a ready sandbox account; ``stubs`` for what moto lacks."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.calls: list[str] = []
        session.events.register("before-call", self._record)
        self.stubs: dict[tuple[str, str], Stubber] = {}

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def stub(self, service: str, region: str) -> Stubber:
        stubber = Stubber(self.session.client(service, region_name=region))  # type: ignore[call-overload]
        self.stubs[(service, region)] = stubber
        return stubber

    def aws(self) -> Aws:
        for stubber in self.stubs.values():
            stubber.activate()
        return Aws(self.session, {key: stubber.client for key, stubber in self.stubs.items()})


def _ready(
    tmp_path: Path, *, opted_in: bool = True, unreserved: int = 1000, macie: bool = False, toolkit_missing: str = ""
) -> tuple[Account, Path, Aws]:
    """An account that passes every check (then tests break one thing each)."""
    admin = boto3.Session(region_name="eu-central-1")
    iam = admin.client("iam")
    iam.create_role(RoleName="AWSReservedSSO_Admin_0123", Path=SSO_ROLE_PATH, AssumeRolePolicyDocument="{}")
    iam.create_role(RoleName="AWSServiceRoleForConfig", Path="/aws-service-role/config.amazonaws.com/", AssumeRolePolicyDocument="{}")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role{SSO_ROLE_PATH}AWSReservedSSO_Admin_0123"
    creds = admin.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")["Credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"]
    )
    for region in ("eu-central-1", "eu-west-1", "us-east-1"):
        admin.client("ssm", region_name=region).put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="28", Type="String")
    zone = admin.client("route53").create_hosted_zone(Name="medivault-demo.de", CallerReference="t")["HostedZone"]["Id"].split("/")[-1]
    cloudfront = next(
        p["PrefixListId"]
        for p in admin.client("ec2").describe_managed_prefix_lists()["PrefixLists"]
        if p["PrefixListName"] == "com.amazonaws.global.cloudfront.origin-facing"
    )
    stacks = json.loads(json.dumps(STACKS).replace("Z0123456789ABCDEFGHIJ", zone).replace("pl-a3a144ca", cloudfront))
    outdir = write_assembly(tmp_path / "cdk.out.sandbox", stacks)

    account = Account(session)
    for region in ("eu-central-1", "eu-west-1", "us-east-1"):  # moto's CloudFormation needs an extra not in the lock
        toolkit = account.stub("cloudformation", region)
        if region == toolkit_missing:
            toolkit.add_client_error("describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist", 400)
        else:
            toolkit.add_response(
                "describe_stacks",
                {
                    "Stacks": [
                        {
                            "StackName": "CDKToolkit",
                            "CreationTime": "2026-12-01T00:00:00Z",
                            "StackStatus": "UPDATE_COMPLETE",
                            "Parameters": [{"ParameterKey": "Qualifier", "ParameterValue": "hnb659fds"}],
                        }
                    ]
                },
                {"StackName": "CDKToolkit"},
            )
    for region in ("eu-central-1", "eu-west-1"):  # moto: DescribeRegionSettings not implemented
        account.stub("backup", region).add_response(
            "describe_region_settings", {"ResourceTypeOptInPreference": {"Aurora": opted_in, "S3": opted_in, "DynamoDB": True}}
        )
    fn = account.stub("lambda", "eu-central-1")  # moto: GetAccountSettings / GetLayerVersionByArn not implemented
    fn.add_response("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": unreserved}})
    fn.add_response("get_layer_version_by_arn", {"LayerVersionArn": LAYER, "Version": 27}, {"Arn": LAYER})
    quotas = account.stub("service-quotas", "eu-central-1")  # moto: GetServiceQuota unavailable in the region
    for code, value in (("L-0263D0A3", 5.0), ("L-F678F1CE", 5.0), ("L-FE5A380F", 5.0)):
        quotas.add_response(
            "get_service_quota",
            {"Quota": {"QuotaCode": code, "Value": value}},
            {"ServiceCode": "ec2" if code == "L-0263D0A3" else "vpc", "QuotaCode": code},
        )
    session_stub = account.stub("macie2", "eu-central-1")  # moto: answers ENABLED even before Macie is enabled
    if macie:
        session_stub.add_response("get_macie_session", {"status": "ENABLED"})
    else:
        session_stub.add_client_error("get_macie_session", "AccessDeniedException", "Macie is not enabled", 403)
    return account, outdir, account.aws()


def _results(aws: Aws, outdir: Path, arm64: bool = True) -> dict[str, preflight.Result]:
    check = preflight.Preflight(
        aws, ACCOUNT, assembly.stage_stacks(outdir, "Sandbox"), run=_docker(arm64), assets=preflight.docker_assets(outdir, "Sandbox")
    )
    return {r.name: r for r in check.results()}


@mock_aws
def test_a_ready_account_passes_every_check_with_read_only_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account, outdir, aws = _ready(tmp_path)
    code = preflight.main(["--account", ACCOUNT, "--assembly", str(outdir)], aws=aws, run=_docker(True))
    out = capsys.readouterr().out
    assert code == 0, out
    for name in (
        "credentials",
        "teardown principal",
        "bootstrap eu-central-1",
        "bootstrap eu-west-1",
        "bootstrap us-east-1",
        "backup opt-in eu-central-1",
        "backup opt-in eu-west-1",
        "AWS Config configuration recorder eu-central-1",
        "GuardDuty detector eu-central-1",
        "Macie session eu-central-1",
        "service-linked role AWSServiceRoleForConfig",
        "lambda concurrency eu-central-1",
        "EC2-VPC Elastic IPs eu-central-1",
        "VPCs per Region eu-central-1",
        "NAT gateways per Availability Zone eu-central-1",
        "docker arm64",
    ):
        assert f"PASS  {name}:" in out
    assert "hosted zone" in out and "layer AWSLambdaPowertoolsPythonV3-python314-arm64:27" in out and "prefix list" in out
    assert "FAIL" not in out
    assert account.calls and all(c.startswith(("Describe", "Get", "List")) for c in account.calls), account.calls
    for stubber in account.stubs.values():
        stubber.assert_no_pending_responses()


@mock_aws
def test_missing_prerequisites_each_fail_with_the_fix(tmp_path: Path) -> None:
    _, outdir, aws = _ready(tmp_path, opted_in=False, unreserved=110, macie=True, toolkit_missing="us-east-1")
    admin = boto3.Session(region_name="eu-central-1")
    admin.client("config").put_configuration_recorder(
        ConfigurationRecorder={"name": "aws-controltower-BaselineConfigRecorder", "roleARN": "arn:aws:iam::123456789012:role/x"}
    )
    admin.client("guardduty").create_detector(Enable=True)
    admin.client("iam").delete_role(RoleName="AWSServiceRoleForConfig")
    admin.client("ssm", region_name="eu-west-1").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="5", Type="String", Overwrite=True)
    results = _results(aws, outdir, arm64=False)
    failed = {name: r for name, r in results.items() if not r.ok}
    assert failed["bootstrap us-east-1"].fix == f"node_modules/.bin/cdk bootstrap aws://{ACCOUNT}/us-east-1"
    assert "version 5 (stage needs 6)" in failed["bootstrap eu-west-1"].detail
    assert "--resource-type-opt-in-preference Aurora=true,S3=true" in failed["backup opt-in eu-west-1"].fix
    assert "-c existing_config_recorder=true" in failed["AWS Config configuration recorder eu-central-1"].fix
    assert "-c existing_guardduty_detector=true" in failed["GuardDuty detector eu-central-1"].fix
    assert "-c existing_macie_session=true" in failed["Macie session eu-central-1"].fix
    assert failed["service-linked role AWSServiceRoleForConfig"].fix == "aws iam create-service-linked-role --aws-service-name config.amazonaws.com"
    # 2 + 5 + 5 + 1 reserved of 110 unreserved leaves 97 < 100.
    assert "the stage reserves 13; 110 of 1000 are unreserved, 97 would remain" in failed["lambda concurrency eu-central-1"].detail
    assert "tonistiigi/binfmt --install arm64" in failed["docker arm64"].fix
    assert "bootstrap eu-central-1" not in failed


@mock_aws
def test_the_switches_turn_the_singleton_checks_around(tmp_path: Path) -> None:
    """With -c existing_config_recorder=true the Audit template has no recorder: the account must have one."""
    account, _, aws = _ready(tmp_path)
    account.stubs[("macie2", "eu-central-1")].add_client_error("get_macie_session", "AccessDeniedException", "Macie is not enabled", 403)
    no_recorder = json.loads(json.dumps(STACKS))
    del no_recorder["SandboxAudit"][2]["Recorder"]
    outdir = write_assembly(tmp_path / "switched", no_recorder)
    [result] = [r for r in preflight.Preflight(aws, ACCOUNT, assembly.stage_stacks(outdir, "Sandbox")).singletons() if "Config" in r.name]
    assert not result.ok and "uses the account's own, but there is none" in result.detail
    boto3.client("config", region_name="eu-central-1").put_configuration_recorder(
        ConfigurationRecorder={"name": "aws-controltower-BaselineConfigRecorder", "roleARN": "arn:aws:iam::123456789012:role/x"}
    )
    [result] = [r for r in preflight.Preflight(aws, ACCOUNT, assembly.stage_stacks(outdir, "Sandbox")).singletons() if "Config" in r.name]
    assert result.ok


@mock_aws
def test_wrong_account_placeholder_zone_and_unknown_prefix_list_fail(tmp_path: Path) -> None:
    _, _, aws = _ready(tmp_path)
    outdir = write_assembly(tmp_path / "unprepared")  # the zone ID and pl-a3a144ca exist nowhere in this moto account
    check = preflight.Preflight(aws, "210987654321", assembly.stage_stacks(outdir, "Sandbox"))
    [credentials, _] = list(check.identity())
    assert not credentials.ok and "sign in to 210987654321" in credentials.fix
    [zone] = list(check.domain())
    assert not zone.ok and zone.detail == "not found in this account"
    [prefix] = list(check.prefix_lists())
    assert not prefix.ok and prefix.detail == "not found" and "com.amazonaws.global.cloudfront.origin-facing" in prefix.fix


def test_each_configured_prefix_list_must_have_its_own_aws_name() -> None:
    """The S3 / DynamoDB gateway lists are checked against their own names, not CloudFront's."""
    network = preflight.cfg.load("sandbox", None).network
    expected = preflight.expected_prefix_lists("eu-central-1")
    assert expected[network.s3_prefix_list_id] == ("network.s3_prefix_list_id", "com.amazonaws.eu-central-1.s3")
    assert expected[network.dynamodb_prefix_list_id] == ("network.dynamodb_prefix_list_id", "com.amazonaws.eu-central-1.dynamodb")
    assert expected[network.cloudfront_prefix_list_id][1] == preflight.CLOUDFRONT_PREFIX_LIST


@mock_aws
def test_a_caller_outside_the_teardown_principals_is_told_before_deploying(tmp_path: Path) -> None:
    _, outdir, _ = _ready(tmp_path)
    check = preflight.Preflight(Aws(boto3.Session(region_name="eu-central-1")), ACCOUNT, assembly.stage_stacks(outdir, "Sandbox"))
    [_, teardown] = list(check.identity())
    assert not teardown.ok and "aws-reserved/sso.amazonaws.com/*" in teardown.fix


def test_docker_missing_and_no_image_to_build() -> None:
    def missing(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("docker")

    check = preflight.Preflight(Aws(boto3.Session(region_name="eu-central-1")), ACCOUNT, [], run=missing, assets=[{"dockerImages": {"i": {}}}])
    [result] = list(check.docker())
    assert not result.ok and "install Docker" in result.fix
    check.assets = [{"dockerImages": {}}]
    [result] = list(check.docker())
    assert result.ok and result.detail == "the stage builds no container image"


@mock_aws
def test_main_exits_non_zero_on_any_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, outdir, aws = _ready(tmp_path, opted_in=False)
    assert preflight.main(["--account", ACCOUNT, "--assembly", str(outdir)], aws=aws, run=_docker(True)) == 1
    out = capsys.readouterr().out
    assert "FAIL  backup opt-in eu-central-1" in out and "      fix: aws backup update-region-settings" in out
    assert out.rstrip().endswith("failed") and ", 2 failed" in out
