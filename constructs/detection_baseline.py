"""The per-region detection baseline: AWS Config recording, a GuardDuty detector, and forwarding of
their findings to the primary region's event bus.

Each of these is a singleton per account and region, so each is optional (an organisation's
Control Tower or delegated administrator may already run one): ``record_configuration`` and
``guardduty_detector`` create the resource directly in the given scope (the Audit stack keeps the
logical IDs ``Recorder``, ``DeliveryChannel`` and ``Detector`` it has always had), and
``RegionalDetection`` composes them with a few managed Config rules and the forwarding rule for the
DR and edge regions.

Deploy-time order. The Config API needs the recorder before the channel (PutDeliveryChannel: "Before
you can create a delivery channel, you must create a configuration recorder") and the channel before
recording starts (StartConfigurationRecorder: NoAvailableDeliveryChannelException). CloudFormation's
recorder handler puts the recorder at once and then waits for a delivery channel before it reports
CREATE_COMPLETE, so a DependsOn in *either* direction fails: recorder-after-channel cannot create the
channel (issue 14, defect 1), channel-after-recorder deadlocks the recorder (aws-cdk #9001; the
AWS::Config::DeliveryChannel user-guide fix, awsdocs/aws-cloudformation-user-guide PR #1282; a live
deployment, go-to-k/cdk-real-drift PR #1554). So the two are created together, neither depending on
the other, both after the bucket policy Config checks; every Config rule depends on both, so no rule
is created before recording has started.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_config as awsconfig
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from constructs import Construct
from constructs.hipaa_config_rules import HipaaRule, managed_rule
from constructs.managed_policy_role import ManagedPolicyRole
from constructs.traceability import trace

# GuardDuty protection plans by name (CFNFeatureConfiguration.Name).
S3_DATA_EVENTS = "S3_DATA_EVENTS"
RDS_LOGIN_EVENTS = "RDS_LOGIN_EVENTS"
RUNTIME_MONITORING = "RUNTIME_MONITORING"


@dataclass(frozen=True)
class ConfigRecording:
    recorder: awsconfig.CfnConfigurationRecorder
    delivery_channel: awsconfig.CfnDeliveryChannel

    @property
    def resources(self) -> tuple[cdk.CfnResource, cdk.CfnResource]:
        """What a Config rule must wait for: recording exists and has somewhere to deliver."""
        return (self.recorder, self.delivery_channel)


def record_configuration(
    scope: Construct, *, bucket_name: str, key_arn: str, include_global_resource_types: bool, after: list[Construct] | None = None
) -> ConfigRecording:
    """The recorder ``default`` (every supported resource type) and its delivery channel, created
    together (see the module docstring for why neither may depend on the other).

    Global resource types (IAM) are recorded in one region only (the primary), or every region
    records each IAM change again. The recorder uses the AWS Config service-linked role, which
    must exist in the account (docs/audit.md, prerequisites). ``after``: what both must wait for
    (the bucket policy Config checks when the channel is created and the recorder starts).
    """
    stack = cdk.Stack.of(scope)
    recorder = awsconfig.CfnConfigurationRecorder(
        scope,
        "Recorder",
        name="default",
        role_arn=f"arn:{stack.partition}:iam::{stack.account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        recording_group=awsconfig.CfnConfigurationRecorder.RecordingGroupProperty(
            all_supported=True, include_global_resource_types=include_global_resource_types
        ),
    )
    channel = awsconfig.CfnDeliveryChannel(
        scope,
        "DeliveryChannel",
        name="default",
        s3_bucket_name=bucket_name,
        s3_kms_key_arn=key_arn,
        config_snapshot_delivery_properties=awsconfig.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
            delivery_frequency="TwentyFour_Hours"
        ),
    )
    for construct in after or []:
        recorder.node.add_dependency(construct)
        channel.node.add_dependency(construct)
    return ConfigRecording(recorder=recorder, delivery_channel=channel)


def guardduty_detector(scope: Construct, *, features: tuple[str, ...]) -> guardduty.CfnDetector:
    """The region's GuardDuty detector with the protection plans named (Fargate runtime monitoring
    comes with GuardDuty-managed agent deployment)."""
    configured = []
    for name in features:
        additional = None
        if name == RUNTIME_MONITORING:
            additional = [guardduty.CfnDetector.CFNFeatureAdditionalConfigurationProperty(name="ECS_FARGATE_AGENT_MANAGEMENT", status="ENABLED")]
        configured.append(guardduty.CfnDetector.CFNFeatureConfigurationProperty(name=name, status="ENABLED", additional_configuration=additional))
    # No protection plan named: leave Features out (the foundational detector), not an empty list.
    return guardduty.CfnDetector(scope, "Detector", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES", features=configured or None)


def finding_patterns(guardduty_min_severity: float) -> dict[str, events.EventPattern]:
    """The events a person must see: one owner for the patterns of the primary region's notifier
    rules and of the forwarding rules in the other regions."""
    return {
        "GuardDutyFindings": events.EventPattern(
            source=["aws.guardduty"],
            detail_type=["GuardDuty Finding"],
            detail={"severity": [{"numeric": [">=", guardduty_min_severity]}]},
        ),
        "MacieFindings": events.EventPattern(source=["aws.macie"], detail_type=["Macie Finding"]),
        "ConfigNonCompliant": events.EventPattern(
            source=["aws.config"],
            detail_type=["Config Rules Compliance Change"],
            detail={"messageType": ["ComplianceChangeNotification"], "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}},
        ),
    }


@dataclass(frozen=True, kw_only=True)
class RegionalDetectionSettings:
    """What one non-primary region runs. The stack maps the environment's config onto this."""

    create_config_recorder: bool
    create_guardduty_detector: bool
    guardduty_features: tuple[str, ...]
    guardduty_min_severity: float
    rules: tuple[HipaaRule, ...]
    primary_region: str


class RegionalDetection(Construct):
    """Config recording (no global types), GuardDuty and a few managed rules in one region, with
    their findings forwarded to the primary region's default event bus, where the same rules that
    feed the findings notifier match them (the event keeps its source and its ``region``).

    Cross-region bus targets: EventBridge sends to an event bus in another Region with an IAM role
    allowed ``events:PutEvents`` on that bus; same-account delivery needs no bus policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionalDetectionSettings,
        config_bucket_name: str,
        config_key_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        if stack.region == settings.primary_region:
            raise ValueError("RegionalDetection is for the regions other than the primary one (the Audit stack covers the primary region)")
        self.recording: ConfigRecording | None = None
        if settings.create_config_recorder:
            self.recording = record_configuration(self, bucket_name=config_bucket_name, key_arn=config_key_arn, include_global_resource_types=False)
        self.detector = guardduty_detector(self, features=settings.guardduty_features) if settings.create_guardduty_detector else None

        self.rules: dict[str, awsconfig.ManagedRule] = {}
        for rule in settings.rules:
            managed = managed_rule(self, rule, description_prefix=f"MediVault HIPAA ({stack.region})")
            if self.recording is not None:
                managed.node.add_dependency(*self.recording.resources)
            self.rules[rule.name] = managed

        # Same-account, cross-region bus target: a role EventBridge assumes (for rules of this
        # account only), allowed events:PutEvents on the primary region's default bus alone.
        central_bus_arn = f"arn:{stack.partition}:events:{settings.primary_region}:{stack.account}:event-bus/default"
        self.forward_role = ManagedPolicyRole(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com").with_conditions({"StringEquals": {"aws:SourceAccount": stack.account}}),
            description=f"EventBridge: forward findings of {stack.region} to the {settings.primary_region} default event bus",
        )
        self.forward_role.add_to_principal_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[central_bus_arn]))
        central_bus = events.EventBus.from_event_bus_arn(self, "PrimaryBus", central_bus_arn)
        # Only what the notifier reports crosses the region, with the primary region's own patterns.
        self.forward_rules = {
            name: events.Rule(
                self,
                f"Forward{name}",
                description=f"{name} of {stack.region} -> the {settings.primary_region} default event bus (findings notifier)",
                event_pattern=pattern,
                targets=[targets.EventBus(central_bus, role=self.forward_role)],
            )
            for name, pattern in finding_patterns(settings.guardduty_min_severity).items()
        }
        trace(
            self,
            ["R14"],
            ["security"],
            f"{stack.region}: Config recording, GuardDuty and HIPAA rules; findings reach the same notifier in {settings.primary_region}.",
        )
