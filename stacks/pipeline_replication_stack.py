"""Artifact replication bucket of the delivery pipeline in one other region (R16).

CodePipeline copies artifacts into a bucket in each region where it deploys (eu-west-1 for the DR
stacks, us-east-1 for the CloudFront WAF/certificate stack). Left alone, CDK generates these
"support stacks" without access logs or versioning; this stack supplies them hardened instead
(``cross_region_replication_buckets``). Bucket and key alias have physical names because the
pipeline in eu-central-1 refers to them across regions.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.artifact_bucket import ArtifactBucket
from constructs.traceability import trace

from stacks.config.pipeline import PipelineConfig


def replication_stack_name(region: str) -> str:
    return f"MediVault-Pipeline-Replication-{region}"


def replication_key_alias(region: str) -> str:
    """The alias of the replication key in ``region``, by which the pipeline (another region) names it."""
    return f"alias/medivault/delivery/artifacts-{region}"


class PipelineReplicationStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, region: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=region),
            stack_name=replication_stack_name(region),
            description=f"MediVault EU (delivery): pipeline artifact replication bucket in {region}",
        )
        cdk.Tags.of(self).add("project", "medivault-eu")
        cdk.Tags.of(self).add("environment", "delivery")
        key = kms.Key(
            self,
            "ReplicationKey",
            description=f"MediVault pipeline artifacts replicated to {region} (target accounts' CDK deploy roles decrypt)",
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(365),
            removal_policy=cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(30),
        )
        # The pipeline (another region) names the key by this alias ARN.
        self.alias = kms.Alias(self, "ReplicationKeyAlias", alias_name=replication_key_alias(region), target_key=key)
        artifacts = ArtifactBucket(
            self,
            "Replication",
            encryption_key=self.alias,
            access_log_days=config.log_retention_days,
            bucket_name=cdk.PhysicalName.GENERATE_IF_NEEDED,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.bucket: s3.IBucket = artifacts.bucket
        trace(artifacts, ["R16"], ["security"], f"Pipeline artifacts copied to {region} stay KMS-encrypted, TLS-only and access-logged.")
