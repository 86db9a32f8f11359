"""Findings routing (R11, R14): GuardDuty, Macie and Config findings -> one short message on the
security topic, once.

- ``FindingsTable``: the finding ids seen in the last days (TTL), so a redelivered or repeated
  finding is not mailed twice. A ``dynamodb.Table`` subclass (its logical ID stays under the stack).
- ``FindingsNotifier``: the ``mv_findings_notifier`` function (a ``MediVaultFunction`` subclass, so its
  role, log group, dead-letter queue and function keep their ids) and one EventBridge rule per
  finding source, below it.

The retry path: each rule's target retries for ``max_event_age_hours`` up to ``retry_attempts``
times, then puts the event into the function's dead-letter queue (the same queue Lambda uses for a
failed asynchronous invocation), so an outage of the function, its VPC endpoints or SNS delays a
finding instead of dropping it. The queue is encrypted with ``FunctionSettings.queue_key``: its key
policy must let events.amazonaws.com call kms:GenerateDataKey and kms:Decrypt (the audit key does,
pinned by the queue-ARN encryption context), and CDK writes the queue policy that admits
events.amazonaws.com sqs:SendMessage for each rule's ARN (aws:SourceArn). Two alarms page the
*security* topic (a lost finding is the security officer's business; the observability stack's
per-function DLQ alarm pages ops as well): an event in the dead-letter queue, and any event
EventBridge could not even put into it (``InvocationsFailedToBeSentToDLQ``: the key or queue
policy is wrong, and the finding is gone).
EventBridge User Guide, "Event retry policy and using dead-letter queues":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.alert_topic import AlertTopic, notify
from constructs.compliance import acknowledge
from constructs.detection_baseline import finding_patterns
from constructs.medivault_function import FunctionSettings, MediVaultFunction
from constructs.traceability import trace

FIVE_MINUTES = cdk.Duration.minutes(5)


class FindingsTable(dynamodb.Table):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(
            scope,
            construct_id,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute="expires_at",
            removal_policy=removal_policy,
        )
        acknowledge(
            self,
            "HIPAA.Security-DynamoDBInBackupPlan",
            "Holds only finding ids seen in the last days (TTL) to suppress repeats; point-in-time recovery is on, "
            "and losing it only repeats a message.",
        )


@dataclass(frozen=True, kw_only=True)
class FindingsNotifierSettings:
    guardduty_min_severity: float
    remember_days: int  # how long a delivered finding is remembered (DynamoDB TTL)
    retry_attempts: int = 8  # EventBridge target retries (0-185)
    max_event_age_hours: int = 24  # and for how long (1 minute to 24 hours)

    def __post_init__(self) -> None:
        if not 0 <= self.retry_attempts <= 185:
            raise ValueError("FindingsNotifierSettings.retry_attempts: EventBridge allows 0 to 185")
        if not 1 <= self.max_event_age_hours <= 24:
            raise ValueError("FindingsNotifierSettings.max_event_age_hours: EventBridge allows up to 24 hours")


def retrying_target(fn: MediVaultFunction, *, retry_attempts: int, max_event_age_hours: int) -> targets.LambdaFunction:
    """``fn`` as a rule target that retries, then keeps what it could not deliver in ``fn``'s dead-letter queue."""
    return targets.LambdaFunction(
        fn.function, dead_letter_queue=fn.dead_letter_queue, retry_attempts=retry_attempts, max_event_age=cdk.Duration.hours(max_event_age_hours)
    )


def alarm_on_undelivered(scope: Construct, *, queue: sqs.IQueue, rules: Sequence[events.Rule], topic: AlertTopic, what: str) -> list[cw.Alarm]:
    """Page ``topic`` when an event lands in ``queue`` or could not be put into it (per rule)."""
    alarms = [
        cw.Alarm(
            scope,
            "DeadLettersAlarm",
            alarm_description=f"{what}: an event could not be delivered after all retries and waits in the dead-letter queue",
            metric=queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
    ]
    for rule in rules:
        alarms.append(
            cw.Alarm(
                scope,
                f"{rule.node.id}LostAlarm",
                alarm_description=f"{what}: EventBridge could not put an undeliverable event into the dead-letter queue (key or queue policy); "
                "the event is lost",
                metric=cw.Metric(
                    namespace="AWS/Events",
                    metric_name="InvocationsFailedToBeSentToDLQ",
                    dimensions_map={"RuleName": rule.rule_name},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )
    for alarm in alarms:
        notify(alarm, topic)
    return alarms


class FindingsNotifier(MediVaultFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: FindingsNotifierSettings,
        function: FunctionSettings,
        table: dynamodb.Table,
        topic: AlertTopic,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            source="mv_findings_notifier",
            description="Security findings -> one short message on the security topic",
            environment={"TOPIC_ARN": topic.topic_arn, "TABLE_NAME": table.table_name, "REMEMBER_DAYS": str(settings.remember_days)},
            settings=function,
        )
        table.grant(self.role, "dynamodb:PutItem", "dynamodb:DeleteItem")
        topic.allow_publish(self.role)
        target = retrying_target(self, retry_attempts=settings.retry_attempts, max_event_age_hours=settings.max_event_age_hours)
        self.rules = {
            name: events.Rule(self, name, event_pattern=pattern, targets=[target])
            for name, pattern in finding_patterns(settings.guardduty_min_severity).items()
        }
        self.undelivered_alarms = alarm_on_undelivered(
            self, queue=self.dead_letter_queue, rules=list(self.rules.values()), topic=topic, what="Findings"
        )
        trace(self, ["R11", "R14"], ["security", "operational-excellence"], "Findings from GuardDuty, Macie and Config reach the security team once.")
