"""The status of each requirement (R1-R16): the one source both docs/requirements.md and the report use.

Edit ``STATUS`` when work lands, then run ``python -m tools.report.status --write-docs`` (``make
requirements-doc``): it rewrites the generated status table in docs/requirements.md, and a test fails
whenever that table and this module disagree.

A status is a claim; the report checks it against the synthesized app before showing it
(``tools.report.build``): a requirement claimed ``done`` or ``partial`` must have traced resources,
every resource type named in ``evidence`` must be in the deployments and at least one test must be
marked for it; a resource type named in ``absent`` (what is missing) must really be missing. Where
the assembly contradicts the claim, the report says so instead of repeating it.

Statuses:
- ``done``: the requirement's AWS answer is synthesized behind the compliance gates and tested
  (not deployed: see ``NOT_DEPLOYED``); nothing is missing.
- ``partial``: part of it is done; ``missing`` says what is not.
- ``not done``: nothing of it is in code yet.
- ``process``: answered by a documented decision or manual procedure, deliberately not code.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from catalog import REQUIREMENTS

STATUSES = ("done", "partial", "not done", "process")

NOT_DEPLOYED = (
    "Nothing has been deployed to an AWS account: done means synthesized behind the compliance gates (cdk-nag AwsSolutions + "
    "HIPAA.Security, cfn-lint) and tested against the templates and, for the Lambda handlers, against moto; deploy-time "
    "behaviour is unverified."
)


@dataclass(frozen=True)
class Status:
    status: str  # one of STATUSES
    why: str  # one sentence: what the code does for it
    missing: tuple[str, ...] = ()  # what is not done (empty for done)
    process: tuple[str, ...] = ()  # documented decisions / manual steps that answer part of it
    unverified: tuple[str, ...] = ()  # what only a deploy can prove
    evidence: tuple[str, ...] = ()  # CloudFormation types that must be in the deployments for the claim
    absent: tuple[str, ...] = ()  # CloudFormation types whose absence is what "missing" says


STATUS: dict[str, Status] = {
    "R1": Status(
        "done",
        "VPC over three AZs; Fargate tasks, Aurora writer + reader and the cache spread over them; only eu-central-1, eu-west-1 "
        "(backup copies) and us-east-1 (edge) are accepted, and an organisation SCP denies every other region.",
        process=(
            "WAF logs (client IPs, no PHI) are kept in us-east-1 as AWS forces the web ACL's region: an exception accepted in docs/assumptions.md",
        ),
        unverified=("AZ names map to different physical zones per account; any three distinct zones are assumed to satisfy R1",),
        evidence=("AWS::EC2::Subnet", "AWS::Backup::BackupVault", "AWS::Organizations::Policy"),
    ),
    "R2": Status(
        "done",
        "Three subnet tiers, no internet route from the data tier, a data-tier NACL, a security-group chain CloudFront -> ALB -> app -> "
        "data with sealed egress, AWS APIs through VPC endpoints with account-scoped policies.",
        unverified=(
            "the S3/DynamoDB prefix-list IDs and the CloudFront origin-facing prefix list were not looked up in an account",
            "that the endpoints suffice for image pulls and the GuardDuty runtime agent",
        ),
        evidence=("AWS::EC2::NetworkAcl", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup"),
    ),
    "R3": Status(
        "partial",
        "Roles only (no IAM users or keys) in every workload stack; the Organization stage's SCPs deny root, IAM users, access keys and "
        "leaving, and protect the break-glass, CDK and delivery roles from being claimed or re-trusted; Identity Center permission sets "
        "with 1-4 h sessions; a deploy rehearsal proves the SCPs block none of our own deploys, updates or rollbacks.",
        missing=(
            "MFA: an IAM Identity Center instance setting that CloudFormation cannot set; nothing in code enforces or checks it, and no "
            "runbook step does yet",
            "Identity Center instance ARN, group IDs and accounts are placeholders (the deploy is refused until they are set)",
        ),
        evidence=("AWS::Organizations::Policy", "AWS::SSO::PermissionSet"),
    ),
    "R4": Status(
        "done",
        "ECS on Fargate (ARM64), target tracking on CPU, memory and ALB requests per task, circuit breaker with rollback; 3-30 tasks in production.",
        evidence=("AWS::ECS::Service", "AWS::ApplicationAutoScaling::ScalingPolicy"),
    ),
    "R5": Status(
        "done",
        "ALB in the public subnets with TLS 1.2/1.3 and /healthz health checks, forwarding only CloudFront's requests; with a configured "
        "domain, DNS-validated ACM certificates.",
        unverified=(
            "production reviews on the documented placeholder domain app.medivault.example (its own DNS-validated certificates, "
            "TLSv1.2_2021 at CloudFront); the sandbox review has no domain; a deploy synth (-c deploy=true) refuses every placeholder "
            "before any stack is created, and every stack of a placeholder stage carries a CloudFormation rule refusing it",
        ),
        evidence=("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::TargetGroup"),
    ),
    "R6": Status(
        "done",
        "Aurora PostgreSQL Serverless v2, writer + reader in two AZs, encrypted with the data key, TLS forced, pgaudit, 35-day backups "
        "in production.",
        evidence=("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"),
    ),
    "R7": Status(
        "done",
        "Record and imaging buckets: SSE-KMS with the data key, TLS only, Object Lock COMPLIANCE 7 years in production, Intelligent-"
        "Tiering with archive tiers after 90/180 days, a custom Config rule checking every PHI bucket.",
        process=(
            "GDPR erasure (Art. 17) cannot remove a locked version before its retention ends: how such a request is answered is the "
            "owner's decision, outside the code",
        ),
        evidence=("AWS::S3::Bucket", "AWS::Config::ConfigRule"),
    ),
    "R8": Status(
        "done",
        "Valkey replication group in the data tier, TLS and AUTH token required, encrypted with the data key; primary + 2 replicas "
        "over three AZs in production.",
        evidence=("AWS::ElastiCache::ReplicationGroup",),
    ),
    "R9": Status(
        "done",
        "CloudFront in front of the ALB (Shield Standard applies to every distribution); WAF in us-east-1 with geo allow list, login "
        "rate limit 10 / 60 s per IP, SQLi, common, bad-input and IP-reputation rule groups.",
        process=("per-account login lockout finer than 10 requests a minute per IP belongs to the application's sign-in (docs/assumptions.md)",),
        evidence=("AWS::WAFv2::WebACL", "AWS::CloudFront::Distribution"),
    ),
    "R10": Status(
        "done",
        "Aurora master secret, cache AUTH token and CloudFront origin-header secret each rotate every 30 days; the service logs in to "
        "Aurora as its own role with a 15-minute IAM token (no database password; the master secret is read only by rotation and the "
        "deploy-time migration task); Secrets Manager and KMS through interface endpoints.",
        unverified=(
            "rotation runs only after a deploy: the functions are tested in-process against moto (and Stubber where moto lacks an API)",
            "a task that runs through two cache rotations (60 days) without being replaced would hold a dropped token",
            "that Aurora accepts the service's IAM token and the master user may grant rds_iam and set pgaudit.log (AWS documents both)",
        ),
        evidence=("AWS::SecretsManager::RotationSchedule",),
    ),
    "R11": Status(
        "partial",
        "A weekly Macie classification job with managed identifiers and a patient-ID identifier; PHI found is moved, verified, into an "
        "Object Lock quarantine bucket; findings e-mailed once to the security team.",
        missing=(
            "the job scans only the data tier's access-log bucket; the other non-PHI buckets (ALB and CloudFront logs, pipeline "
            "artifacts) are not in it yet",
        ),
        unverified=("that Macie's service-linked role may decrypt the buckets it scans",),
        evidence=("AWS::Macie::CustomDataIdentifier", "AWS::Events::Rule"),
    ),
    "R12": Status(
        "partial",
        "Multi-region CloudTrail with log-file validation, KMS, S3 data events on the PHI buckets, its bucket under Object Lock 6 years "
        "in production; security-event alarms; VPC flow logs; CloudFront, ALB and S3 access logs kept as evidence.",
        missing=(
            "attribution to a person: CloudTrail names the service's role, not the clinician; the service (health endpoints only) does "
            "not yet write the append-only audit trail naming the person",
        ),
        evidence=("AWS::CloudTrail::Trail", "AWS::EC2::FlowLog"),
    ),
    "R13": Status(
        "done",
        "One dashboard per environment, alarms to one encrypted SNS topic, X-Ray sampling rules, the app traced through an ADOT sidecar, "
        "Lambda functions traced.",
        unverified=(
            "the ADOT sidecar digest is empty in the review config: a deploy synth refuses to run until -c <stage>_tracing_sidecar_digest "
            "is given, and the App stack's CloudFormation rule refuses a deploy without it",
        ),
        evidence=("AWS::CloudWatch::Dashboard", "AWS::CloudWatch::Alarm", "AWS::XRay::SamplingRule"),
    ),
    "R14": Status(
        "partial",
        "AWS Config recorder with HIPAA managed rules and SSM auto-remediation, a custom PHI-bucket rule; GuardDuty in the primary, DR "
        "and edge regions; Backup Audit Manager framework; cdk-nag and cfn-lint gates on every synth.",
        missing=(
            "the Audit Manager HIPAA assessment is in code but off (audit.audit_manager_enabled=False): the account must be registered "
            "and the framework ID read from it first",
        ),
        evidence=("AWS::Config::ConfigurationRecorder", "AWS::Config::RemediationConfiguration", "AWS::GuardDuty::Detector"),
        absent=("AWS::AuditManager::Assessment",),
    ),
    "R15": Status(
        "partial",
        "Daily (35 days) and monthly (7 years) backups of Aurora and the PHI buckets, both copied to a locked vault in eu-west-1 under "
        "its own key; weekly Aurora restore test in Frankfurt; a daily DR-readiness check pages on stale copies.",
        missing=("restoring into eu-west-1 is a manual runbook, not automated and never rehearsed; RTO ~8 h is an estimate",),
        process=("the eu-west-1 restore runbook (docs/disaster-recovery.md); RPO <= 24 h from daily copies is a documented decision",),
        unverified=("the account's AWS Backup opt-in for Aurora and S3 in both regions (no CloudFormation resource exists for it)",),
        evidence=("AWS::Backup::BackupPlan", "AWS::Backup::BackupVault", "AWS::Backup::RestoreTestingPlan"),
    ),
    "R16": Status(
        "done",
        "CDK Pipelines in a tooling account: every push runs make test and make synth (gates, cfn-lint), deploys the sandbox, then "
        "production after a manual approval; encrypted artifacts, build logs kept 731 days; the arm64 service image is published on an "
        "ARM CodeBuild image with a pinned cdk-assets.",
        unverified=(
            "the tooling account and repository connection are placeholders: the pipeline refuses to deploy until they are set",
            "the first self-mutation after the delivery roles moved under /medivault-delivery/ replaces those two roles",
        ),
        evidence=("AWS::CodePipeline::Pipeline", "AWS::CodeBuild::Project"),
    ),
}


def check() -> None:
    """Raise ValueError when the source is inconsistent: unknown ids, statuses, or a claim its fields contradict."""
    if sorted(STATUS) != sorted(REQUIREMENTS):
        raise ValueError(f"status: requirements {sorted(set(REQUIREMENTS) ^ set(STATUS))} are missing or unknown")
    for rid, s in STATUS.items():
        if s.status not in STATUSES:
            raise ValueError(f"status: {rid} has status {s.status!r}; allowed: {', '.join(STATUSES)}")
        if s.status == "done" and s.missing:
            raise ValueError(f"status: {rid} is done but lists missing work")
        if s.status in ("partial", "not done") and not s.missing:
            raise ValueError(f"status: {rid} is {s.status} but says nothing is missing")
        if s.status == "process" and not s.process:
            raise ValueError(f"status: {rid} is process but names no documented decision")
        if s.absent and not s.missing:
            raise ValueError(f"status: {rid} names absent resource types but no missing work")


# --- the generated table in docs/requirements.md ------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "requirements.md"
BEGIN = "<!-- status:begin (generated from tools/report/status.py by `make requirements-doc`; edit that file, not this table) -->"
END = "<!-- status:end -->"


def _cell(items: tuple[str, ...] | str) -> str:
    text = items if isinstance(items, str) else "; ".join(items)
    return (text or "—").replace("|", "\\|")


def markdown_table() -> str:
    check()
    rows = ["| id | status | what the code does | what is missing | process (documented, not code) | not verified without a deploy |"]
    rows.append("|----|--------|--------------------|-----------------|--------------------------------|-------------------------------|")
    for rid in sorted(STATUS, key=lambda r: int(r[1:])):
        s = STATUS[rid]
        rows.append(f"| {rid} | **{s.status}** | {_cell(s.why)} | {_cell(s.missing)} | {_cell(s.process)} | {_cell(s.unverified)} |")
    return "\n".join(rows)


def docs_block(text: str) -> str:
    """The generated table as it stands in ``text`` (docs/requirements.md), without the markers."""
    match = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, flags=re.S)
    if not match:
        raise ValueError(f"{DOC.name}: no generated status table between {BEGIN!r} and {END!r}")
    return match.group(1)


def write_docs(path: Path = DOC) -> bool:
    """Rewrite the generated table in ``path``; True when it changed."""
    text = path.read_text()
    docs_block(text)  # fails clearly without the markers
    new = re.sub(re.escape(BEGIN) + r"\n.*?\n" + re.escape(END), lambda _: f"{BEGIN}\n{markdown_table()}\n{END}", text, flags=re.S)
    path.write_text(new)
    return new != text


def main(argv: list[str]) -> int:
    if argv[1:] != ["--write-docs"]:
        print("usage: python -m tools.report.status --write-docs", file=sys.stderr)
        return 2
    changed = write_docs()
    print(f"status: {DOC} {'updated' if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
