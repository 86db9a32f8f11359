"""Read-only preflight of a sandbox account: names every missing prerequisite before a deploy.

    python -m tools.sandbox.preflight --account 123456789012 [--assembly cdk.out.sandbox] [--stage Sandbox]

Reads the synthesized stage (what the deploy will create: regions, singletons, reserved concurrency,
NAT gateways, DNS records, layer and prefix-list IDs) and compares it with the account using only
Describe/Get/List calls. Prints PASS/FAIL per check with the fix; exits 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from stacks import config as cfg
from tools.sandbox import assembly
from tools.sandbox.assembly import Stack
from tools.sandbox.aws import Aws, error_code
from tools.sandbox.checks import Result, report, run_checks

QUALIFIER = "hnb659fds"  # the CDK default bootstrap qualifier; every stack's manifest names its SSM parameter
# AWS Backup resource types the plan protects (stacks/backup_stack.py: the Aurora cluster and the PHI buckets);
# both must be opted in, in the primary and the DR region (copies), or jobs fail / are never started.
BACKED_UP_TYPES = ("Aurora", "S3")
# Lambda keeps at least 100 concurrent executions unreserved; reservations beyond that are refused.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
UNRESERVED_MINIMUM = 100
# Service-linked roles AWS creates itself on first use (no prerequisite, reported for information).
AUTO_CREATED_ROLES = {"ecs.application-autoscaling.amazonaws.com", "guardduty.amazonaws.com", "macie.amazonaws.com"}
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def expected_prefix_lists(region: str) -> dict[str, tuple[str, str]]:
    """Prefix-list ID -> (the config key that holds it, the AWS-managed list's name it must have)."""
    network = cfg.load("sandbox", None).network
    return {
        network.cloudfront_prefix_list_id: ("network.cloudfront_prefix_list_id", CLOUDFRONT_PREFIX_LIST),
        network.s3_prefix_list_id: ("network.s3_prefix_list_id", f"com.amazonaws.{region}.s3"),
        network.dynamodb_prefix_list_id: ("network.dynamodb_prefix_list_id", f"com.amazonaws.{region}.dynamodb"),
    }


# Service Quotas codes (EC2 / VPC): https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
QUOTAS = {
    "eip": ("ec2", "L-0263D0A3", 5, "EC2-VPC Elastic IPs"),
    "vpc": ("vpc", "L-F678F1CE", 5, "VPCs per Region"),
    "nat": ("vpc", "L-FE5A380F", 5, "NAT gateways per Availability Zone"),
    "lambda": ("lambda", "L-B99A9384", 1000, "Concurrent executions"),
}
SINGLETONS = (
    # (template type, context switch, what, how to list the account's own)
    ("AWS::Config::ConfigurationRecorder", "existing_config_recorder", "AWS Config configuration recorder"),
    ("AWS::GuardDuty::Detector", "existing_guardduty_detector", "GuardDuty detector"),
    ("AWS::Macie::Session", "existing_macie_session", "Macie session"),
)

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@dataclass
class Preflight:
    aws: Aws
    account: str
    stacks: list[Stack]
    run: Runner = _run
    assets: list[dict[str, Any]] | None = None  # the stage's asset manifests (docker images?)

    @property
    def regions(self) -> list[str]:
        return sorted({s.region for s in self.stacks})

    def _regions_with(self, kind: str) -> list[str]:
        return sorted({s.region for s in self.stacks if s.resources(kind)})

    # -- identity ---------------------------------------------------------------------------
    def identity(self) -> Iterator[Result]:
        caller = self.aws.client("sts", self.regions[0]).get_caller_identity()
        accounts = {s.account for s in self.stacks}
        ok = caller["Account"] == self.account and accounts == {self.account}
        yield Result(
            "credentials",
            ok,
            f"signed in to {caller['Account']} as {caller['Arn']}; the stage targets {', '.join(sorted(accounts))}",
            f"sign in to {self.account} (aws sso login --profile ...) and synthesize with -c sandbox_account={self.account}",
        )
        patterns = sorted(
            {
                pattern
                for s in self.stacks
                for vault in s.resources("AWS::Backup::BackupVault").values()
                for statement in (vault.get("Properties", {}).get("AccessPolicy") or {}).get("Statement", [])
                for pattern in statement.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn", [])
            }
        )
        if patterns:
            role_arn = self._role_arn(caller["Arn"])
            ok = any(fnmatch.fnmatchcase(role_arn, p) for p in patterns)
            yield Result(
                "teardown principal",
                ok,
                f"{role_arn} {'may' if ok else 'may not'} delete recovery points in the sandbox vaults",
                "run deploy and teardown as one of: " + ", ".join(patterns) + " (backup.teardown_principals)",
            )

    def _role_arn(self, caller_arn: str) -> str:
        """The IAM role ARN (with its path) behind an assumed-role session ARN."""
        if ":assumed-role/" not in caller_arn:
            return caller_arn
        name = caller_arn.split(":assumed-role/")[1].split("/")[0]
        try:
            return str(self.aws.client("iam", self.regions[0]).get_role(RoleName=name)["Role"]["Arn"])
        except ClientError:
            return caller_arn

    # -- bootstrap --------------------------------------------------------------------------
    def bootstrap(self) -> Iterator[Result]:
        for region in self.regions:
            needed = max((s.requires_bootstrap_version or 0) for s in self.stacks if s.region == region)
            parameter = next((s.bootstrap_parameter for s in self.stacks if s.region == region and s.bootstrap_parameter), None)
            fix = f"node_modules/.bin/cdk bootstrap aws://{self.account}/{region}"
            try:
                [toolkit] = self.aws.client("cloudformation", region).describe_stacks(StackName="CDKToolkit")["Stacks"]
            except ClientError:
                yield Result(f"bootstrap {region}", False, "no CDKToolkit stack", fix)
                continue
            params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in toolkit.get("Parameters", [])}
            qualifier = params.get("Qualifier", QUALIFIER)
            if qualifier != QUALIFIER or parameter != f"/cdk-bootstrap/{QUALIFIER}/version":
                yield Result(
                    f"bootstrap {region}", False, f"qualifier {qualifier!r}, the stage expects {QUALIFIER!r}", f"{fix} --qualifier {QUALIFIER}"
                )
                continue
            try:
                version = int(self.aws.client("ssm", region).get_parameter(Name=parameter)["Parameter"]["Value"])
            except (ClientError, ValueError):
                yield Result(f"bootstrap {region}", False, f"no readable {parameter}", fix)
                continue
            yield Result(f"bootstrap {region}", version >= needed, f"version {version} (stage needs {needed}), qualifier {qualifier}", fix)

    # -- AWS Backup opt-in ------------------------------------------------------------------
    def backup_opt_in(self) -> Iterator[Result]:
        for region in self._regions_with("AWS::Backup::BackupVault"):
            settings = self.aws.client("backup", region).describe_region_settings()["ResourceTypeOptInPreference"]
            missing = [t for t in BACKED_UP_TYPES if not settings.get(t)]
            yield Result(
                f"backup opt-in {region}",
                not missing,
                f"opted in: {', '.join(t for t in BACKED_UP_TYPES if settings.get(t)) or 'none'}",
                f"aws backup update-region-settings --region {region} --resource-type-opt-in-preference " + ",".join(f"{t}=true" for t in missing),
            )

    # -- one per account and region ---------------------------------------------------------
    def _exists(self, kind: str, region: str) -> bool:
        if kind == "AWS::Config::ConfigurationRecorder":
            return bool(self.aws.client("config", region).describe_configuration_recorders()["ConfigurationRecorders"])
        if kind == "AWS::GuardDuty::Detector":
            return bool(self.aws.client("guardduty", region).list_detectors()["DetectorIds"])
        try:
            return self.aws.client("macie2", region).get_macie_session().get("status") in ("ENABLED", "PAUSED")
        except ClientError as error:  # AccessDeniedException: "Macie is not enabled"
            if error_code(error) in ("AccessDeniedException", "ResourceNotFoundException"):
                return False
            raise

    def singletons(self) -> Iterator[Result]:
        primary = self.regions_primary
        for kind, switch, what in SINGLETONS:
            creating = self._regions_with(kind)
            for region in sorted(set(creating) | {primary}):
                exists = self._exists(kind, region)
                creates = region in creating
                if creates:
                    yield Result(
                        f"{what} {region}",
                        not exists,
                        "the account has one already" if exists else "none yet; the stage creates it",
                        f"use the account's own: -c {switch}=true (make preflight/deploy-sandbox EXTRA='-c {switch}=true')",
                    )
                elif region == primary:
                    yield Result(
                        f"{what} {region}",
                        exists,
                        "the stage uses the account's own" + ("" if exists else ", but there is none"),
                        f"drop -c {switch}=true so the stage creates it, or enable it in the account first",
                    )

    @property
    def regions_primary(self) -> str:
        return next((s.region for s in self.stacks if s.resources("AWS::EC2::VPC")), self.regions[0])

    # -- service-linked roles ---------------------------------------------------------------
    def service_linked_roles(self) -> Iterator[Result]:
        roles = sorted({m.groups() for s in self.stacks for m in assembly.SERVICE_ROLE.finditer(s.text)})
        for service, role in roles:
            try:
                self.aws.client("iam", self.regions[0]).get_role(RoleName=role)
                yield Result(f"service-linked role {role}", True, "exists")
            except ClientError as error:
                if error_code(error) != "NoSuchEntity":
                    raise
                auto = service in AUTO_CREATED_ROLES
                yield Result(
                    f"service-linked role {role}",
                    auto,
                    "missing; AWS creates it on first use" if auto else "missing; the stage references it",
                    f"aws iam create-service-linked-role --aws-service-name {service}",
                )

    # -- quotas -----------------------------------------------------------------------------
    def _quota(self, name: str, region: str) -> float:
        service, code, default, _ = QUOTAS[name]
        client = self.aws.client("service-quotas", region)
        try:
            return float(client.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])
        except ClientError:
            try:
                return float(client.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])
            except (ClientError, NotImplementedError):
                return float(default)

    def lambda_concurrency(self) -> Iterator[Result]:
        for region, reserved in sorted(assembly.reserved_concurrency(self.stacks).items()):
            limits = self.aws.client("lambda", region).get_account_settings()["AccountLimit"]
            unreserved = int(limits["UnreservedConcurrentExecutions"])
            left = unreserved - reserved
            yield Result(
                f"lambda concurrency {region}",
                left >= UNRESERVED_MINIMUM,
                f"the stage reserves {reserved}; {unreserved} of {limits['ConcurrentExecutions']} are unreserved, "
                f"{left} would remain (Lambda keeps at least {UNRESERVED_MINIMUM})",
                f"request more: aws service-quotas request-service-quota-increase --region {region} --service-code lambda "
                f"--quota-code {QUOTAS['lambda'][1]} --desired-value 1000",
            )

    def network_quotas(self) -> Iterator[Result]:
        eips, vpcs, nats = (assembly.count(self.stacks, k) for k in ("AWS::EC2::EIP", "AWS::EC2::VPC", "AWS::EC2::NatGateway"))
        for region in sorted(set(eips) | set(vpcs) | set(nats)):
            ec2 = self.aws.client("ec2", region)
            used = {
                "eip": len(ec2.describe_addresses()["Addresses"]),
                "vpc": len(ec2.describe_vpcs()["Vpcs"]),
                "nat": self._nat_per_az(ec2),
            }
            # Our NAT gateways sit one per AZ at most (stacks/config/network.py nat_gateways <= 3 AZs).
            needed = {"eip": eips.get(region, 0), "vpc": vpcs.get(region, 0), "nat": 1 if nats.get(region) else 0}
            for name in ("eip", "vpc", "nat"):
                if not needed[name]:
                    continue
                quota = self._quota(name, region)
                _, code, _, what = QUOTAS[name]
                yield Result(
                    f"{what} {region}",
                    used[name] + needed[name] <= quota,
                    f"{used[name]} in use + {needed[name]} for the stage, quota {quota:g}",
                    f"release unused ones or request more: aws service-quotas request-service-quota-increase --region {region} "
                    f"--service-code {QUOTAS[name][0]} --quota-code {code} --desired-value {int(quota) + needed[name]}",
                )

    @staticmethod
    def _nat_per_az(ec2: Any) -> int:
        gateways = [g for g in ec2.describe_nat_gateways()["NatGateways"] if g.get("State") in ("pending", "available")]
        if not gateways:
            return 0
        subnets = ec2.describe_subnets(SubnetIds=sorted({g["SubnetId"] for g in gateways}))["Subnets"]
        az = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
        per_az: dict[str, int] = {}
        for g in gateways:
            per_az[az.get(g["SubnetId"], "?")] = per_az.get(az.get(g["SubnetId"], "?"), 0) + 1
        return max(per_az.values())

    # -- domain -----------------------------------------------------------------------------
    def domain(self) -> Iterator[Result]:
        zones = assembly.hosted_zones(self.stacks)
        if not zones:
            yield Result(
                "hosted zone", False, "the stage writes no DNS record (no domain)", "set -c sandbox_domain=... -c sandbox_hosted_zone_id=..."
            )
        route53 = self.aws.client("route53", "us-east-1")
        for zone_id, names in sorted(zones.items()):
            try:
                zone = route53.get_hosted_zone(Id=zone_id)["HostedZone"]
            except ClientError:
                yield Result(f"hosted zone {zone_id}", False, "not found in this account", "create it or pass the right -c sandbox_hosted_zone_id")
                continue
            zone_name = zone["Name"].rstrip(".")
            outside = sorted(n for n in names if n != zone_name and not n.endswith("." + zone_name))
            public = not zone.get("Config", {}).get("PrivateZone", False)
            yield Result(
                f"hosted zone {zone_id}",
                public and not outside,
                f"{zone_name} ({'public' if public else 'private'}), records: {', '.join(sorted(names))}",
                "use a public zone whose name contains the domain (ACM validates through public DNS)",
            )
        for arns in assembly.found_in(self.stacks, assembly.CERTIFICATE_ARN).values():
            for arn in sorted(arns):
                try:
                    status = self.aws.client("acm", arn.split(":")[3]).describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
                except ClientError:
                    status = "NOT FOUND"
                yield Result(f"certificate {arn}", status == "ISSUED", status, "issue/validate it in ACM, or use a domain instead")

    # -- values the templates pin -----------------------------------------------------------
    def layers(self) -> Iterator[Result]:
        for region, arns in sorted(assembly.found_in(self.stacks, assembly.LAYER_ARN).items()):
            for arn in sorted(arns):
                try:
                    self.aws.client("lambda", arn.split(":")[3]).get_layer_version_by_arn(Arn=arn)
                    yield Result(f"layer {arn.split(':', 6)[6]} {region}", True, "published in the region")
                except ClientError as error:
                    yield Result(
                        f"layer {arn.split(':', 6)[6]} {region}",
                        False,
                        error_code(error),
                        "set powertools_layer_version (stacks/config/environment.py) to a version listed at "
                        "https://docs.powertools.aws.dev/lambda/python/latest/#lambda-layer for this region",
                    )

    def prefix_lists(self) -> Iterator[Result]:
        for region, ids in sorted(assembly.found_in(self.stacks, assembly.PREFIX_LIST).items()):
            ec2 = self.aws.client("ec2", region)
            expected = expected_prefix_lists(region)
            for pl in sorted(ids):
                try:
                    [found] = ec2.describe_managed_prefix_lists(PrefixListIds=[pl])["PrefixLists"]
                    name = found["PrefixListName"]
                except (ClientError, ValueError):
                    name = "not found"
                # An ID the config does not name is taken for the CloudFront list (the historical single check).
                key, wanted = expected.get(pl, ("network.cloudfront_prefix_list_id", CLOUDFRONT_PREFIX_LIST))
                yield Result(
                    f"prefix list {pl} {region}",
                    name == wanted,
                    name,
                    f"aws ec2 describe-managed-prefix-lists --region {region} --filters Name=prefix-list-name,Values={wanted} and set {key}",
                )

    # -- local tools ------------------------------------------------------------------------
    def docker(self) -> Iterator[Result]:
        images = [image for manifest in self.assets or [] for image in manifest.get("dockerImages", {}).values()]
        if self.assets is not None and not images:
            yield Result("docker", True, "the stage builds no container image")
            return
        try:
            result = self.run(["docker", "buildx", "ls"])
        except (OSError, subprocess.SubprocessError) as error:
            yield Result("docker arm64", False, f"docker not usable: {error}", "install Docker with the buildx plug-in and start it")
            return
        ok = result.returncode == 0 and "linux/arm64" in result.stdout
        detail = "buildx can build linux/arm64" if ok else f"no linux/arm64 builder ({(result.stderr or result.stdout).strip()[:120]})"
        yield Result("docker arm64", ok, detail, "docker run --privileged --rm tonistiigi/binfmt --install arm64  (QEMU emulation)")

    CHECKS: ClassVar[tuple[str, ...]] = (
        "identity",
        "bootstrap",
        "backup_opt_in",
        "singletons",
        "service_linked_roles",
        "lambda_concurrency",
        "network_quotas",
        "domain",
        "layers",
        "prefix_lists",
        "docker",
    )

    def results(self) -> list[Result]:
        return run_checks(
            ((name, getattr(self, name)) for name in self.CHECKS),
            errors=(ClientError, BotoCoreError),
            fix="grant read access (e.g. ReadOnlyAccess) and retry",
        )


def docker_assets(outdir: Path, stage: str) -> list[dict[str, Any]]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if assembly.is_stage(artifact_id, artifact, stage):
            nested = outdir / artifact["properties"]["directoryName"]
            return [json.loads(p.read_text()) for p in sorted(nested.glob("*.assets.json"))]
    return []


def main(argv: list[str] | None = None, aws: Aws | None = None, run: Runner = _run) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--account", required=True)
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out.sandbox"))
    parser.add_argument("--stage", default="Sandbox")
    args = parser.parse_args(argv)
    stacks = assembly.stage_stacks(args.assembly, args.stage)
    preflight = Preflight(aws or Aws(), args.account, stacks, run=run, assets=docker_assets(args.assembly, args.stage))
    return report("preflight", preflight.results())


if __name__ == "__main__":
    sys.exit(main())
