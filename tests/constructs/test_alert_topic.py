"""AlertTopic and the alarm-action convention, each in a bare stack."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.assertions import Template
from constructs.alert_topic import AlertTopic, notify

from tests.constructs.helpers import actions, bare_stack, lid, resources, statements

pytestmark = pytest.mark.requirements("R13")


def _topic(stack: cdk.Stack, emails: list[str] | None = None) -> AlertTopic:
    return AlertTopic(stack, "SecurityTopic", display_name="t", key=kms.Key(stack, "Key"), emails=emails or ["a@example.org", "b@example.org"])


def test_topic_is_encrypted_tls_only_and_mails_every_address() -> None:
    stack = bare_stack()
    topic = _topic(stack)
    template = Template.from_stack(stack)
    [props] = [t["Properties"] for t in resources(template, "AWS::SNS::Topic").values()]
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [lid(topic.key), "Arn"]}
    subs = sorted(s["Properties"]["Endpoint"] for s in resources(template, "AWS::SNS::Subscription").values())
    assert subs == ["a@example.org", "b@example.org"]
    assert all(s["Properties"]["Protocol"] == "email" for s in resources(template, "AWS::SNS::Subscription").values())
    [policy] = resources(template, "AWS::SNS::TopicPolicy").values()
    [deny] = [s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] == "*" and deny["Action"] == "sns:Publish"


def test_logical_ids_are_those_of_a_plain_topic_of_the_same_id() -> None:
    """What keeps the four converted topics (and their e-mail subscriptions) from being replaced."""
    converted, plain = bare_stack(), bare_stack()
    _topic(converted, ["ops@example.org"])
    key = kms.Key(plain, "Key")
    topic = sns.Topic(plain, "SecurityTopic", display_name="t", master_key=key, enforce_ssl=True)
    topic.add_subscription(subscriptions.EmailSubscription("ops@example.org"))
    assert set(Template.from_stack(converted).to_json()["Resources"]) == set(Template.from_stack(plain).to_json()["Resources"])


def test_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match="emails is empty"):
        AlertTopic(bare_stack(), "T", display_name="t", key=kms.Key(bare_stack(), "K"), emails=[])


def test_rule_target_admits_eventbridge_for_that_rule_from_this_account_only() -> None:
    stack = bare_stack()
    topic = _topic(stack)
    rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["aws.backup"]), targets=[topic.rule_target()])
    template = Template.from_stack(stack)
    [policy] = resources(template, "AWS::SNS::TopicPolicy").values()
    [allow] = [s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [lid(rule), "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    [target] = resources(template, "AWS::Events::Rule")[lid(rule)]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": lid(topic)}
    # No unconditioned grant on the key (targets.SnsTopic would add one).
    [key] = resources(template, "AWS::KMS::Key").values()
    assert "events.amazonaws.com" not in str(key["Properties"]["KeyPolicy"])


def test_allow_publish_grants_publish_and_the_two_kms_calls_on_its_key() -> None:
    stack = bare_stack()
    topic = _topic(stack)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    topic.allow_publish(role)
    [policy] = resources(Template.from_stack(stack), "AWS::IAM::Policy").values()
    granted = {(a, str(s["Resource"])) for s in statements(policy["Properties"]["PolicyDocument"]) for a in actions(s)}
    assert granted == {
        ("sns:Publish", str({"Ref": lid(topic)})),
        ("kms:Decrypt", str({"Fn::GetAtt": [lid(topic.key), "Arn"]})),
        ("kms:GenerateDataKey", str({"Fn::GetAtt": [lid(topic.key), "Arn"]})),
    }


def test_notify_wires_alarm_ok_and_insufficient_data() -> None:
    stack = bare_stack()
    topic = _topic(stack)
    alarm = cw.Alarm(stack, "Alarm", metric=cw.Metric(namespace="N", metric_name="M"), threshold=1, evaluation_periods=1)
    composite = cw.CompositeAlarm(stack, "Composite", alarm_rule=cw.AlarmRule.any_of(alarm))
    notify(alarm, topic)
    notify(composite, topic)
    template = Template.from_stack(stack)
    for resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        [props] = [a["Properties"] for a in resources(template, resource_type).values()]
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert props[key] == [{"Ref": lid(topic)}], (resource_type, key)
