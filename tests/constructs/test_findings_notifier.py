"""FindingsNotifier and the audit key: retries, the dead-letter queue EventBridge can actually write
to, and the alarms on it.

EventBridge User Guide, "Event retry policy and using dead-letter queues"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html): after the target's retry
policy is exhausted (or at once, for errors that retrying cannot fix) the event goes to the target's
SQS dead-letter queue; the queue policy must let events.amazonaws.com send to it for the rule
(aws:SourceArn), and a queue encrypted with a customer-managed key needs a key policy that lets
EventBridge use that key; EventBridge reports events it could not put into the queue as
InvocationsFailedToBeSentToDLQ.
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.alert_topic import AlertTopic
from constructs.audit_trail import audit_key
from constructs.findings_notifier import FindingsNotifier, FindingsNotifierSettings, FindingsTable

from tests.constructs.helpers import actions, bare_stack, function_settings, lid, resources, statements

pytestmark = pytest.mark.requirements("R11", "R14")


def _notifier(stack: cdk.Stack) -> tuple[FindingsNotifier, kms.IKey, AlertTopic, Template]:
    key = audit_key(stack, "AuditKey", alias="alias/t/audit", trail_name="t", removal_policy=cdk.RemovalPolicy.DESTROY)
    topic = AlertTopic(stack, "SecurityTopic", display_name="s", key=key, emails=["security@example.org"])
    notifier = FindingsNotifier(
        stack,
        "FindingsNotifier",
        settings=FindingsNotifierSettings(guardduty_min_severity=4.0, remember_days=90),
        function=function_settings(stack, queue_key=key),
        table=FindingsTable(stack, "FindingsSeen", key=key, removal_policy=cdk.RemovalPolicy.DESTROY),
        topic=topic,
    )
    return notifier, key, topic, Template.from_stack(stack)


def test_every_rule_retries_for_a_day_then_keeps_the_event_in_the_dead_letter_queue() -> None:
    notifier, _, _, template = _notifier(bare_stack())
    rules = resources(template, "AWS::Events::Rule")
    assert set(notifier.rules) == {"GuardDutyFindings", "MacieFindings", "ConfigNonCompliant"}
    for rule in notifier.rules.values():
        [target] = rules[lid(rule)]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [lid(notifier.function), "Arn"]}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [lid(notifier.dead_letter_queue), "Arn"]}}


def test_queue_policy_admits_eventbridge_for_each_rule_by_source_arn() -> None:
    notifier, _, _, template = _notifier(bare_stack())
    [policy] = [
        p for p in resources(template, "AWS::SQS::QueuePolicy").values() if p["Properties"]["Queues"] == [{"Ref": lid(notifier.dead_letter_queue)}]
    ]
    sends = [s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage" for s in sends)
    sources = [s["Condition"] for s in sends]
    assert sorted(map(str, sources)) == sorted(
        str({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [lid(r), "Arn"]}}}) for r in notifier.rules.values()
    )


def test_the_queue_key_lets_eventbridge_encrypt_into_this_accounts_queues_only() -> None:
    notifier, key, _, template = _notifier(bare_stack("123456789012"))
    queue = resources(template, "AWS::SQS::Queue")[lid(notifier.dead_letter_queue)]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [lid(key), "Arn"]}
    key_policy = resources(template, "AWS::KMS::Key")[lid(key)]["Properties"]["KeyPolicy"]
    [events_use] = [s for s in statements(key_policy) if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert sorted(actions(events_use)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    queues = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sqs:eu-central-1:123456789012:*"]]}
    assert events_use["Condition"] == {"StringLike": {"kms:EncryptionContext:aws:sqs:arn": queues}}


def test_dead_letters_and_lost_events_page_the_security_topic() -> None:
    notifier, _, topic, template = _notifier(bare_stack())
    alarms = {lid(a): resources(template, "AWS::CloudWatch::Alarm")[lid(a)]["Properties"] for a in notifier.undelivered_alarms}
    assert len(alarms) == 1 + len(notifier.rules)
    depth = [a for a in alarms.values() if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert [a["Dimensions"] for a in depth] == [[{"Name": "QueueName", "Value": {"Fn::GetAtt": [lid(notifier.dead_letter_queue), "QueueName"]}}]]
    lost = [a for a in alarms.values() if a["MetricName"] == "InvocationsFailedToBeSentToDLQ"]
    assert sorted(str(a["Dimensions"]) for a in lost) == sorted(
        str([{"Name": "RuleName", "Value": {"Ref": lid(r)}}]) for r in notifier.rules.values()
    )
    for alarm in alarms.values():
        assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (1, "GreaterThanOrEqualToThreshold", 1)
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert alarm[key] == [{"Ref": lid(topic)}], key


def test_notifier_may_claim_and_forget_findings_and_publish_to_its_topic_only() -> None:
    notifier, _, topic, template = _notifier(bare_stack())
    policy = resources(template, "AWS::IAM::ManagedPolicy")[lid(notifier.role.grants_policy)]["Properties"]["PolicyDocument"]
    by_action = {a: s["Resource"] for s in statements(policy) for a in actions(s)}
    assert by_action["sns:Publish"] == {"Ref": lid(topic)}
    assert {a for a in by_action if a.startswith("dynamodb:")} == {"dynamodb:PutItem", "dynamodb:DeleteItem"}
    env = resources(template, "AWS::Lambda::Function")[lid(notifier.function)]["Properties"]["Environment"]["Variables"]
    assert env["REMEMBER_DAYS"] == "90" and env["TOPIC_ARN"] == {"Ref": lid(topic)}


@pytest.mark.parametrize(("field", "value"), [("retry_attempts", 186), ("max_event_age_hours", 25)])
def test_retry_settings_outside_eventbridges_limits_fail(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"FindingsNotifierSettings\.{field}"):
        FindingsNotifierSettings(guardduty_min_severity=4.0, remember_days=90, **{field: value})
