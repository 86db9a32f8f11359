"""Detection in the regions other than the primary one (R14): ``<Stage>-DetectionDr`` in eu-west-1
(DR key, locked DR vault, restores after the loss of Frankfurt) and ``<Stage>-DetectionEdge`` in
us-east-1 (WAF web ACL, its logs and key, the CloudFront certificate).

Each holds AWS Config recording (no global resource types: IAM is recorded once, by the Audit stack
in eu-central-1), a GuardDuty detector, the HIPAA rules that matter in that region, and EventBridge
rules that forward their findings to the eu-central-1 default bus, where the Audit stack's rules
send them to the same findings notifier and security topic. Config delivers to the central Config
bucket (eu-central-1) under the audit key, read here across regions with a weak reference.
The ``audit.use_existing_*`` switches apply here as in the Audit stack. No Macie here: Macie scans S3
buckets of its own region, and neither region holds a bucket with data (docs/audit.md).
"""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.detection_baseline import RDS_LOGIN_EVENTS, S3_DATA_EVENTS, RegionalDetection, RegionalDetectionSettings
from constructs.hipaa_config_rules import dr_region_rules, edge_region_rules

from stacks.base import MediVaultStack
from stacks.config import EnvironmentConfig

KINDS = ("dr", "edge")


class DetectionStack(MediVaultStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        kind: str,
        config_bucket: s3.IBucket,
        config_key: kms.IKey,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"DetectionStack: kind {kind!r} is not one of {', '.join(KINDS)}")
        region = config.dr_region if kind == "dr" else config.edge_region
        super().__init__(
            scope,
            construct_id,
            config=config,
            region=region,
            description=f"detection in {region}: Config recording, GuardDuty, HIPAA rules, findings forwarded to {config.primary_region}",
            # The Config bucket and the audit key live in the primary region's Audit stack.
            cross_region_references=True,
        )
        audit = config.audit
        # DR: a restore brings Aurora and S3 data here, so S3 and RDS-login protection are on;
        # edge: no bucket and no database, the foundational detector (CloudTrail, DNS, flow logs).
        features = (S3_DATA_EVENTS, RDS_LOGIN_EVENTS) if kind == "dr" else ()
        self.detection = RegionalDetection(
            self,
            "Detection",
            settings=RegionalDetectionSettings(
                create_config_recorder=not audit.use_existing_config_recorder,
                create_guardduty_detector=not audit.use_existing_guardduty_detector,
                guardduty_features=features,
                guardduty_min_severity=audit.guardduty_min_severity,
                rules=dr_region_rules() if kind == "dr" else edge_region_rules(),
                primary_region=config.primary_region,
            ),
            config_bucket_name=config_bucket.bucket_name,
            config_key_arn=config_key.key_arn,
        )
