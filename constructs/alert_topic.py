"""The one owner of two rules: the KMS-encrypted alert topic with e-mail, and how an alarm notifies it.

``AlertTopic`` is an ``sns.Topic`` (a subclass, so the topic, its policy and its subscriptions keep
the logical IDs they had as a plain ``sns.Topic`` under the same scope and id):
- encrypted with the customer-managed key it is given (``KmsMasterKeyId``);
- a topic policy that denies every request without TLS (``enforce_ssl``);
- one e-mail subscription per address;
- ``allow_publish(role)``: sns:Publish on this topic plus the two KMS calls SNS makes on the
  publisher's behalf for an encrypted topic (kms:Decrypt, kms:GenerateDataKey) on its key;
- ``rule_target()``: an EventBridge target whose topic-policy statement admits EventBridge for that
  one rule (aws:SourceArn) from this account (aws:SourceAccount). ``targets.SnsTopic`` grants
  events.amazonaws.com sns:Publish with no condition.

The alarm-action convention (``notify``): every alarm notifies its topic on ALARM, on OK and on
INSUFFICIENT_DATA, security alarms and ops alarms alike.
- ALARM is the page.
- OK closes it: the on-call (or the security officer) sees the readiness check pass again, the 5xx
  rate fall, the burst of unauthorised calls end, without opening the console. For the one-event
  security alarms (a root sign-in) the OK mail five minutes later is one extra message per
  incident, which is cheap next to an incident nobody knows has ended.
- INSUFFICIENT_DATA: every new alarm starts there, and an alarm whose metric stops arriving goes
  there unless it treats missing data otherwise (the security alarms treat it as not breaching,
  the DR-readiness alarms as breaching, so for them a checker that did not run is an ALARM). The
  action is cheap where it rarely fires and decisive where it does.
AWS Config's ``cloudwatch-alarm-action-check`` (HIPAA conformance pack) checks ALARM and
INSUFFICIENT_DATA actions by default; OK is on top of that. One convention for both kinds of alarm,
so nobody has to remember which set a new alarm needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class AlertTopic(sns.Topic):
    def __init__(self, scope: Construct, construct_id: str, *, display_name: str, key: kms.IKey, emails: Sequence[str]) -> None:
        if not emails:
            raise ValueError(f"AlertTopic {construct_id}: emails is empty; an alert topic nobody reads pages nobody")
        super().__init__(scope, construct_id, display_name=display_name, master_key=key, enforce_ssl=True)
        self.key = key
        for email in emails:
            self.add_subscription(subscriptions.EmailSubscription(email))

    def allow_publish(self, role: iam.IRole) -> None:
        """sns:Publish on this topic and the two KMS calls SNS makes for an encrypted topic."""
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]))

    def rule_target(self) -> events.IRuleTarget:
        """This topic as the target of an EventBridge rule, admitted for that rule only."""
        return cast(events.IRuleTarget, _RuleOnlyTopicTarget(self))


@jsii.implements(events.IRuleTarget)
class _RuleOnlyTopicTarget:
    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        stack = cdk.Stack.of(self.topic)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRule" + cdk.Names.node_unique_id(rule.node)[-40:],
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}, "StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        return events.RuleTargetConfig(arn=self.topic.topic_arn)


def notify(alarm: cw.AlarmBase, topic: sns.ITopic) -> None:
    """The alarm-action convention: ``topic`` hears ALARM, OK and INSUFFICIENT_DATA of ``alarm``."""
    action = cw_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    alarm.add_insufficient_data_action(action)
