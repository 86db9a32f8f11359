"""Evidence that cannot be deleted (issue 15 item 6): every evidence bucket of a stage, whole-app synth.

The evidence buckets: the PHI buckets' S3 access-log bucket (data), the ALB log bucket (app), the
CloudFront log bucket and its S3 access-log bucket (edge), and the audit stack's access-log, trail,
Config and quarantine buckets. Each keeps every version for its configured retention and its
bucket policy denies deletion and reconfiguration to all but break-glass; the bucket policies are
evaluated with the project's IAM evaluator (tests/stacks/iam_eval.py), not only read for shape.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from constructs.evidence_protection import DELETION_ACTIONS, RECONFIGURATION_ACTIONS

from stacks.config.audit import HIPAA_RETENTION_DAYS
from tests.conftest import Synthesized, resources_of
from tests.stacks.iam_eval import evaluate

pytestmark = pytest.mark.requirements("R12", "R14")

ACCOUNT = {"production": "222222222222", "sandbox": "111111111111"}
BREAK_GLASS_ROLE = "arn:aws:iam::{account}:role/medivault-break-glass/MediVaultBreakGlass"
BREAK_GLASS_SSO = "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-BreakGlassAdmin_0123abcd"
DEVELOPER_SSO = "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_MediVault-Developer_0123abcd"
DEPLOY_ROLE = "arn:aws:iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-eu-central-1"
APP_ROLE = "arn:aws:iam::{account}:role/Production-App-TaskRole1234"


def _lid(construct: Any) -> str:
    resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    assert isinstance(resource, cdk.CfnElement), construct.node.path
    stack = cdk.Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(resource)))


def evidence_buckets(synth: Synthesized, environment: str) -> dict[str, tuple[str, str, int | None]]:
    """name -> (stack attribute, logical ID, retention in days; None for the locked trail/quarantine)."""
    stage = synth.stages[environment]
    evidence = stage.config.evidence
    found: dict[str, tuple[str, s3.IBucket, int | None]] = {
        "phi-access-logs": ("data", stage.data.access_log_bucket, evidence.phi_access_log_days),
        "alb-logs": ("app", stage.app.access_log_bucket, evidence.alb_log_days),
        "cloudfront-logs": ("edge", stage.edge.log_bucket, evidence.cloudfront_log_days),
        "cloudfront-s3-access-logs": ("edge", stage.edge.s3_access_log_bucket, evidence.evidence_access_log_days),
        "audit-access-logs": ("audit", stage.audit.access_log_bucket, evidence.evidence_access_log_days),
        "config": ("audit", stage.audit.config_bucket, evidence.config_history_days),
        "trail": ("audit", stage.audit.trail_bucket, None),
        "quarantine": ("audit", stage.audit.quarantine_bucket, None),
    }
    return {name: (stack, _lid(bucket), days) for name, (stack, bucket, days) in found.items()}


def _policy(template: Template, bucket_lid: str) -> dict[str, Any]:
    [policy] = [p for p in resources_of(template, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_lid}]
    document: dict[str, Any] = policy["Properties"]["PolicyDocument"]
    return document


def _concrete(document: dict[str, Any], arn: str) -> dict[str, Any]:
    """The policy with this bucket's ARN tokens replaced by a literal ARN, for the evaluator."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return arn
        if isinstance(value, dict) and "Fn::Join" in value:
            return "".join(str(resolve(v)) for v in value["Fn::Join"][1])
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return {"Statement": [{**s, "Resource": resolve(s["Resource"])} for s in document["Statement"]]}


@pytest.mark.parametrize(
    "bucket", ["phi-access-logs", "alb-logs", "cloudfront-logs", "cloudfront-s3-access-logs", "audit-access-logs", "config", "trail", "quarantine"]
)
def test_evidence_cannot_be_deleted_or_reconfigured_except_by_break_glass(synth: Synthesized, environment: str, bucket: str) -> None:
    """Bucket-policy denies with ``Principal: *`` beat every IAM allow, the account's administrators
    included (IAM User Guide, policy evaluation logic: "an explicit deny in any policy overrides any
    allow", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
    ``aws:PrincipalArn`` carries the role ARN of an assumed-role session
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn)."""
    stack, lid, _ = evidence_buckets(synth, environment)[bucket]
    account = ACCOUNT[environment]
    arn = f"arn:aws:s3:::{bucket}-bucket"
    policy = _concrete(_policy(synth.template(environment, stack), lid), arn)

    tls = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}

    def who(pattern: str) -> dict[str, str]:
        return {**tls, "aws:PrincipalArn": pattern.format(account=account)}

    for action in DELETION_ACTIONS:
        resource = arn if action == "s3:DeleteBucket" else f"{arn}/AWSLogs/{account}/log.gz"
        # Sandbox only: Identity Center roles and the deploy role may empty it (make destroy-sandbox).
        teardown = "Deny" if environment == "production" else "Implicit"
        assert evaluate(policy, action, resource, who(DEVELOPER_SSO)) == teardown, action
        assert evaluate(policy, action, resource, who(APP_ROLE)) == "Deny", action
        assert evaluate(policy, action, resource, who(BREAK_GLASS_ROLE)) != "Deny", action
        assert evaluate(policy, action, resource, who(BREAK_GLASS_SSO)) != "Deny", action
        # The deploy role may update the bucket but delete evidence only in a tear-down-able sandbox.
        assert evaluate(policy, action, resource, who(DEPLOY_ROLE)) == teardown, action
        # A service principal has no aws:PrincipalArn: the deny applies to it as well.
        assert evaluate(policy, action, resource, tls) == "Deny", action
    for action in RECONFIGURATION_ACTIONS:
        assert evaluate(policy, action, arn, who(DEVELOPER_SSO)) == "Deny", action
        assert evaluate(policy, action, arn, who(BREAK_GLASS_ROLE)) != "Deny", action
        assert evaluate(policy, action, arn, who(DEPLOY_ROLE)) != "Deny", action
    # Production: not even an Identity Center administrator deletes evidence.
    if environment == "production":
        admin = "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_AdministratorAccess_0123abcd"
        assert evaluate(policy, "s3:DeleteObjectVersion", f"{arn}/x", who(admin)) == "Deny"


def test_no_evidence_version_expires_before_its_retention(synth: Synthesized, environment: str) -> None:
    """S3 Lifecycle expiration is not a request and no bucket policy stops it (S3 User Guide,
    "Managing the lifecycle of objects": https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html),
    so no rule may expire a current or noncurrent version before the bucket's retention; in
    production that is at least six years (45 CFR 164.316(b)(2)(i))."""
    for name, (stack, lid, days) in evidence_buckets(synth, environment).items():
        props = resources_of(synth.template(environment, stack), "AWS::S3::Bucket")[lid]["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        for rule in props.get("LifecycleConfiguration", {}).get("Rules", []):
            expiry = rule.get("ExpirationInDays")
            noncurrent = rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
            if days is None:  # the locked trail and quarantine: kept, never expired by lifecycle
                assert expiry is None and noncurrent is None, name
                continue
            assert expiry is None or expiry >= days, (name, expiry, days)
            assert noncurrent is None or noncurrent >= days, (name, noncurrent, days)
            if environment == "production":
                assert expiry is None or expiry >= HIPAA_RETENTION_DAYS, name
                assert noncurrent is None or noncurrent >= HIPAA_RETENTION_DAYS, name


def test_object_lock_exactly_where_the_writer_allows_it(synth: Synthesized, environment: str) -> None:
    """Object Lock on the trail (CloudTrail writes with integrity checksums) and the quarantine copy,
    never on a bucket whose writer refuses it: "S3 buckets with Object Lock can't be used as
    destination buckets for server access logs" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html);
    "AWS Config does not support the delivery channel to an Amazon S3 bucket where object lock is
    enabled" (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-config-deliverychannel.html).
    ELB and CloudFront document no Object Lock support for their log buckets and a refused
    delivery fails silently, so those rely on the bucket policy (see the test above)."""
    locked = {"trail", "quarantine"}
    for name, (stack, lid, _) in evidence_buckets(synth, environment).items():
        props = resources_of(synth.template(environment, stack), "AWS::S3::Bucket")[lid]["Properties"]
        assert ("ObjectLockConfiguration" in props) is (name in locked), name
        assert props.get("ObjectLockEnabled", False) is (name in locked), name


def test_config_refuses_production_evidence_below_six_years() -> None:
    import dataclasses

    from stacks import config as cfg

    production = cfg.production()
    for key in ("phi_access_log_days", "evidence_access_log_days", "config_history_days", "alb_log_days", "cloudfront_log_days"):
        short = dataclasses.replace(production.evidence, **{key: HIPAA_RETENTION_DAYS - 1})
        with pytest.raises(cfg.ConfigError, match=rf"^evidence.{key}: 2189 days in production; allowed: at least 2190"):
            dataclasses.replace(production, evidence=short)
    with pytest.raises(cfg.ConfigError, match=r"^evidence.teardown_principals: production evidence must not be deletable"):
        dataclasses.replace(production, evidence=dataclasses.replace(production.evidence, teardown_principals=("arn:aws:iam::*:role/x",)))
    sandbox = cfg.sandbox()
    with pytest.raises(cfg.ConfigError, match=r"^evidence.teardown_principals: 'admin' is not an IAM role ARN pattern"):
        dataclasses.replace(sandbox, evidence=dataclasses.replace(sandbox.evidence, teardown_principals=("admin",)))
    with pytest.raises(cfg.ConfigError, match=r"^evidence.alb_log_days: 0 is out of range"):
        dataclasses.replace(sandbox, evidence=dataclasses.replace(sandbox.evidence, alb_log_days=0))


def _quarantine_policy(synth: Synthesized, environment: str) -> dict[str, Any]:
    """The quarantine role's policy with every bucket/key token replaced by ``arn:aws:s3:::<logical id>``."""
    import json

    stage = synth.stages[environment]
    template = synth.template(environment, "audit")
    role = _lid(stage.audit.macie_quarantine.role)
    [policy] = [p for p in resources_of(template, "AWS::IAM::ManagedPolicy").values() if p["Properties"]["Roles"] == [{"Ref": role}]]
    names = [_lid(b) for b in stage.data.phi_buckets] + [lid for _, lid, _ in evidence_buckets(synth, environment).values()]

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict) and "Fn::Join" in value:
            return "".join(str(resolve(v)) for v in value["Fn::Join"][1])
        if isinstance(value, dict):
            text = json.dumps(value)
            if "DataKey" in text:
                return "arn:aws:kms:eu-central-1:000000000000:key/data"
            if "Partition" in text:
                return "aws"
            for name in names:
                if name in text:
                    return f"arn:aws:s3:::{name.lower()}"
            return f"arn:aws:other:::{text}"  # log groups, topics, queues: never an S3 or KMS ARN
        return value

    statements = []
    for s in policy["Properties"]["PolicyDocument"]["Statement"]:
        statement = {**s, "Resource": resolve(s["Resource"])}
        if "Condition" in s:
            statement["Condition"] = {op: {k: resolve(v) for k, v in entries.items()} for op, entries in s["Condition"].items()}
        statements.append(statement)
    return {"Statement": statements}


def test_quarantine_role_cannot_read_or_touch_phi_or_evidence(synth: Synthesized, environment: str) -> None:
    """The role may read and remove the one flagged object in an ordinary bucket and write the
    quarantine copy; every PHI and evidence bucket is out of reach by explicit deny (issue 15 items
    6 and 10). S3 sends the bucket ARN (S3 Bucket Keys) or object ARN as the ``aws:s3:arn``
    encryption context of SSE-KMS calls (S3 User Guide, "Using server-side encryption with AWS KMS
    keys": https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context)."""
    stage = synth.stages[environment]
    policy = _quarantine_policy(synth, environment)
    account = {"s3:ResourceAccount": stage.audit.account}
    ordinary = "arn:aws:s3:::some-team-uploads"
    quarantine = f"arn:aws:s3:::{_lid(stage.audit.quarantine_bucket).lower()}"
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion"):
        assert evaluate(policy, action, f"{ordinary}/scan.pdf", account) == "Allow", action
    assert evaluate(policy, "s3:ListBucket", ordinary, account) == "Allow"
    protected = [_lid(b) for b in stage.data.phi_buckets] + [
        lid for name, (_, lid, _) in evidence_buckets(synth, environment).items() if name != "quarantine"
    ]
    assert len(protected) == 9  # 2 PHI + 7 evidence buckets (data, app, 2 edge, 3 audit)
    for lid in protected:
        arn = f"arn:aws:s3:::{lid.lower()}"
        for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObjectTagging"):
            assert evaluate(policy, action, f"{arn}/AWSLogs/x", account) == "Deny", (lid, action)
        assert evaluate(policy, "s3:ListBucket", arn, account) == "Deny", lid
    for action in ("s3:PutObject", "s3:GetObject", "s3:PutObjectTagging", "s3:GetObjectTagging"):
        assert evaluate(policy, action, f"{quarantine}/src/v1/key", account) == "Allow", action
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutObjectRetention"):
        assert evaluate(policy, action, f"{quarantine}/src/v1/key", account) == "Deny", action
    key = "arn:aws:kms:eu-central-1:000000000000:key/data"
    via = {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}
    assert evaluate(policy, "kms:Decrypt", key, {**via, "kms:EncryptionContext:aws:s3:arn": quarantine}) == "Allow"
    assert evaluate(policy, "kms:GenerateDataKey", key, {**via, "kms:EncryptionContext:aws:s3:arn": quarantine}) == "Allow"
    for phi in stage.data.phi_buckets:
        context = {**via, "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{_lid(phi).lower()}"}
        assert evaluate(policy, "kms:Decrypt", key, context) == "Deny"
    assert evaluate(policy, "kms:Decrypt", key, {"kms:EncryptionContext:aws:s3:arn": quarantine}) == "Implicit"  # not via S3
    # The function skips the same buckets itself (PROTECTED_BUCKETS): 2 PHI + 7 evidence.
    env = resources_of(synth.template(environment, "audit"), "AWS::Lambda::Function")
    [fn] = [f for f in env.values() if "PROTECTED_BUCKETS" in f["Properties"].get("Environment", {}).get("Variables", {})]
    variables = fn["Properties"]["Environment"]["Variables"]
    assert len(variables["PROTECTED_BUCKETS"]["Fn::Join"][1]) == 2 * 9 - 1
    assert variables["PHI_TAG"] == "data-class=phi"


def test_quarantine_lock_is_never_weaker_than_the_phi_lock() -> None:
    """The quarantine bucket is PHI-tagged, so the custom Config rule medivault-phi-bucket-lock checks
    it against data.object_lock_mode/days; a weaker quarantine lock would be NON_COMPLIANT forever."""
    import dataclasses

    from stacks import config as cfg

    production = cfg.production()
    assert production.audit.quarantine_lock_days >= production.data.object_lock_days
    weaker = dataclasses.replace(production.audit, quarantine_lock_days=production.data.object_lock_days - 1)
    with pytest.raises(cfg.ConfigError, match=r"^audit.quarantine_lock_mode/quarantine_lock_days: COMPLIANCE for 2554 days is weaker"):
        dataclasses.replace(production, audit=weaker)
    sandbox = cfg.sandbox()
    other_mode = dataclasses.replace(sandbox.audit, quarantine_lock_mode="COMPLIANCE")
    with pytest.raises(cfg.ConfigError, match=r"^audit.quarantine_lock_mode/quarantine_lock_days: COMPLIANCE for 1 days is weaker"):
        dataclasses.replace(sandbox, audit=other_mode)


def _worst_case_length(document: Any) -> int:
    """Minified length with every intrinsic (ARN, name) replaced by 100 characters: longer than any
    bucket ARN (``arn:aws:s3:::`` + at most 63 characters) or key/topic/queue ARN here."""
    import json

    def walk(value: Any) -> Any:
        if isinstance(value, dict) and value.get("Ref") == "AWS::Partition":
            return "aws"
        if isinstance(value, dict) and "Fn::Join" in value:
            return "".join(str(walk(v)) for v in value["Fn::Join"][1])
        if isinstance(value, dict) and set(value) & {"Ref", "Fn::GetAtt", "Fn::GetStackOutput", "Fn::ImportValue", "Fn::Sub"}:
            return "x" * 100
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return len(json.dumps(walk(document), separators=(",", ":")))


def test_grown_policies_stay_within_their_quotas(synth: Synthesized, environment: str) -> None:
    """The quarantine role's managed policy now names every PHI and evidence bucket: a managed policy
    holds at most 6,144 characters without whitespace (IAM and AWS STS quotas,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); a bucket policy at
    most 20 KB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html).
    Exceeding either fails only at deploy time, so it is checked here with worst-case ARN lengths."""
    stage = synth.stages[environment]
    template = synth.template(environment, "audit")
    role = _lid(stage.audit.macie_quarantine.role)
    [policy] = [p for p in resources_of(template, "AWS::IAM::ManagedPolicy").values() if p["Properties"]["Roles"] == [{"Ref": role}]]
    assert _worst_case_length(policy["Properties"]["PolicyDocument"]) < 6144
    for name, (stack, lid, _) in evidence_buckets(synth, environment).items():
        assert _worst_case_length(_policy(synth.template(environment, stack), lid)) < 20 * 1024, name


def test_evidence_protection_setting_refuses_what_would_lock_everyone_out_or_match_nothing() -> None:
    from constructs.evidence_protection import EvidenceProtection

    with pytest.raises(ValueError, match="break_glass_principals is empty"):
        EvidenceProtection(break_glass_principals=(), deployment_principals=())
    with pytest.raises(ValueError, match=r"deployment_principals: 'cdk-deploy' is not an IAM role ARN pattern"):
        EvidenceProtection(break_glass_principals=("arn:aws:iam::*:role/bg",), deployment_principals=("cdk-deploy",))
    with pytest.raises(ValueError, match=r"teardown_principals: 'arn:aws:iam::\*:user/admin' is not an IAM role ARN pattern"):
        EvidenceProtection(
            break_glass_principals=("arn:aws:iam::*:role/bg",), deployment_principals=(), teardown_principals=("arn:aws:iam::*:user/admin",)
        )
