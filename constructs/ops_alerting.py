"""The ops pager: a KMS-encrypted SNS topic with the on-call e-mail, and one way to build alarms.

Every alarm built here notifies on ALARM, on OK (so the on-call sees recovery) and on
INSUFFICIENT_DATA (a metric that stops reporting is itself a problem): the one alarm-action
convention, ``constructs/alert_topic.notify``. The topic is an ``AlertTopic`` (id ``Topic``).
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.alert_topic import AlertTopic, notify
from constructs.traceability import trace


class OpsAlerting(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, email: str, key: kms.IKey, environment: str) -> None:
        super().__init__(scope, construct_id)
        self.topic = AlertTopic(self, "Topic", display_name=f"MediVault {environment} ops alarms", key=key, emails=[email])
        self.alarms: list[cw.Alarm] = []
        trace(self.topic, ["R13"], ["operational-excellence", "reliability"], "Every alarm pages the on-call e-mail through one encrypted topic.")

    def alarm(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 5,
        datapoints_to_alarm: int = 3,
        treat_missing_data: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
    ) -> cw.Alarm:
        """An alarm on ``metric`` that notifies the ops topic on ALARM, OK and INSUFFICIENT_DATA."""
        alarm = cw.Alarm(
            scope,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=treat_missing_data,
            alarm_description=description,
        )
        notify(alarm, self.topic)
        self.alarms.append(alarm)
        return alarm

    def composite(self, scope: Construct, construct_id: str, *, alarms: list[cw.IAlarm], description: str) -> cw.CompositeAlarm:
        composite = cw.CompositeAlarm(
            scope, construct_id, alarm_rule=cw.AlarmRule.any_of(*alarms), alarm_description=description, actions_enabled=True
        )
        notify(composite, self.topic)
        return composite
