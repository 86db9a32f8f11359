"""Tear a sandbox stage down completely and report what remains.

    python -m tools.sandbox.teardown --account 123456789012 [--assembly cdk.out.sandbox] [--stage Sandbox] [--dry-run]

Why a script and not just ``cdk destroy``: CloudFormation deletes a bucket only when it is empty, a
backup vault only when it holds no recovery point, and a subnet or security group only when no
network interface uses it. So, stack by stack in reverse dependency order, this script first
- empties the stack's S3 buckets (every version and delete marker; ``BypassGovernanceRetention`` for
  the sandbox's GOVERNANCE-mode Object Lock; a COMPLIANCE lock is reported, never bypassed),
- removes the GOVERNANCE vault lock and every recovery point of the stack's backup vaults
  (eu-central-1 primary, eu-west-1 DR; the sandbox vault policy exempts the teardown principals),
- before the Network stack: deletes what AWS services created inside our VPC (GuardDuty runtime
  monitoring's VPC endpoint and its security group; detached Lambda network interfaces),
then deletes the stack with the CloudFormation API and waits; a stack that fails to delete (a log
arriving in a bucket just emptied) is emptied again and retried. It refuses production.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tools.sandbox import assembly
from tools.sandbox.assembly import Stack
from tools.sandbox.aws import Aws, error_code

GUARDDUTY_ENDPOINT_SUFFIX = ".guardduty-data"  # com.amazonaws.<region>.guardduty-data
GUARDDUTY_SG_PREFIX = "GuardDutyManagedSecurityGroup-"
DELETE_ATTEMPTS = 3
# Stage / stack / account-alias words that mean "this is production": refused whatever else is said.
PRODUCTION_WORDS = ("prod",)


class Refused(SystemExit):
    pass


@dataclass
class Teardown:
    aws: Aws
    account: str
    stacks: list[Stack]
    stage: str = "Sandbox"
    production_accounts: tuple[str, ...] = ()
    dry_run: bool = False
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 15.0
    timeout_seconds: float = 3600.0
    log: Callable[[str], None] = print
    remaining: list[str] = field(default_factory=list)

    # -- safety -----------------------------------------------------------------------------
    def refuse_production(self) -> None:
        names = [self.stage, *(s.name for s in self.stacks)]
        if any(word in name.lower() for name in names for word in PRODUCTION_WORDS):
            raise Refused(f"teardown: refused: {self.stage!r} is a production stage (stacks {', '.join(s.name for s in self.stacks)})")
        if self.account in self.production_accounts:
            raise Refused(f"teardown: refused: {self.account} is the production account")
        if {s.account for s in self.stacks} != {self.account}:
            raise Refused(f"teardown: refused: the assembly targets {sorted({s.account for s in self.stacks})}, not {self.account}")
        region = self.stacks[0].region
        caller = self.aws.client("sts", region).get_caller_identity()["Account"]
        if caller != self.account:
            raise Refused(f"teardown: refused: signed in to {caller}, not {self.account}")
        aliases = self.aws.client("iam", region).list_account_aliases().get("AccountAliases", [])
        if any(word in alias.lower() for alias in aliases for word in PRODUCTION_WORDS):
            raise Refused(f"teardown: refused: account alias {aliases} names production")
        for stack in self.stacks:
            description = self._describe(stack)
            if description and description.get("EnableTerminationProtection"):
                raise Refused(f"teardown: refused: {stack.name} has termination protection (a production safeguard)")

    # -- CloudFormation ---------------------------------------------------------------------
    def _describe(self, stack: Stack) -> dict[str, Any] | None:
        try:
            [found] = self.aws.client("cloudformation", stack.region).describe_stacks(StackName=stack.name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return dict(found)

    def _physical(self, stack: Stack, kind: str) -> list[str]:
        client = self.aws.client("cloudformation", stack.region)
        found: list[str] = []
        token: str | None = None
        while True:
            page = client.list_stack_resources(StackName=stack.name, **({"NextToken": token} if token else {}))
            found += [
                r["PhysicalResourceId"]
                for r in page["StackResourceSummaries"]
                if r["ResourceType"] == kind and r.get("PhysicalResourceId") and r.get("ResourceStatus") != "DELETE_COMPLETE"
            ]
            token = page.get("NextToken")
            if not token:
                return found

    def _delete_stack(self, stack: Stack) -> bool:
        client = self.aws.client("cloudformation", stack.region)
        client.delete_stack(StackName=stack.name)
        waited = 0.0
        while waited <= self.timeout_seconds:
            description = self._describe(stack)
            status = description["StackStatus"] if description else "DELETE_COMPLETE"
            if status == "DELETE_COMPLETE":
                return True
            if status == "DELETE_FAILED":
                self.log(f"  {stack.name}: DELETE_FAILED ({description.get('StackStatusReason', '') if description else ''})")
                return False
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
        self.log(f"  {stack.name}: still deleting after {self.timeout_seconds:.0f} s")
        return False

    # -- S3 -----------------------------------------------------------------------------------
    def empty_bucket(self, bucket: str, region: str) -> int:
        """Delete every version and delete marker; returns how many. Locked (COMPLIANCE) versions remain."""
        s3 = self.aws.client("s3", region)
        deleted = 0
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
                for start in range(0, len(keys), 1000):
                    batch = keys[start : start + 1000]
                    if self.dry_run:
                        deleted += len(batch)
                        continue
                    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}, BypassGovernanceRetention=True)
                    errors = answer.get("Errors", [])
                    deleted += len(batch) - len(errors)
                    for e in errors[:5]:
                        self.log(f"  s3://{bucket}/{e.get('Key')} ({e.get('VersionId')}): {e.get('Code')} {e.get('Message', '')}")
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                return 0
            raise
        return deleted

    # -- AWS Backup ---------------------------------------------------------------------------
    def empty_vault(self, vault: str, region: str) -> int:
        backup = self.aws.client("backup", region)
        try:
            described = backup.describe_backup_vault(BackupVaultName=vault)
        except ClientError as error:
            if error_code(error) in ("ResourceNotFoundException", "AccessDeniedException"):
                return 0
            raise
        lock_date = described.get("LockDate")
        if described.get("Locked") and lock_date is not None and lock_date.timestamp() <= time.time():
            self.remaining.append(f"vault {vault} ({region}): COMPLIANCE lock is immutable since {lock_date}; recovery points stay until they expire")
            return 0
        if "MinRetentionDays" in described and not self.dry_run:
            backup.delete_backup_vault_lock_configuration(BackupVaultName=vault)  # GOVERNANCE (or still in cooling-off)
        arns = self._recovery_points(backup, vault)
        for arn in arns:
            if not self.dry_run:
                try:
                    backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
                except ClientError as error:
                    if error_code(error) != "InvalidResourceStateException":  # already EXPIRED/DELETING
                        raise
        # Deletion is asynchronous: wait until the vault is empty (CloudFormation cannot delete it before).
        waited = 0.0
        while not self.dry_run and arns and waited <= self.timeout_seconds:
            if not self._recovery_points(backup, vault):
                break
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
        return len(arns)

    @staticmethod
    def _recovery_points(backup: Any, vault: str) -> list[str]:
        arns: list[str] = []
        token: str | None = None
        while True:
            page = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault, **({"NextToken": token} if token else {}))
            arns += [p["RecoveryPointArn"] for p in page.get("RecoveryPoints", []) if p.get("Status") != "DELETING"]
            token = page.get("NextToken")
            if not token:
                return arns

    # -- what AWS services left in our VPC ----------------------------------------------------
    def clean_vpc(self, vpc_id: str, region: str) -> list[str]:
        ec2 = self.aws.client("ec2", region)
        done: list[str] = []
        endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
        guardduty = [
            e["VpcEndpointId"]
            for e in endpoints
            if e["ServiceName"].endswith(GUARDDUTY_ENDPOINT_SUFFIX) and str(e.get("State", "")).lower() not in ("deleted", "deleting")
        ]
        if guardduty:
            if not self.dry_run:
                ec2.delete_vpc_endpoints(VpcEndpointIds=guardduty)
            done += [f"GuardDuty VPC endpoint {e}" for e in guardduty]
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        for group in groups:
            if group["GroupName"].startswith(GUARDDUTY_SG_PREFIX):
                if not self.dry_run:
                    self._retry(ec2.delete_security_group, GroupId=group["GroupId"])
                done.append(f"GuardDuty security group {group['GroupId']}")
        interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "status", "Values": ["available"]}])[
            "NetworkInterfaces"
        ]
        for eni in interfaces:
            if eni.get("InterfaceType") == "lambda" or str(eni.get("Description", "")).startswith("AWS Lambda VPC ENI"):
                if not self.dry_run:
                    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
                done.append(f"Lambda network interface {eni['NetworkInterfaceId']}")
        return done

    def _retry(self, call: Callable[..., Any], **kwargs: Any) -> None:
        """A security group is deletable only once the endpoint's interfaces are gone (a few minutes)."""
        for attempt in range(20):
            try:
                call(**kwargs)
                return
            except ClientError as error:
                if error_code(error) != "DependencyViolation" or attempt == 19:
                    raise
                self.sleep(self.poll_seconds)

    # -- the whole run --------------------------------------------------------------------------
    def run(self) -> list[str]:
        self.refuse_production()
        order = assembly.deletion_order(self.stacks)
        self.log(f"teardown of {self.stage} in {self.account}{' (dry run)' if self.dry_run else ''}: " + " -> ".join(s.name for s in order))
        by_id = {s.artifact_id: s for s in self.stacks}
        blocked: dict[str, str] = {}  # artifact ID -> the stack that failed and still needs it

        def block(failed: Stack, because: str) -> None:
            for dep in failed.depends_on:
                if dep in by_id and dep not in blocked:
                    blocked[dep] = because
                    block(by_id[dep], because)

        for stack in order:
            if stack.artifact_id in blocked:
                self.remaining.append(f"stack {stack.name} ({stack.region}): kept, {blocked[stack.artifact_id]} still depends on it")
                continue
            if self._describe(stack) is None:
                self.log(f"- {stack.name}: not deployed")
                continue
            buckets = self._physical(stack, "AWS::S3::Bucket")
            vaults = self._physical(stack, "AWS::Backup::BackupVault")
            vpcs = self._physical(stack, "AWS::EC2::VPC")
            deleted = False
            for attempt in range(1, DELETE_ATTEMPTS + 1):
                for line in self._prepare(stack, buckets, vaults, vpcs):
                    self.log(line)
                if self.dry_run:
                    self.log(f"- {stack.name}: would delete")
                    deleted = True
                    break
                self.log(f"- {stack.name}: deleting (attempt {attempt})")
                if self._delete_stack(stack):
                    self.log(f"- {stack.name}: deleted")
                    deleted = True
                    break
            if not deleted:
                self.remaining.append(f"stack {stack.name} ({stack.region}): not deleted after {DELETE_ATTEMPTS} attempts")
                block(stack, stack.name)
        if not self.dry_run:
            self.remaining += list(self._leftovers())
        return self.remaining

    def _prepare(self, stack: Stack, buckets: list[str], vaults: list[str], vpcs: list[str]) -> Iterator[str]:
        for bucket in buckets:
            yield f"  s3://{bucket}: {self.empty_bucket(bucket, stack.region)} versions and delete markers removed"
        for vault in vaults:
            yield f"  vault {vault} ({stack.region}): {self.empty_vault(vault, stack.region)} recovery points removed"
        for vpc in vpcs:
            for item in self.clean_vpc(vpc, stack.region):
                yield f"  {vpc}: removed {item}"

    def _leftovers(self) -> Iterator[str]:
        for stack in self.stacks:
            description = self._describe(stack)
            if description is not None:
                yield f"stack {stack.name} ({stack.region}): {description['StackStatus']}"


def main(argv: list[str] | None = None, aws: Aws | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--account", required=True)
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out.sandbox"))
    parser.add_argument("--stage", default="Sandbox")
    parser.add_argument("--production-account", action="append", default=[], help="refused (also MEDIVAULT_PRODUCTION_ACCOUNT)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
    args = parser.parse_args(argv)
    production = tuple(args.production_account) + tuple(a for a in [os.environ.get("MEDIVAULT_PRODUCTION_ACCOUNT")] if a)
    teardown = Teardown(aws or Aws(), args.account, assembly.stage_stacks(args.assembly, args.stage), args.stage, production, args.dry_run)
    try:
        remaining = teardown.run()
    except Refused as refused:
        print(refused.code, file=sys.stderr)
        return 2
    if remaining:
        print("teardown: what remains:")
        for item in remaining:
            print(f"  {item}")
        return 1
    print("teardown: nothing of the stage remains" + (" (dry run: nothing was changed)" if args.dry_run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
