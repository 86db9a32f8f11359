"""Real event shapes (trimmed to the fields the handlers read, plus neighbours), from the AWS docs'
sample events: GuardDuty/Macie findings, Config compliance changes and Backup job changes as
EventBridge delivers them, and AWS Config custom-rule invocations."""

from __future__ import annotations

import copy
import json
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-central-1"


def envelope(source: str, detail_type: str, detail: dict[str, Any], event_id: str = "8d2f1c3e-1111-2222-3333-444455556666") -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-11-23T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": copy.deepcopy(detail),
    }


GUARDDUTY_DETAIL: dict[str, Any] = {
    "schemaVersion": "2.0",
    "accountId": ACCOUNT,
    "region": REGION,
    "partition": "aws",
    "id": "16afba5c5c43e07c9e3e5e2e544e95df",
    "arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/123/finding/16afba5c5c43e07c9e3e5e2e544e95df",
    "type": "UnauthorizedAccess:S3/TorIPCaller",
    "resource": {"resourceType": "S3Bucket", "s3BucketDetails": [{"name": "medivault-records"}]},
    "service": {"serviceName": "guardduty", "count": 1},
    "severity": 8.0,
    "createdAt": "2026-11-23T09:58:00.000Z",
    "updatedAt": "2026-11-23T09:59:00.000Z",
    "title": "An S3 API was invoked from a Tor exit node.",
    "description": "An API was invoked from a Tor exit node IP address.",
}

MACIE_DETAIL: dict[str, Any] = {
    "schemaVersion": "1.0",
    "id": "64b917aa3b1c4a3b8d2b4b5a0b8f6e1a",
    "accountId": ACCOUNT,
    "partition": "aws",
    "region": REGION,
    "type": "SensitiveData:S3Object/Personal",
    "title": "The S3 object contains personal information.",
    "category": "CLASSIFICATION",
    "severity": {"score": 3, "description": "High"},
    "createdAt": "2026-11-23T09:50:00.000Z",
    "updatedAt": "2026-11-23T09:51:00.000Z",
    "count": 1,
    "resourcesAffected": {
        "s3Bucket": {"arn": "arn:aws:s3:::medivault-uploads", "name": "medivault-uploads", "owner": {"id": "abc"}},
        "s3Object": {
            "bucketArn": "arn:aws:s3:::medivault-uploads",
            "key": "incoming/scan 0001.pdf",
            "path": "medivault-uploads/incoming/scan 0001.pdf",
            "extension": "pdf",
            "versionId": "VERSION",
            "size": 11,
        },
    },
    "classificationDetails": {
        "jobId": "6a8b2f1c",
        "result": {"status": {"code": "COMPLETE"}, "sensitiveData": [{"category": "PERSONAL_INFORMATION", "totalCount": 3}]},
    },
}

CONFIG_DETAIL: dict[str, Any] = {
    "resourceId": "medivault-uploads",
    "awsRegion": REGION,
    "awsAccountId": ACCOUNT,
    "configRuleName": "s3-bucket-ssl-requests-only",
    "recordVersion": "1.0",
    "configRuleARN": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-abc",
    "messageType": "ComplianceChangeNotification",
    "newEvaluationResult": {
        "evaluationResultIdentifier": {"evaluationResultQualifier": {"configRuleName": "s3-bucket-ssl-requests-only"}},
        "complianceType": "NON_COMPLIANT",
        "resultRecordedTime": "2026-11-23T09:40:00.000Z",
        "configRuleInvokedTime": "2026-11-23T09:39:59.000Z",
    },
    "oldEvaluationResult": {"complianceType": "COMPLIANT"},
    "notificationCreationTime": "2026-11-23T09:40:01.000Z",
    "resourceType": "AWS::S3::Bucket",
}

BACKUP_DETAIL: dict[str, Any] = {
    "backupJobId": "4b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff",
    "backupVaultName": "medivault-primary",
    "backupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:medivault-primary",
    "resourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:medivault",
    "resourceType": "Aurora",
    "state": "FAILED",
    "statusMessage": "Access denied to the KMS key",
    "creationDate": "2026-11-23T03:00:00.000Z",
}


def guardduty(**changes: Any) -> dict[str, Any]:
    return envelope("aws.guardduty", "GuardDuty Finding", {**GUARDDUTY_DETAIL, **changes})


def macie(**changes: Any) -> dict[str, Any]:
    return envelope("aws.macie", "Macie Finding", {**MACIE_DETAIL, **changes})


def config_change(**changes: Any) -> dict[str, Any]:
    return envelope("aws.config", "Config Rules Compliance Change", {**CONFIG_DETAIL, **changes})


def backup_job(**changes: Any) -> dict[str, Any]:
    return envelope("aws.backup", "Backup Job State Change", {**BACKUP_DETAIL, **changes})


def config_rule_change(
    configuration_item: dict[str, Any] | None,
    *,
    message_type: str = "ConfigurationItemChangeNotification",
    parameters: dict[str, str] | None = None,
    left_scope: bool = False,
) -> dict[str, Any]:
    invoking: dict[str, Any] = {"messageType": message_type, "notificationCreationTime": "2026-11-23T09:00:00.000Z", "recordVersion": "1.3"}
    if message_type == "ConfigurationItemChangeNotification":
        invoking["configurationItem"] = configuration_item
    elif message_type == "OversizedConfigurationItemChangeNotification":
        invoking["configurationItemSummary"] = configuration_item
    else:
        invoking["awsAccountId"] = ACCOUNT
    return {
        "version": "1.0",
        "invokingEvent": json.dumps(invoking),
        "ruleParameters": json.dumps(parameters if parameters is not None else {}),
        "resultToken": "token-abc",
        "eventLeftScope": left_scope,
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/config-role",
        "configRuleArn": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/config-rule-xyz",
        "configRuleName": "medivault-phi-bucket-lock",
        "configRuleId": "config-rule-xyz",
        "accountId": ACCOUNT,
        "evaluationMode": "DETECTIVE",
    }


def bucket_item(name: str, status: str = "OK") -> dict[str, Any]:
    return {
        "configurationItemCaptureTime": "2026-11-23T08:59:00.000Z",
        "awsAccountId": ACCOUNT,
        "configurationItemStatus": status,
        "resourceType": "AWS::S3::Bucket",
        "resourceId": name,
        "resourceName": name,
        "ARN": f"arn:aws:s3:::{name}",
        "awsRegion": REGION,
        "configuration": {"name": name},
        "tags": {},
    }
