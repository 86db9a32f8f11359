"""The requests AWS services really send to the policies that guard our encrypted resources.

Each function derives, from the templates alone, the (encrypted resource -> its key -> who writes or
reads it) pairs of one kind, and the request each writer makes: principal, action, resource and the
request context (kms:ViaService, kms:CallerAccount, the encryption context, aws:SourceArn /
aws:SourceAccount where that service sends them). A new resource of a known kind is covered without
editing this file. The policies are evaluated with tests/stacks/iam_eval.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.model import Assembly, Resource


@dataclass(frozen=True)
class PolicyRequest:
    kind: str
    guard: Resource  # the AWS::KMS::Key, or the bucket/topic/queue policy resource
    principal: dict[str, str]
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    writer: str = ""  # what makes the request (for the failure message)
    # "Allow": the policy itself must allow (service principals, key policies);
    # "NotDeny": identity policies allow, the resource policy must only not deny it.
    needs: str = "Allow"

    def describe(self) -> str:
        principal = next(iter(self.principal.values()))
        return f"[{self.kind}] {self.writer}: {principal} {self.action} on {self.resource} with {self.context} -> {self.guard.key}"


def _key_of(assembly: Assembly, resource: Resource, value: Any) -> Resource | None:
    keys = [r for r in assembly.resolve_refs(resource.stack, value) if r.type == "AWS::KMS::Key"]
    return keys[0] if keys else None


def _policies_for(assembly: Assembly, target: Resource, policy_type: str, attribute: str) -> list[Resource]:
    return [p for p in assembly.of_type(policy_type) if target in assembly.resolve_refs(p.stack, p.properties.get(attribute))]


def _sns_topic_policy_requests(
    assembly: Assembly, kind: str, topic: Resource, principal: str, context: dict[str, str], writer: str
) -> Iterator[PolicyRequest]:
    policies = _policies_for(assembly, topic, "AWS::SNS::TopicPolicy", "Topics")
    if not policies:
        # Without a topic policy only the owner account may publish: a service principal is refused.
        yield PolicyRequest(kind, topic, {"Service": principal}, "sns:Publish", assembly.arn_of(topic), context, writer + " (no topic policy)")
    for policy in policies:
        yield PolicyRequest(
            kind, policy, {"Service": principal}, "sns:Publish", assembly.arn_of(topic), {**context, "aws:SecureTransport": "true"}, writer
        )


def log_groups(assembly: Assembly) -> Iterator[PolicyRequest]:
    """CloudWatch Logs encrypts and decrypts log events itself, as ``logs.<region>.amazonaws.com``, with
    the log group's ARN as encryption context:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
    for group in assembly.of_type("AWS::Logs::LogGroup"):
        key = _key_of(assembly, group, group.properties.get("KmsKeyId"))
        if key is None:
            continue
        arn = assembly.arn_of(group)
        for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"):
            yield PolicyRequest(
                "logs",
                key,
                {"Service": f"logs.{group.stack.region}.amazonaws.com"},
                action,
                "*",
                {"kms:EncryptionContext:aws:logs:arn": arn},
                group.key,
            )


def eventbridge_to_topics(assembly: Assembly) -> Iterator[PolicyRequest]:
    """EventBridge publishes to an SNS topic as ``events.amazonaws.com``: the topic policy must allow
    it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions),
    and for an encrypted topic the key policy must allow kms:GenerateDataKey and kms:Decrypt. SNS sends
    the topic ARN as encryption context (``aws:sns:topicArn``); AWS documents that aws:SourceArn /
    aws:SourceAccount / aws:SourceOrgID are *not* present in that KMS request
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services, as quoted in
    https://aws.github.io/modern-data-architecture-accelerator/typedocs/functions/_aws-mdaa_cloudwatch-constructs.grantCloudWatchAlarmsTopicAccess.html),
    so a key
    statement conditioned on them never matches."""
    for rule in assembly.of_type("AWS::Events::Rule"):
        s = rule.stack
        for target in rule.properties.get("Targets", []):
            for topic in [r for r in assembly.resolve_refs(s, target["Arn"]) if r.type == "AWS::SNS::Topic"]:
                rule_arn = assembly.arn_of(rule)
                yield from _sns_topic_policy_requests(
                    assembly, "eventbridge-sns", topic, "events.amazonaws.com", {"aws:SourceArn": rule_arn, "aws:SourceAccount": s.account}, rule.key
                )
                key = _key_of(assembly, topic, topic.properties.get("KmsMasterKeyId"))
                if key is not None:
                    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                        yield PolicyRequest(
                            "eventbridge-sns",
                            key,
                            {"Service": "events.amazonaws.com"},
                            action,
                            "*",
                            {"kms:EncryptionContext:aws:sns:topicArn": assembly.arn_of(topic)},
                            rule.key,
                        )


def alarms_to_topics(assembly: Assembly) -> Iterator[PolicyRequest]:
    """CloudWatch alarm actions publish as ``cloudwatch.amazonaws.com``; for an encrypted topic the key
    policy must allow kms:GenerateDataKey* and kms:Decrypt, and CloudWatch sends aws:SourceArn (the
    alarm) and aws:SourceAccount: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    and https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"""
    for alarm in assembly.of_type("AWS::CloudWatch::Alarm") + assembly.of_type("AWS::CloudWatch::CompositeAlarm"):
        actions = [alarm.properties.get(k, []) for k in ("AlarmActions", "OKActions", "InsufficientDataActions")]
        for topic in {r for r in assembly.resolve_refs(alarm.stack, actions) if r.type == "AWS::SNS::Topic"}:
            key = _key_of(assembly, topic, topic.properties.get("KmsMasterKeyId"))
            if key is None:
                continue
            context = {
                "kms:EncryptionContext:aws:sns:topicArn": assembly.arn_of(topic),
                "aws:SourceArn": assembly.arn_of(alarm),
                "aws:SourceAccount": alarm.stack.account,
            }
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                yield PolicyRequest("alarm-sns", key, {"Service": "cloudwatch.amazonaws.com"}, action, "*", context, alarm.key)


def eventbridge_dead_letter_queues(assembly: Assembly) -> Iterator[PolicyRequest]:
    """A rule target's dead-letter queue receives the events EventBridge could not deliver, sent as
    ``events.amazonaws.com`` with aws:SourceArn = the rule: the queue policy must allow it, and an
    encrypted queue's key must allow events kms:GenerateDataKey/kms:Decrypt (SQS sends the queue ARN
    as encryption context ``aws:sqs:arn``):
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms and
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services"""
    for rule in assembly.of_type("AWS::Events::Rule"):
        for target in rule.properties.get("Targets", []):
            dlq = target.get("DeadLetterConfig", {}).get("Arn")
            for queue in [r for r in assembly.resolve_refs(rule.stack, dlq) if r.type == "AWS::SQS::Queue"]:
                arn = assembly.arn_of(queue)
                for policy in _policies_for(assembly, queue, "AWS::SQS::QueuePolicy", "Queues") or [queue]:
                    yield PolicyRequest(
                        "eventbridge-dlq",
                        policy,
                        {"Service": "events.amazonaws.com"},
                        "sqs:SendMessage",
                        arn,
                        {"aws:SourceArn": assembly.arn_of(rule), "aws:SourceAccount": rule.stack.account, "aws:SecureTransport": "true"},
                        rule.key,
                    )
                key = _key_of(assembly, queue, queue.properties.get("KmsMasterKeyId"))
                if key is not None:
                    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                        yield PolicyRequest(
                            "eventbridge-dlq",
                            key,
                            {"Service": "events.amazonaws.com"},
                            action,
                            "*",
                            {"kms:EncryptionContext:aws:sqs:arn": arn},
                            rule.key,
                        )


def lambda_dead_letter_queues(assembly: Assembly) -> Iterator[PolicyRequest]:
    """Lambda sends a failed asynchronous event to the function's DLQ with the function's execution
    role; SQS then calls KMS on the role's behalf (kms:ViaService sqs, the queue ARN as encryption
    context): https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq
    and https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"""
    for function in assembly.of_type("AWS::Lambda::Function"):
        target = function.properties.get("DeadLetterConfig", {}).get("TargetArn")
        roles = [r for r in assembly.resolve_refs(function.stack, function.properties["Role"]) if r.type == "AWS::IAM::Role"]
        for queue in [r for r in assembly.resolve_refs(function.stack, target) if r.type == "AWS::SQS::Queue"]:
            key = _key_of(assembly, queue, queue.properties.get("KmsMasterKeyId"))
            for role in roles:
                principal = {"AWS": assembly.arn_of(role)}
                s = function.stack
                for policy in _policies_for(assembly, queue, "AWS::SQS::QueuePolicy", "Queues"):
                    yield PolicyRequest(
                        "lambda-dlq",
                        policy,
                        principal,
                        "sqs:SendMessage",
                        assembly.arn_of(queue),
                        {"aws:SecureTransport": "true"},
                        function.key,
                        "NotDeny",
                    )
                if key is not None:
                    context = {
                        "kms:ViaService": f"sqs.{s.region}.amazonaws.com",
                        "kms:CallerAccount": s.account,
                        "kms:EncryptionContext:aws:sqs:arn": assembly.arn_of(queue),
                    }
                    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                        yield PolicyRequest("lambda-dlq", key, principal, action, "*", context, function.key)


def _trail_context(trail: Resource, arn: str) -> dict[str, str]:
    return {"aws:SourceArn": arn, "aws:SourceAccount": trail.stack.account}


def cloudtrail_delivery(assembly: Assembly) -> Iterator[PolicyRequest]:
    """CloudTrail writes log files as ``cloudtrail.amazonaws.com``: the bucket policy must allow
    s3:GetBucketAcl and s3:PutObject under AWSLogs/<account>/ (with aws:SourceArn = the trail), and the
    trail's key must allow kms:GenerateDataKey* with the trail ARN as encryption context:
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html and
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html"""
    for trail in assembly.of_type("AWS::CloudTrail::Trail"):
        arn = assembly.arn_of(trail)
        for bucket in [r for r in assembly.resolve_refs(trail.stack, trail.properties["S3BucketName"]) if r.type == "AWS::S3::Bucket"]:
            bucket_arn = assembly.arn_of(bucket)
            for policy in _policies_for(assembly, bucket, "AWS::S3::BucketPolicy", "Bucket"):
                ctx = {**_trail_context(trail, arn), "aws:SecureTransport": "true"}
                yield PolicyRequest("cloudtrail", policy, {"Service": "cloudtrail.amazonaws.com"}, "s3:GetBucketAcl", bucket_arn, ctx, trail.key)
                yield PolicyRequest(
                    "cloudtrail",
                    policy,
                    {"Service": "cloudtrail.amazonaws.com"},
                    "s3:PutObject",
                    f"{bucket_arn}/AWSLogs/{trail.stack.account}/CloudTrail/{trail.stack.region}/2026/12/04/x.json.gz",
                    {**ctx, "s3:x-amz-acl": "bucket-owner-full-control"},
                    trail.key,
                )
        key = _key_of(assembly, trail, trail.properties.get("KMSKeyId"))
        if key is not None:
            yield PolicyRequest(
                "cloudtrail",
                key,
                {"Service": "cloudtrail.amazonaws.com"},
                "kms:GenerateDataKey",
                "*",
                {**_trail_context(trail, arn), "kms:EncryptionContext:aws:cloudtrail:arn": arn},
                trail.key,
            )


def cloudtrail_describe_key(assembly: Assembly) -> Iterator[PolicyRequest]:
    """CloudTrail describes the trail's key when the trail is created or updated; DescribeKey carries
    no encryption context, so the statement that allows it cannot be conditioned on one ("Enable
    CloudTrail to describe KMS key properties"), and with an S3 Bucket Key on the trail bucket trail
    creation also needs kms:Decrypt:
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html"""
    for trail in assembly.of_type("AWS::CloudTrail::Trail"):
        key = _key_of(assembly, trail, trail.properties.get("KMSKeyId"))
        if key is None:
            continue
        ctx = _trail_context(trail, assembly.arn_of(trail))
        yield PolicyRequest("cloudtrail-describe", key, {"Service": "cloudtrail.amazonaws.com"}, "kms:DescribeKey", "*", ctx, trail.key)
        buckets = [r for r in assembly.resolve_refs(trail.stack, trail.properties["S3BucketName"]) if r.type == "AWS::S3::Bucket"]
        for bucket in buckets:
            rules = bucket.properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            if any(r.get("BucketKeyEnabled") for r in rules):
                yield PolicyRequest(
                    "cloudtrail-describe", key, {"Service": "cloudtrail.amazonaws.com"}, "kms:Decrypt", "*", ctx, trail.key + " (S3 Bucket Key)"
                )


def config_delivery(assembly: Assembly) -> Iterator[PolicyRequest]:
    """AWS Config (service-linked role) delivers to S3 as ``config.amazonaws.com`` with aws:SourceAccount:
    bucket policy https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html, key
    policy https://docs.aws.amazon.com/config/latest/developerguide/s3-kms-key-policy.html"""
    for channel in assembly.of_type("AWS::Config::DeliveryChannel"):
        s = channel.stack
        ctx = {"aws:SourceAccount": s.account, "aws:SecureTransport": "true"}
        prefix = channel.properties.get("S3KeyPrefix")
        for bucket in [r for r in assembly.resolve_refs(s, channel.properties["S3BucketName"]) if r.type == "AWS::S3::Bucket"]:
            bucket_arn = assembly.arn_of(bucket)
            folder = prefix + "/" if isinstance(prefix, str) else ""
            path = f"{bucket_arn}/{folder}AWSLogs/{s.account}/Config/{s.region}/2026/12/4/ConfigSnapshot/x.json.gz"
            for policy in _policies_for(assembly, bucket, "AWS::S3::BucketPolicy", "Bucket"):
                for action in ("s3:GetBucketAcl", "s3:ListBucket"):
                    yield PolicyRequest("config", policy, {"Service": "config.amazonaws.com"}, action, bucket_arn, ctx, channel.key)
                yield PolicyRequest(
                    "config",
                    policy,
                    {"Service": "config.amazonaws.com"},
                    "s3:PutObject",
                    path,
                    {**ctx, "s3:x-amz-acl": "bucket-owner-full-control"},
                    channel.key,
                )
        key = _key_of(assembly, channel, channel.properties.get("S3KmsKeyArn"))
        if key is not None:
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                yield PolicyRequest("config", key, {"Service": "config.amazonaws.com"}, action, "*", {"aws:SourceAccount": s.account}, channel.key)


def cloudfront_logs(assembly: Assembly) -> Iterator[PolicyRequest]:
    """CloudFront standard logs to an SSE-KMS bucket: the key policy must let ``delivery.logs.amazonaws.com``
    use kms:GenerateDataKey*: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
    (aws:SourceAccount assumed sent, as for every vended-log delivery:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html#AWS-logs-SSE-KMS-S3)"""
    for distribution in assembly.of_type("AWS::CloudFront::Distribution"):
        logging = distribution.properties["DistributionConfig"].get("Logging")
        if not logging:
            continue
        for bucket in [r for r in assembly.resolve_refs(distribution.stack, logging["Bucket"]) if r.type == "AWS::S3::Bucket"]:
            rules = bucket.properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                key = _key_of(assembly, bucket, rule["ServerSideEncryptionByDefault"].get("KMSMasterKeyID"))
                if key is not None:
                    yield PolicyRequest(
                        "cloudfront-logs",
                        key,
                        {"Service": "delivery.logs.amazonaws.com"},
                        "kms:GenerateDataKey",
                        "*",
                        {"aws:SourceAccount": distribution.stack.account},
                        distribution.key,
                    )


# Resource type -> (key property path, service that calls KMS on the deploying role's behalf, actions).
# CloudFormation's execution role creates the resource; the service then calls KMS with kms:ViaService
# = itself and (for grants) kms:GrantIsForAWSResource = true.
SERVICE_CREATION: dict[str, tuple[tuple[str, ...], str, tuple[str, ...], str]] = {
    "AWS::RDS::DBCluster": (
        ("KmsKeyId",),
        "rds",
        ("kms:CreateGrant", "kms:DescribeKey"),
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Overview.Encryption.Keys.html",
    ),
    "AWS::ElastiCache::ReplicationGroup": (
        ("KmsKeyId",),
        "elasticache",
        ("kms:CreateGrant", "kms:DescribeKey"),
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html",
    ),
    "AWS::DynamoDB::Table": (
        ("SSESpecification", "KMSMasterKeyId"),
        "dynamodb",
        ("kms:CreateGrant", "kms:DescribeKey"),
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html",
    ),
    "AWS::Backup::BackupVault": (
        ("EncryptionKeyArn",),
        "backup",
        ("kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey"),
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html",
    ),
    "AWS::SecretsManager::Secret": (
        ("KmsKeyId",),
        "secretsmanager",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",
    ),
}


def _path(properties: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = properties
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def service_creation(assembly: Assembly) -> Iterator[PolicyRequest]:
    """See ``SERVICE_CREATION``: each page is there."""
    for resource_type, (path, service, actions, _url) in SERVICE_CREATION.items():
        for resource in assembly.of_type(resource_type):
            key = _key_of(assembly, resource, _path(resource.properties, path))
            if key is None:
                continue
            s = resource.stack
            role = f"arn:aws:iam::{s.account}:role/cdk-hnb659fds-cfn-exec-role-{s.account}-{s.region}"
            for action in actions:
                context = {"kms:ViaService": f"{service}.{key.stack.region}.amazonaws.com", "kms:CallerAccount": s.account}
                if action == "kms:CreateGrant":
                    context["kms:GrantIsForAWSResource"] = "true"
                yield PolicyRequest("service-creation", key, {"AWS": role}, action, "*", context, resource.key)


def backup_copies(assembly: Assembly) -> Iterator[PolicyRequest]:
    """A copy job re-encrypts the recovery point with the destination vault's key, in the destination
    region, with the selection's IAM role (kms:ViaService backup.<dest-region>):
    https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html#copy-encryption"""
    for plan in assembly.of_type("AWS::Backup::BackupPlan"):
        selections = [
            sel
            for sel in plan.stack.of_type("AWS::Backup::BackupSelection")
            if plan in assembly.resolve_refs(sel.stack, sel.properties["BackupPlanId"])
        ]
        roles = {
            r
            for sel in selections
            for r in assembly.resolve_refs(sel.stack, sel.properties["BackupSelection"]["IamRoleArn"])
            if r.type == "AWS::IAM::Role"
        }
        for rule in plan.properties["BackupPlan"]["BackupPlanRule"]:
            for action in rule.get("CopyActions", []):
                for vault in [
                    r for r in assembly.resolve_refs(plan.stack, action["DestinationBackupVaultArn"]) if r.type == "AWS::Backup::BackupVault"
                ]:
                    key = _key_of(assembly, vault, vault.properties.get("EncryptionKeyArn"))
                    if key is None:
                        continue
                    for role in roles:
                        context = {"kms:ViaService": f"backup.{vault.stack.region}.amazonaws.com", "kms:CallerAccount": plan.stack.account}
                        for kms_action in ("kms:CreateGrant", "kms:GenerateDataKey", "kms:DescribeKey"):
                            ctx = {**context, "kms:GrantIsForAWSResource": "true"} if kms_action == "kms:CreateGrant" else context
                            yield PolicyRequest(
                                "backup-copy", key, {"AWS": assembly.arn_of(role)}, kms_action, "*", ctx, f"{plan.key} rule {rule['RuleName']}"
                            )


def server_access_logs(assembly: Assembly) -> Iterator[PolicyRequest]:
    """S3 server access logging writes as ``logging.s3.amazonaws.com`` with aws:SourceArn = the source
    bucket and aws:SourceAccount; the destination bucket's policy must allow s3:PutObject under the
    prefix: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general"""
    for bucket in assembly.of_type("AWS::S3::Bucket"):
        logging = bucket.properties.get("LoggingConfiguration")
        if not logging or "DestinationBucketName" not in logging:
            continue
        prefix = logging.get("LogFilePrefix", "")
        for target in [r for r in assembly.resolve_refs(bucket.stack, logging["DestinationBucketName"]) if r.type == "AWS::S3::Bucket"]:
            ctx = {"aws:SourceArn": assembly.arn_of(bucket), "aws:SourceAccount": bucket.stack.account, "aws:SecureTransport": "true"}
            policies = _policies_for(assembly, target, "AWS::S3::BucketPolicy", "Bucket") or [target]
            for policy in policies:
                yield PolicyRequest(
                    "s3-access-logs",
                    policy,
                    {"Service": "logging.s3.amazonaws.com"},
                    "s3:PutObject",
                    f"{assembly.arn_of(target)}/{prefix}2026-12-04-00-00-00-EXAMPLE",
                    ctx,
                    bucket.key,
                )


# Elastic Load Balancing account per region (regions available before August 2022), which writes ALB
# access logs: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html#attach-bucket-policy
ELB_ACCOUNTS = {"eu-central-1": "054676820928", "eu-west-1": "156460612806", "us-east-1": "127311923021"}


def alb_access_logs(assembly: Assembly) -> Iterator[PolicyRequest]:
    """ALB access logs: in eu-central-1 (a region available before August 2022) the regional Elastic
    Load Balancing account writes the objects, under <prefix>/AWSLogs/<account>/:
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html#attach-bucket-policy"""
    for lb in assembly.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        attributes = {a["Key"]: a["Value"] for a in lb.properties.get("LoadBalancerAttributes", [])}
        if attributes.get("access_logs.s3.enabled") != "true":
            continue
        prefix = attributes.get("access_logs.s3.prefix")
        folder = f"{prefix}/" if isinstance(prefix, str) and prefix else ""
        s = lb.stack
        for bucket in [r for r in assembly.resolve_refs(s, attributes["access_logs.s3.bucket"]) if r.type == "AWS::S3::Bucket"]:
            key = f"{assembly.arn_of(bucket)}/{folder}AWSLogs/{s.account}/elasticloadbalancing/{s.region}/2026/12/04/x.log.gz"
            for policy in _policies_for(assembly, bucket, "AWS::S3::BucketPolicy", "Bucket") or [bucket]:
                yield PolicyRequest(
                    "alb-access-logs",
                    policy,
                    {"AWS": f"arn:aws:iam::{ELB_ACCOUNTS[s.region]}:root"},
                    "s3:PutObject",
                    key,
                    {"aws:SecureTransport": "true"},
                    lb.key,
                )


KINDS: dict[str, Callable[[Assembly], Iterator[PolicyRequest]]] = {
    "logs": log_groups,
    "eventbridge-sns": eventbridge_to_topics,
    "alarm-sns": alarms_to_topics,
    "eventbridge-dlq": eventbridge_dead_letter_queues,
    "lambda-dlq": lambda_dead_letter_queues,
    "cloudtrail": cloudtrail_delivery,
    "cloudtrail-describe": cloudtrail_describe_key,
    "config": config_delivery,
    "cloudfront-logs": cloudfront_logs,
    "service-creation": service_creation,
    "backup-copy": backup_copies,
    "s3-access-logs": server_access_logs,
    "alb-access-logs": alb_access_logs,
}


def log_destination_buckets(assembly: Assembly) -> Iterator[tuple[str, Resource]]:
    """Buckets that receive S3 server access logs or ALB access logs (these support SSE-S3 only)."""
    for request in [*server_access_logs(assembly), *alb_access_logs(assembly)]:
        guard = request.guard
        buckets = [guard] if guard.type == "AWS::S3::Bucket" else assembly.resolve_refs(guard.stack, guard.properties["Bucket"])
        for bucket in buckets:
            yield request.kind, bucket
