"""SecurityEventAlarms on the one alarm-action convention (ALARM, OK, INSUFFICIENT_DATA)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs.security_alarms import SECURITY_EVENTS, SecurityEventAlarms

from tests.constructs.helpers import bare_stack, lid, resources

pytestmark = pytest.mark.requirements("R12", "R13")


def test_every_security_event_alarm_notifies_all_three_states() -> None:
    stack = bare_stack()
    topic = sns.Topic(stack, "Topic")
    alarms = SecurityEventAlarms(stack, "SecurityAlarms", log_group=logs.LogGroup(stack, "Trail"), topic=topic)
    template = Template.from_stack(stack)
    assert set(alarms.alarms) == {e.name for e in SECURITY_EVENTS}
    for alarm in alarms.alarms.values():
        props = resources(template, "AWS::CloudWatch::Alarm")[lid(alarm)]["Properties"]
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert props[key] == [{"Ref": lid(topic)}], key
        assert props["TreatMissingData"] == "notBreaching"
