"""Amazon Macie for MediVault (R11): find PHI that landed in a bucket that is not meant for it.

- A Macie session (enabled, findings published every 15 minutes to EventBridge / Security Hub),
  unless ``create_session`` is False: the account's existing session is used (a delegated Macie
  administrator or an earlier enablement; Macie has one session per account and region), and
  nothing here depends on a session resource.
- A custom data identifier for MediVault patient IDs: ``MV-`` followed by exactly 10 digits
  (e.g. ``MV-0123456789``), the format the application issues; Macie's managed identifiers add
  names, dates of birth, health-insurance and other PHI/PII patterns.
- A recurring (weekly) classification job over the NON-PHI buckets given (access logs now, audit
  buckets later: pass more buckets). The PHI buckets are deliberately not scanned: PHI there is
  expected, and scanning 7 years of imaging weekly would cost much and find nothing new.
CloudFormation has no classification-job resource, so the job is a custom resource backed by the
``mv_macie_job`` function (immutable jobs: a changed definition creates a new job and cancels
the old one).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_macie as macie
from aws_cdk import aws_s3 as s3
from constructs import Construct
from constructs.compliance import acknowledge
from constructs.egress import AwsApiPaths, closed_security_group
from constructs.medivault_function import MediVaultFunction
from constructs.traceability import trace

# MediVault patient ID: "MV-" and exactly ten digits, not part of a longer token.
PATIENT_ID_REGEX = r"\bMV-[0-9]{10}\b"
JOB_RESOURCE_TYPE = "Custom::MacieClassificationJob"


class MacieDiscovery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        buckets: list[s3.IBucket],
        schedule_day: str,
        job_name_prefix: str,
        vpc: ec2.IVpc,
        function_subnets: ec2.SubnetSelection,
        aws_apis: AwsApiPaths,
        logs_key: kms.IKey,
        queue_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        powertools_layer_version: int,
        create_session: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not buckets:
            raise ValueError("MacieDiscovery: give at least one bucket to scan")
        stack = cdk.Stack.of(self)

        self.session: macie.CfnSession | None = None
        if create_session:
            self.session = macie.CfnSession(self, "Session", status="ENABLED", finding_publishing_frequency="FIFTEEN_MINUTES")
            # Deleting the session disables Macie and deletes its findings: kept in production.
            self.session.apply_removal_policy(removal_policy)
        self.patient_id = macie.CfnCustomDataIdentifier(
            self,
            "PatientIdIdentifier",
            name=f"{job_name_prefix}-patient-id",
            description="MediVault patient ID: 'MV-' followed by exactly 10 digits, e.g. MV-0123456789",
            regex=PATIENT_ID_REGEX,
        )
        if self.session is not None:
            self.patient_id.add_resource_dependency(self.session)

        # The function calls the Macie API (its VPC interface endpoint) and PUTs its answer to
        # CloudFormation's pre-signed S3 URL (the S3 gateway endpoint, whose policy admits that one
        # AWS-owned response bucket). No internet path.
        self.security_group = closed_security_group(
            self, "FunctionSecurityGroup", vpc=vpc, description="Macie job function: HTTPS to the Macie endpoint and S3 only"
        )
        aws_apis.allow(self.security_group, s3=True)
        self.function = MediVaultFunction(
            self,
            "JobFunction",
            source="mv_macie_job",
            description="CloudFormation custom resource: recurring Macie classification job over non-PHI buckets",
            vpc=vpc,
            vpc_subnets=function_subnets,
            security_group=self.security_group,
            logs_key=logs_key,
            queue_key=queue_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            powertools_layer_version=powertools_layer_version,
            timeout=cdk.Duration.seconds(120),
            reserved_concurrency=2,
        )
        job_arns = f"arn:{cdk.Aws.PARTITION}:macie2:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:classification-job/*"
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "macie2:CreateClassificationJob",
                    "macie2:DescribeClassificationJob",
                    "macie2:UpdateClassificationJob",
                    "macie2:TagResource",
                ],
                resources=[job_arns, self.patient_id.attr_arn],
            )
        )
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:macie2:<AWS::Region>:<AWS::AccountId>:classification-job/*]",
            "Macie assigns job IDs at creation, so the function can only be scoped to this account's classification jobs in this "
            "region; the actions are limited to creating, tagging, describing and cancelling (updating) jobs.",
        )

        self.job = cdk.CustomResource(
            self,
            "ClassificationJob",
            service_token=self.function.function.function_arn,
            resource_type=JOB_RESOURCE_TYPE,
            properties={
                "JobNamePrefix": job_name_prefix,
                "Description": "MediVault: PHI placed in a non-PHI bucket (weekly)",
                "AccountId": stack.account,
                "BucketNames": [b.bucket_name for b in buckets],
                "CustomDataIdentifierIds": [self.patient_id.attr_id],
                "ScheduleDayOfWeek": schedule_day,
            },
        )
        if self.session is not None:
            self.job.node.add_dependency(self.session)
        trace(
            self,
            ["R11"],
            ["security"],
            "Macie scans the non-PHI buckets weekly with managed identifiers and a MediVault patient-ID identifier.",
        )
