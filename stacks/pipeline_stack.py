"""The delivery pipeline (R16): every change is tested and security-scanned before it reaches production.

CDK Pipelines on CodePipeline/CodeBuild in the delivery/tooling account (eu-central-1):

    Source (CodeConnections, branch from config)
      -> Build: ``make test`` (ruff, mypy, pytest: synth behind the cdk-nag gates, cfn-lint, handler
         tests) and ``make synth`` (cdk.out, gates again); any finding fails the build
      -> UpdatePipeline (self-mutation) -> Assets
      -> Sandbox stage (every stack of ``MediVaultStage`` in its three regions)
      -> Production: a manual approval, then every stack of ``MediVaultStage``

The stages are ``MediVaultStage`` instances, so stacks added to the stage are deployed by the
pipeline without any change here. They are the review synth's only copies of the environment stages
(``stacks.composition.compose``); a direct ``Sandbox`` stage is built only with ``-c pipeline=false``
(``make deploy-sandbox``). Artifacts are KMS-encrypted with rotated keys (cross-account
keys); CodeBuild logs go to a KMS-encrypted log group; failures are published to an encrypted
SNS topic through a CodeStar notification rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct, IConstruct
from constructs.alert_topic import AlertTopic
from constructs.artifact_bucket import ArtifactBucket
from constructs.compliance import acknowledge, ignore_cfn_lint
from constructs.deploy_guard import refuse_deploy
from constructs.log_retention import retention
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.purpose_key import PurposeKey, ServicePrincipalUse
from constructs.scoped_policy import Statement, actions_of, resources_of, scope_statements
from constructs.traceability import trace

from stacks.config import EnvironmentConfig
from stacks.config.pipeline import DELIVERY_ROLE_PATH, PipelineConfig
from stacks.pipeline_replication_stack import replication_key_alias
from stacks.stage import MediVaultStage

# The README's two commands: the test command first (lint, types, unit tests, synth behind the
# gates, cfn-lint), then the synth whose cdk.out the pipeline deploys. Both exit non-zero on any finding.
TEST_COMMAND = "make test"
SYNTH_COMMAND = "make synth"
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# Asset publishing builds the service image, which is linux/arm64 with RUN steps: on an x86 build
# image those steps fail with "exec format error" (aws-cdk #28863), so assets publish on ARM
# (CodeBuild's Amazon Linux 2023 aarch64 standard image; ARM containers offer SMALL and LARGE).
ASSET_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
ASSET_COMPUTE_TYPE = codebuild.ComputeType.LARGE
# The asset buildspec runs `npm install -g cdk-assets@<version>`; CDK Pipelines defaults to "latest",
# which would let an unreviewed publisher release decide how our assets are published.
CDK_ASSETS_VERSION = "4.7.3"
# CodePipeline events that page the ops address (CodeStar Notifications event type ids).
NOTIFY_ON = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-action-execution-failed",
    "codepipeline-pipeline-stage-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)
APPROVAL_STEP = "PromoteToProduction"
# Self-mutation and asset publishing install the same CDK CLI that package.json pins for make synth.
CDK_CLI_VERSION: str = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())["devDependencies"]["aws-cdk"]


class PipelineStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        sandbox: EnvironmentConfig,
        production: EnvironmentConfig,
        replication_buckets: Mapping[str, s3.IBucket],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=config.region),
            stack_name="MediVault-Pipeline",
            description="MediVault EU (delivery): CDK pipeline testing, scanning and deploying sandbox then production",
            termination_protection=True,
        )
        for env in (sandbox, production):
            if env.account is None:
                raise ValueError(f"PipelineStack: the {env.name} stage needs a concrete account (cdk bootstrap --trust {config.account})")
        if sandbox.is_production or not production.is_production:
            raise ValueError("PipelineStack: sandbox= must be the sandbox config and production= the production config")
        self.config = config
        self._replication_buckets = dict(replication_buckets)
        cdk.Tags.of(self).add("project", "medivault-eu")
        cdk.Tags.of(self).add("environment", "delivery")

        if config.is_placeholder:
            refuse_deploy(
                self,
                "RequireRepositoryConnection",
                message="The pipeline uses the review placeholder account or CodeConnections ARN. Create and authorise a connection "
                "in the tooling account, then synthesize with MEDIVAULT_TOOLING_ACCOUNT and MEDIVAULT_PIPELINE_CONNECTION_ARN "
                "(docs/pipeline.md) before deploying.",
            )

        # --- keys: artifacts (shared with the target accounts' deploy roles), logs, notifications
        self.artifact_key = kms.Key(
            self,
            "ArtifactKey",
            description="MediVault pipeline artifacts (cross-account: the target accounts' CDK deploy roles decrypt)",
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(365),
            removal_policy=cdk.RemovalPolicy.RETAIN,
            pending_window=cdk.Duration.days(30),
        )
        self.artifact_key.add_alias("alias/medivault/delivery/artifacts")
        self.logs_key = PurposeKey(
            self,
            "LogsKey",
            purpose="pipeline logs",
            alias="alias/medivault/delivery/logs",
            via_services=["logs"],
            service_principals=[ServicePrincipalUse.cloudwatch_logs(self)],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        ).key
        self.notifications_key = PurposeKey(
            self,
            "NotificationsKey",
            purpose="pipeline notifications",
            alias="alias/medivault/delivery/notifications",
            via_services=["sns"],
            service_principals=[
                # CodeStar Notifications publishes to the encrypted topic: it needs the data key, only through SNS.
                ServicePrincipalUse(
                    service="codestar-notifications.amazonaws.com",
                    actions=("kms:GenerateDataKey*", "kms:Decrypt"),
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{self.region}.amazonaws.com"}},
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        ).key

        # --- artifact bucket (and its server-access-log bucket)
        artifacts = ArtifactBucket(self, "Artifacts", encryption_key=self.artifact_key, access_log_days=config.log_retention_days)
        self.artifact_bucket = artifacts.bucket

        # --- CodeBuild: encrypted logs, unprivileged, its own least-privilege roles
        self.build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            encryption_key=self.logs_key,
            retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        build_environment = codebuild.BuildEnvironment(
            build_image=BUILD_IMAGE,
            compute_type=codebuild.ComputeType.MEDIUM,
            privileged=False,
        )
        code_build_defaults = pipelines.CodeBuildOptions(
            build_environment=build_environment,
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_logs)),
            timeout=cdk.Duration.minutes(60),
        )

        source = pipelines.CodePipelineSource.connection(config.repository, config.branch, connection_arn=config.connection_arn, trigger_on_push=True)
        self.synth_role = ManagedPolicyRole(
            self,
            "SynthRole",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="CodeBuild: runs make test and make synth (no AWS access beyond its own logs and artifacts)",
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            role=self.synth_role,
            # The synth in CodeBuild reproduces this pipeline exactly: same accounts, same connection.
            env={
                "MEDIVAULT_SANDBOX_ACCOUNT": str(sandbox.account),
                "MEDIVAULT_PRODUCTION_ACCOUNT": str(production.account),
                "MEDIVAULT_TOOLING_ACCOUNT": config.account,
                "MEDIVAULT_PIPELINE_CONNECTION_ARN": config.connection_arn,
                "CDK_DISABLE_CLI_TELEMETRY": "true",
            },
            install_commands=["python3 --version", "make deps"],
            commands=[TEST_COMMAND, SYNTH_COMMAND],
            primary_output_directory="cdk.out",
            partial_build_spec=codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": {"python": "3.12"}}}}),
        )
        self.pipeline_role = ManagedPolicyRole(
            self,
            "PipelineRole",
            # Under the delivery path: the organisation's region SCP lets only these roles (and the CDK
            # bootstrap roles) write the us-east-1 artifact replication bucket (docs/identity.md).
            path=DELIVERY_ROLE_PATH,
            assumed_by=iam.ServicePrincipal("codepipeline.amazonaws.com"),
            description="CodePipeline: MediVault delivery pipeline (assumes only the target accounts' CDK deploy roles)",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.pipeline_name,
            synth=self.synth_step,
            role=self.pipeline_role,
            # The artifact bucket of the pipeline's own region, and one hardened bucket per other region
            # (CDK's generated support stacks would have neither access logs nor versioning).
            cross_region_replication_buckets={**replication_buckets, self.region: self.artifact_bucket},
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            cli_version=CDK_CLI_VERSION,
            cdk_assets_cli_version=CDK_ASSETS_VERSION,
            asset_publishing_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=ASSET_BUILD_IMAGE, compute_type=ASSET_COMPUTE_TYPE)
            ),
            use_change_sets=True,
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
            code_build_defaults=code_build_defaults,
            # Source and CodeBuild actions run as the pipeline role (a reviewed managed policy), not as
            # one generated role with an inline policy per action.
            use_pipeline_role_for_actions=True,
        )

        # --- stages: sandbox, then a human approves, then production (every stack of MediVaultStage).
        # The pipeline holds the app's only copy of each environment stage (Pipeline/Sandbox/*,
        # Pipeline/Production/*). They are added to the pipeline by build_pipeline(): add_stage
        # synthesizes a stage at once, so whatever finishes the stages (stacks.composition.compose:
        # placeholder guards, outputs, the acknowledgment aspect) comes between the two.
        self.sandbox_stage = MediVaultStage(self, config=sandbox)
        self.production_stage = MediVaultStage(self, config=production)

    def build_pipeline(self) -> None:
        """Add both stages to the pipeline, build it, then scope, notify and acknowledge what CDK
        Pipelines generated. Call once, after the stages are finished (``compose`` does)."""
        config = self.config
        self.pipeline.add_stage(self.sandbox_stage)
        self.approval = pipelines.ManualApprovalStep(
            APPROVAL_STEP,
            comment="Sandbox deployed from this commit. Approve to deploy the same cloud assembly to production.",
        )
        self.pipeline.add_stage(self.production_stage, pre=[self.approval])
        self.pipeline.build_pipeline()
        self._scope_generated_policies()

        # --- notifications on failure (and approvals waiting) to an encrypted topic. The L1 rule, so
        # that the topic and key policies are exactly the two below (the L2 target binding would add an
        # unconditioned key grant).
        # The project's one alert topic (KMS key, TLS-only policy, e-mail): same logical IDs as the plain Topic it replaced.
        self.topic = AlertTopic(
            self, "Notifications", display_name="MediVault delivery pipeline", key=self.notifications_key, emails=[config.notification_email]
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsOfThisAccount",
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.notification_rule = notifications.CfnNotificationRule(
            self,
            "FailureNotifications",
            name=f"{config.pipeline_name}-failures",
            detail_type="FULL",
            event_type_ids=list(NOTIFY_ON),
            resource=self.pipeline.pipeline.pipeline_arn,
            targets=[notifications.CfnNotificationRule.TargetProperty(target_type="SNS", target_address=self.topic.topic_arn)],
            status="ENABLED",
        )

        # cfn-lint on what CDK Pipelines generates, and on the deploy guard's deliberate always-false rule.
        cfn_pipeline = self.pipeline.pipeline
        ignore_cfn_lint(
            cfn_pipeline,
            "E3703",
            "CDK Pipelines writes the target accounts' bootstrap role ARNs as Fn::Join with an empty delimiter; Fn::Sub would be "
            "the same string. Generated code we cannot change.",
        )
        ignore_cfn_lint(
            cfn_pipeline,
            "W3005",
            "CDK adds DependsOn on the pipeline role and its policy so the policy exists before the first execution; the role "
            "entry is redundant with the GetAtt but harmless, and it is generated code.",
        )

        trace(
            self.synth_step_project,
            ["R16"],
            ["security", "operational-excellence"],
            "Every change runs make test and make synth (gates, cfn-lint) before any deploy.",
        )
        trace(self.artifact_bucket, ["R16"], ["security"], "Pipeline artifacts are KMS-encrypted with a rotated key, TLS-only, access-logged.")
        trace(self.topic, ["R13", "R16"], ["operational-excellence"], "Pipeline failures and waiting approvals are sent to the ops address.")
        self._acknowledge_generated()

    def _scope_generated_policies(self) -> None:
        """Narrow what CDK Pipelines grants on Resource '*' to the resources it is for (issue 15, item 9)."""
        replication_regions = sorted(self._replication_buckets)

        # Pipeline role: CodePipeline names each other-region replication key by its alias, so its grant
        # reads Resource '*'. Keys of this account in those regions, only if they carry that alias.
        def pipeline_rewrite(statement: Statement) -> list[Statement]:
            resources = resources_of(statement)
            if "*" not in resources or not all(a.startswith("kms:") for a in actions_of(statement)):
                return [statement]
            kept = [r for r in resources if r != "*"]
            narrowed = {
                **statement,
                "Resource": f"arn:aws:kms:*:{self.account}:key/*",
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [replication_key_alias(r) for r in replication_regions]}},
            }
            return ([{**statement, "Resource": kept}] if kept else []) + ([narrowed] if replication_regions else [])

        grants = self.pipeline_role.grants_policy
        assert grants is not None
        scope_statements(grants, pipeline_rewrite)

        # Self-mutation: CDK Pipelines adds cloudformation:DescribeStacks and s3:ListBucket on '*' for the
        # CDK CLI's look-ups: the bootstrap stack and its assets bucket, and this pipeline's own stacks.
        regions = [self.region, *replication_regions]
        buckets = [self.artifact_bucket, *[self._replication_buckets[r] for r in replication_regions]]

        def mutation_rewrite(statement: Statement) -> list[Statement]:
            actions = actions_of(statement)
            if resources_of(statement) != ["*"] or not set(actions) <= {"cloudformation:DescribeStacks", "s3:ListBucket"}:
                return [statement]
            narrowed: list[Statement] = []
            if "cloudformation:DescribeStacks" in actions:
                narrowed.append(
                    {
                        **statement,
                        "Action": "cloudformation:DescribeStacks",
                        "Resource": self._mutation_lookup_stacks(),
                    }
                )
            if "s3:ListBucket" in actions:
                narrowed.append(
                    {
                        **statement,
                        "Action": "s3:ListBucket",
                        "Resource": [
                            *[self.resolve(bucket.bucket_arn) for bucket in buckets],
                            *[f"arn:aws:s3:::cdk-hnb659fds-assets-{self.account}-{region}" for region in regions],
                        ],
                    }
                )
            return narrowed

        mutation_role = self.pipeline.self_mutation_project.role
        assert isinstance(mutation_role, iam.Role)
        scope_statements(mutation_role.node.find_child("DefaultPolicy"), mutation_rewrite)  # type: ignore[arg-type]
        # Its role is generated too: give it the delivery path, like the pipeline role.
        cfn_role = mutation_role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        cfn_role.path = DELIVERY_ROLE_PATH
        # CodeBuild resolves a role *name* (CDK's Ref) without its path: name the role by ARN (cfn-lint E3050).
        cfn_project = self.pipeline.self_mutation_project.node.default_child
        assert isinstance(cfn_project, codebuild.CfnProject)
        cfn_project.add_property_override("ServiceRole", mutation_role.role_arn)
        acknowledge(
            cfn_project,
            "CloudFormation-Validate::E3050",
            "False positive: the synthesized template names the role by Fn::GetAtt <role>.Arn (the override above, asserted by "
            "tests/stacks/test_pipeline.py); cfn-lint itself, run over cdk.out by make test, passes it, but aws-cdk-lib 2.275's "
            "built-in validator still reports the Ref that CDK Pipelines first wrote.",
        )

    def _mutation_lookup_stacks(self) -> list[str]:
        """The stacks the self-mutation's CDK CLI describes: the CDK bootstrap stack and this pipeline's
        stacks (MediVault-Pipeline and its MediVault-Pipeline-Replication-<region> stacks), in any region."""
        # Literal partition: MediVault deploys to the aws partition only (its SCPs name arn:aws too).
        return [f"arn:aws:cloudformation:*:{self.account}:stack/{name}/*" for name in ("CDKToolkit", f"{self.stack_name}*")]

    @property
    def synth_step_project(self) -> IConstruct:
        return self.pipeline.synth_project

    def _logical(self, construct: IConstruct) -> str:
        child = construct.node.default_child
        assert isinstance(child, cdk.CfnElement)
        return self.get_logical_id(child)

    def _acknowledge_generated(self) -> None:
        """Findings on the pipeline's roles and on constructs CDK Pipelines generates (after
        ``build_pipeline``), each acknowledged on its own construct path with its exact finding id."""
        bucket = f"<{self._logical(self.artifact_bucket)}.Arn>/*"
        artifact_actions = ["s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"]
        key_actions = ["kms:GenerateDataKey*", "kms:ReEncrypt*"]
        artifact_reason = (
            "CDK's grant on the pipeline artifact store: object wildcards only on the one artifact bucket (objects are named per "
            "execution) and key-usage wildcards (GenerateDataKey*, ReEncrypt*) only on the one artifact key; nothing else."
        )
        synth = self._logical(self.pipeline.synth_project)
        mutation_project = self.pipeline.self_mutation_project
        mutation = self._logical(mutation_project)
        arn_base = f"arn:{self.partition}:%s:{self.region}:{self.account}:%s"
        project_reason = (
            "CodeBuild's default log group and report groups are named after the project; the wildcard is scoped to this one "
            "project's name (its build output goes to the encrypted BuildLogs group)."
        )

        def ack(construct: IConstruct, findings: list[str], reason: str) -> None:
            for finding in findings:
                acknowledge(construct, finding, reason)

        pipeline_reason = (
            "CDK's grants on the pipeline artifact stores: object wildcards only on the artifact bucket and the replication "
            "buckets (objects are named per execution) and key-usage wildcards (GenerateDataKey*, ReEncrypt*) only on the "
            "artifact key and the alias-conditioned replication keys; nothing else."
        )
        for role, reason in ((self.synth_role, artifact_reason), (self.pipeline_role, pipeline_reason)):
            policy = role.node.find_child("GrantsPolicy")
            ack(policy, [f"AwsSolutions-IAM5[Action::{a}]" for a in artifact_actions + key_actions], reason)
            ack(policy, [f"AwsSolutions-IAM5[Resource::{bucket}]"], reason)
        # Stages with a stack in another region (the eu-west-1 DR vault): CodePipeline grants its role the
        # replication bucket of that region and its key, which it names by alias (the key is in that region's stack).
        pipeline_policy = self.pipeline_role.node.find_child("GrantsPolicy")
        for region, replication_bucket in sorted(self._replication_buckets.items()):
            ack(
                pipeline_policy,
                [f"AwsSolutions-IAM5[Resource::{self.resolve(replication_bucket.bucket_arn)}/*]"],
                f"CodePipeline's grant on the {region} artifact replication bucket: object wildcards only inside that one bucket, "
                "whose objects are named per execution.",
            )
        if self._replication_buckets:
            ack(
                pipeline_policy,
                [f"AwsSolutions-IAM5[Resource::arn:aws:kms:*:{self.account}:key/*]"],
                "CodePipeline names each other-region replication key by its alias (the key lives in that region's stack), so the "
                "grant is on this account's keys only if they carry one of the replication aliases (kms:ResourceAliases).",
            )
        ack(
            self.synth_role.node.find_child("GrantsPolicy"),
            [
                f"AwsSolutions-IAM5[Resource::{arn_base % ('logs', 'log-group')}:/aws/codebuild/<{synth}>:*]",
                f"AwsSolutions-IAM5[Resource::{arn_base % ('codebuild', 'report-group')}/<{synth}>-*]",
            ],
            project_reason,
        )

        # Self-mutation: CDK Pipelines creates this project and its role; no prop lets us supply the role.
        mutation_policy = mutation_project.node.find_child("Role").node.find_child("DefaultPolicy")
        ack(
            mutation_policy,
            [f"AwsSolutions-IAM5[Action::{a}]" for a in ["s3:GetBucket*", "s3:GetObject*", "s3:List*", *key_actions]]
            + [f"AwsSolutions-IAM5[Resource::{bucket}]"],
            artifact_reason,
        )
        ack(
            mutation_policy,
            [
                f"AwsSolutions-IAM5[Resource::{arn_base % ('logs', 'log-group')}:/aws/codebuild/<{mutation}>:*]",
                f"AwsSolutions-IAM5[Resource::{arn_base % ('codebuild', 'report-group')}/<{mutation}>-*]",
            ],
            project_reason,
        )
        ack(
            mutation_policy,
            [f"AwsSolutions-IAM5[Resource::arn:*:iam::{self.account}:role/*]"],
            "Self-mutation may assume only the tooling account's CDK bootstrap roles: the statement is conditioned on "
            "iam:ResourceTag/aws-cdk:bootstrap-role in (deploy, file-publishing, image-publishing), whose names embed the region.",
        )
        for stack_arn in self._mutation_lookup_stacks():
            ack(
                mutation_policy,
                [f"AwsSolutions-IAM5[Resource::{stack_arn}]"],
                "cloudformation:DescribeStacks, read-only, on the CDK bootstrap stack or this pipeline's own stacks (name prefix "
                "MediVault-Pipeline) of this account; the wildcards are the region and the stack ID CloudFormation assigns.",
            )
        generated_role_reason = (
            "Role generated by CDK Pipelines, which offers no prop to supply it; its inline policy is computed from the pipeline "
            "(the artifact store, its own logs and the CDK bootstrap roles; for self-mutation also read-only look-ups of the "
            "bootstrap and pipeline stacks and buckets, by name) and is reviewed in this template."
        )
        ack(mutation_policy, ["HIPAA.Security-IAMNoInlinePolicy"], generated_role_reason)

        # Source type CODEPIPELINE: no CodeBuild project ever clones a repository itself.
        no_repo_reason = (
            "Source type CODEPIPELINE: the project never clones a repository; its input is the KMS-encrypted pipeline artifact "
            "fetched through the CodeConnections connection, so there is no repository URL or credential to protect with OAuth."
        )
        projects: list[IConstruct] = [self.pipeline.synth_project, mutation_project]

        # Asset publishing: one generated role per asset type (FileRole, DockerRole) and one project per asset.
        assets = self.pipeline.node.try_find_child("Assets")
        for child in assets.node.children if assets is not None else []:
            if isinstance(child, iam.Role):
                policy = child.node.find_child("DefaultPolicy")
                ack(policy, ["HIPAA.Security-IAMNoInlinePolicy"], generated_role_reason)
                ack(
                    policy,
                    [f"AwsSolutions-IAM5[Action::{a}]" for a in ["s3:GetBucket*", "s3:GetObject*", "s3:List*"]]
                    + [f"AwsSolutions-IAM5[Resource::{bucket}]"],
                    artifact_reason,
                )
                ack(
                    policy,
                    [
                        f"AwsSolutions-IAM5[Resource::{arn_base % ('logs', 'log-group')}:/aws/codebuild/*]",
                        f"AwsSolutions-IAM5[Resource::{arn_base % ('codebuild', 'report-group')}/*]",
                    ],
                    "One publishing role serves every asset project, which CDK Pipelines creates after the role: it is scoped to "
                    "CodeBuild's log-group and report-group prefixes of this account and region.",
                )
                ack(
                    policy,
                    ["AwsSolutions-IAM5[Resource::*]"],
                    "Only codebuild:BatchGetBuilds/StartBuild/StopBuild, which CDK Pipelines grants the publishing role for its own "
                    "asset builds; it can assume no role except the target accounts' CDK publishing roles (listed by ARN).",
                )
            elif isinstance(child, codebuild.PipelineProject):
                projects.append(child)
        for project in projects:
            ack(project, ["HIPAA.Security-CodeBuildProjectSourceRepoUrl"], no_repo_reason)
