"""tools/sandbox/teardown.py: S3 and EC2 under moto (Object Lock GOVERNANCE bypass works in moto 5.2.5),
AWS Backup recovery points with botocore Stubber (moto does not implement ListRecoveryPointsByBackupVault,
DeleteRecoveryPoint or the vault lock calls), and CloudFormation as a small fake that behaves like the
service where it matters here - it refuses to delete a stack whose bucket still holds versions or whose
VPC still holds an endpoint or interface (moto's CloudFormation cannot be imported without an extra the
lock file does not carry, and a Stubber would only pin the call order).

CloudFormation deletes a bucket only when it is empty:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket.html (DeletionPolicy);
a Backup vault only without recovery points: https://docs.aws.amazon.com/aws-backup/latest/devguide/delete-a-vault.html;
GuardDuty runtime monitoring's endpoint: https://docs.aws.amazon.com/guardduty/latest/ug/runtime-monitoring-agent-resource-clean-up.html
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.tools.conftest import ACCOUNT, write_assembly
from tools.sandbox import assembly, teardown
from tools.sandbox.aws import Aws

pytestmark = pytest.mark.usefixtures("aws_credentials")
REGION = "eu-central-1"
DR = "eu-west-1"
DR_VAULT_ARN = f"arn:aws:backup:{DR}:{ACCOUNT}:backup-vault:medivault-sandbox-dr"


class FakeCloudFormation:
    """describe_stacks / list_stack_resources / delete_stack over moto's S3 and EC2."""

    def __init__(self, region: str, stacks: dict[str, list[tuple[str, str]]], protected: tuple[str, ...] = ()) -> None:
        self.region = region
        self.stacks = stacks
        self.protected = protected
        self.deleted: list[str] = []
        self.failures: dict[str, int] = {}

    def _missing(self, name: str) -> ClientError:
        return ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}}, "DescribeStacks")

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if StackName not in self.stacks:
            raise self._missing(StackName)
        status = "DELETE_FAILED" if self.failures.get(StackName) else "CREATE_COMPLETE"
        return {"Stacks": [{"StackName": StackName, "StackStatus": status, "EnableTerminationProtection": StackName in self.protected}]}

    def list_stack_resources(self, StackName: str) -> dict[str, Any]:
        resources = self.stacks[StackName]
        return {"StackResourceSummaries": [{"ResourceType": t, "PhysicalResourceId": p, "ResourceStatus": "CREATE_COMPLETE"} for t, p in resources]}

    def delete_stack(self, StackName: str) -> None:
        s3 = boto3.client("s3", region_name=self.region)
        ec2 = boto3.client("ec2", region_name=self.region)

        def endpoints(vpc: str) -> list[dict[str, Any]]:
            found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
            return [e for e in found if e["State"] != "deleted"]

        for kind, physical in self.stacks[StackName]:
            busy = (
                kind == "AWS::S3::Bucket"
                and bool(s3.list_object_versions(Bucket=physical).get("Versions") or s3.list_object_versions(Bucket=physical).get("DeleteMarkers"))
            ) or (
                kind == "AWS::EC2::VPC"
                and bool(
                    [
                        e
                        for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [physical]}])["VpcEndpoints"]
                        if e["State"] != "deleted"
                    ]
                    or ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [physical]}])["NetworkInterfaces"]
                )
            )
            if busy:
                self.failures[StackName] = self.failures.get(StackName, 0) + 1
                return
        self.failures.pop(StackName, None)
        del self.stacks[StackName]
        self.deleted.append(StackName)


STACKS = {
    "SandboxNetwork": (REGION, [], {"Vpc": {"Type": "AWS::EC2::VPC"}}),
    "SandboxData": (REGION, ["SandboxNetwork"], {"Bucket": {"Type": "AWS::S3::Bucket"}}),
    "SandboxDrVault": (DR, [], {"Vault": {"Type": "AWS::Backup::BackupVault"}}),
    "SandboxBackup": (REGION, ["SandboxDrVault", "SandboxData"], {"Fn": {"Type": "AWS::Lambda::Function"}}),
}


def _locked_bucket(name: str, mode: str = "GOVERNANCE") -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": 1}}}
    )
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=name, Key="records/scan.dcm", Body=body, ChecksumAlgorithm="SHA256")
    s3.delete_object(Bucket=name, Key="records/scan.dcm")  # a delete marker on top of two locked versions


def _vpc() -> tuple[str, list[str]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"GuardDutyManagedSecurityGroup-{vpc}", Description="GuardDuty", VpcId=vpc)["GroupId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.guardduty-data", VpcEndpointType="Interface", SubnetIds=[subnet], SecurityGroupIds=[group]
    )["VpcEndpoint"]["VpcEndpointId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Description="AWS Lambda VPC ENI-medivault-sandbox-fn")["NetworkInterface"]
    ec2.create_security_group(GroupName="ours", Description="ours", VpcId=vpc)
    return vpc, [endpoint, group, eni["NetworkInterfaceId"]]


def _backup_stub(session: boto3.Session, *, compliance: bool = False) -> Stubber:
    stub = Stubber(session.client("backup", region_name=DR))  # moto: no recovery points / vault lock calls
    vault = {"BackupVaultName": "medivault-sandbox-dr", "BackupVaultArn": DR_VAULT_ARN, "Locked": True, "MinRetentionDays": 1, "MaxRetentionDays": 60}
    if compliance:
        stub.add_response("describe_backup_vault", {**vault, "LockDate": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})
        return stub
    points = [{"RecoveryPointArn": f"arn:aws:backup:{DR}:{ACCOUNT}:recovery-point:{n}", "Status": "COMPLETED"} for n in ("rp-1", "rp-2")]
    stub.add_response("describe_backup_vault", vault, {"BackupVaultName": "medivault-sandbox-dr"})
    stub.add_response("delete_backup_vault_lock_configuration", {}, {"BackupVaultName": "medivault-sandbox-dr"})
    stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points}, {"BackupVaultName": "medivault-sandbox-dr"})
    for point in points:
        stub.add_response("delete_recovery_point", {}, {"BackupVaultName": "medivault-sandbox-dr", "RecoveryPointArn": point["RecoveryPointArn"]})
    deleting = [{**points[0], "Status": "DELETING"}]
    stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": deleting}, {"BackupVaultName": "medivault-sandbox-dr"})
    return stub


def _world(tmp_path: Path, *, compliance_vault: bool = False, bucket_mode: str = "GOVERNANCE") -> tuple[teardown.Teardown, dict[str, Any]]:
    _locked_bucket("medivault-sandbox-records", bucket_mode)
    vpc, created = _vpc()
    session = boto3.Session(region_name=REGION)
    primary = FakeCloudFormation(
        REGION,
        {
            "Sandbox-Network": [("AWS::EC2::VPC", vpc)],
            "Sandbox-Data": [("AWS::S3::Bucket", "medivault-sandbox-records")],
            "Sandbox-Backup": [("AWS::Lambda::Function", "fn")],
        },
    )
    dr = FakeCloudFormation(DR, {"Sandbox-DrVault": [("AWS::Backup::BackupVault", "medivault-sandbox-dr")]})
    stub = _backup_stub(session, compliance=compliance_vault)
    stub.activate()
    aws = Aws(session, {("cloudformation", REGION): primary, ("cloudformation", DR): dr, ("backup", DR): stub.client})
    stacks = assembly.stage_stacks(write_assembly(tmp_path / "cdk.out.sandbox", STACKS), "Sandbox")
    lines: list[str] = []
    run = teardown.Teardown(aws, ACCOUNT, stacks, sleep=lambda _: None, log=lines.append)
    return run, {"primary": primary, "dr": dr, "stub": stub, "vpc": vpc, "created": created, "lines": lines}


@mock_aws
def test_empties_everything_cleans_the_vpc_and_deletes_in_reverse_order(tmp_path: Path) -> None:
    run, world = _world(tmp_path)
    assert run.run() == []
    # Backup depends on DrVault and Data; Data on Network: Backup goes first, Network after Data.
    order = world["primary"].deleted
    assert order.index("Sandbox-Backup") < order.index("Sandbox-Data") < order.index("Sandbox-Network")
    assert world["dr"].deleted == ["Sandbox-DrVault"]
    s3 = boto3.client("s3", region_name=REGION)
    versions = s3.list_object_versions(Bucket="medivault-sandbox-records")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    ec2 = boto3.client("ec2", region_name=REGION)
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}])["VpcEndpoints"]
    assert [e["State"] for e in endpoints] == ["deleted"]
    groups = {g["GroupName"] for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}])["SecurityGroups"]}
    assert "ours" in groups and not any(g.startswith("GuardDutyManagedSecurityGroup-") for g in groups)
    assert ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [world["vpc"]]}])["NetworkInterfaces"] == []
    world["stub"].assert_no_pending_responses()  # lock removed, both recovery points deleted, waited until empty
    assert any("3 versions and delete markers removed" in line for line in world["lines"])


@mock_aws
def test_without_the_governance_bypass_the_locked_versions_stay_and_the_stack_is_reported(tmp_path: Path) -> None:
    """COMPLIANCE-mode versions cannot be bypassed: the bucket keeps them, the stack stays, the report says so."""
    run, world = _world(tmp_path, bucket_mode="COMPLIANCE")
    remaining = run.run()
    assert "stack Sandbox-Data (eu-central-1): not deleted after 3 attempts" in remaining
    assert "stack Sandbox-Data (eu-central-1): DELETE_FAILED" in remaining
    assert "Sandbox-Network" not in world["primary"].deleted  # it waits for Data, which still uses it
    assert "stack Sandbox-Network (eu-central-1): kept, Sandbox-Data still depends on it" in remaining
    assert boto3.client("s3", region_name=REGION).list_object_versions(Bucket="medivault-sandbox-records").get("Versions")


@mock_aws
def test_a_compliance_vault_is_reported_not_forced(tmp_path: Path) -> None:
    run, world = _world(tmp_path, compliance_vault=True)
    remaining = run.run()
    assert any(r.startswith("vault medivault-sandbox-dr (eu-west-1): COMPLIANCE lock is immutable") for r in remaining)
    world["stub"].assert_no_pending_responses()  # no delete call was made


@mock_aws
def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    run, world = _world(tmp_path)
    world["stub"].deactivate()
    stub = Stubber(run.aws.client("backup", DR))
    vault = {"BackupVaultName": "medivault-sandbox-dr", "BackupVaultArn": DR_VAULT_ARN, "MinRetentionDays": 1}
    stub.add_response("describe_backup_vault", vault)
    stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": [{"RecoveryPointArn": "arn:rp", "Status": "COMPLETED"}]})
    stub.activate()
    run.dry_run = True
    assert run.run() == []
    assert world["primary"].deleted == [] and world["dr"].deleted == []
    assert boto3.client("s3", region_name=REGION).list_object_versions(Bucket="medivault-sandbox-records").get("Versions")
    assert any("would delete" in line for line in world["lines"])


@mock_aws
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stage": "Production"}, "is a production stage"),
        ({"production_accounts": (ACCOUNT,)}, f"{ACCOUNT} is the production account"),
        ({"account": "210987654321"}, "the assembly targets ['123456789012'], not 210987654321"),
    ],
)
def test_refuses_production(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    run, world = _world(tmp_path)
    for key, value in change.items():
        setattr(run, key, value)
    with pytest.raises(teardown.Refused, match=message.replace("[", r"\[").replace("]", r"\]")):
        run.run()
    assert world["primary"].deleted == []


@mock_aws
def test_refuses_an_account_aliased_production_or_a_protected_stack(tmp_path: Path) -> None:
    run, world = _world(tmp_path)
    world["primary"].protected = ("Sandbox-Data",)
    with pytest.raises(teardown.Refused, match="Sandbox-Data has termination protection"):
        run.run()
    world["primary"].protected = ()
    boto3.client("iam").create_account_alias(AccountAlias="medivault-prod")
    with pytest.raises(teardown.Refused, match="names production"):
        run.run()
    assert world["primary"].deleted == []


def test_deletion_order_is_the_reverse_of_the_deploy_order(tmp_path: Path) -> None:
    from tests.tools.conftest import STACKS as FULL

    names = [s.name for s in assembly.deletion_order(assembly.stage_stacks(write_assembly(tmp_path / "a", FULL), "Sandbox"))]
    for stack, (_, deps, _) in FULL.items():
        for dep in deps:
            assert names.index(stack.replace("Sandbox", "Sandbox-")) < names.index(dep.replace("Sandbox", "Sandbox-")), (stack, dep)
    assert json.dumps(names)  # every stack is listed once
    assert len(names) == len(set(names)) == len(FULL)


@mock_aws
def test_main_refuses_a_production_account_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, world = _world(tmp_path)
    outdir = tmp_path / "cdk.out.sandbox"
    code = teardown.main(["--account", ACCOUNT, "--assembly", str(outdir), "--production-account", ACCOUNT], aws=run.aws)
    assert code == 2 and "is the production account" in capsys.readouterr().err
    assert world["primary"].deleted == []
