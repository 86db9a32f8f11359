"""PermissionSets and ServiceControlPolicies built alone in a bare Stack from their own settings."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs.permission_sets import (
    PERMISSION_SET_NAMES,
    BreakGlass,
    GroupAssignment,
    PermissionSets,
    PermissionSetSettings,
    PhiMarkers,
    break_glass_principals,
)
from constructs.service_control_policies import ScpSettings, ServiceControlPolicies

pytestmark = pytest.mark.requirements("R3", "R1")

PHI = PhiMarkers(tag_key="data-class", tag_value="phi", bucket_name_patterns=("*phi*",), key_alias_pattern="alias/mv/*/data")
BREAK_GLASS = BreakGlass(role_path="/bg/", role_name="BreakGlass")
INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
PERMISSION_SETS = PermissionSetSettings(
    instance_arn=INSTANCE,
    production_accounts=("111111111111",),
    sandbox_accounts=("222222222222",),
    session_durations=dict.fromkeys(PERMISSION_SET_NAMES, "PT1H"),
    assignments=(
        GroupAssignment(permission_set="developer", group_id="g-dev", accounts=("111111111111", "222222222222")),
        GroupAssignment(permission_set="break_glass_admin", group_id="g-bg", accounts=("111111111111",)),
    ),
    phi=PHI,
    phi_access_role_path="/phi/",
    developer_log_group_patterns=("*-App-*",),
    evidence_log_group_patterns=("*Trail*",),
)
SCPS = ScpSettings(
    allowed_regions=("eu-central-1", "eu-west-1"), edge_region="us-east-1", delivery_role_path="/delivery/", break_glass=BREAK_GLASS, phi=PHI
)


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Org", env=cdk.Environment(account="333333333333", region="eu-central-1"))


def test_assignments_are_one_per_group_and_account_with_stable_ids() -> None:
    stack = _stack()
    PermissionSets(stack, "PermissionSets", settings=PERMISSION_SETS)
    template = Template.from_stack(stack)
    assignments = template.find_resources("AWS::SSO::Assignment")
    assert sorted((a["Properties"]["PrincipalId"], a["Properties"]["TargetId"]) for a in assignments.values()) == [
        ("g-bg", "111111111111"),
        ("g-dev", "111111111111"),
        ("g-dev", "222222222222"),
    ]
    # The construct IDs (and so the logical IDs) name the set, the assignment's index and the account.
    ids = sorted(
        c.node.id
        for c in stack.node.find_child("PermissionSets").node.children
        if isinstance(c, cdk.CfnResource) and c.cfn_resource_type == "AWS::SSO::Assignment"
    )
    assert ids == ["BreakGlassAdminGroup1Account111111111111", "DeveloperGroup0Account111111111111", "DeveloperGroup0Account222222222222"]
    names = sorted(p["Properties"]["Name"] for p in template.find_resources("AWS::SSO::PermissionSet").values())
    assert names == sorted(PERMISSION_SET_NAMES.values())


def test_phi_accounts_are_production_then_sandbox_each_once() -> None:
    settings = dataclasses.replace(PERMISSION_SETS, sandbox_accounts=("222222222222", "111111111111"))
    assert settings.phi_accounts == ["111111111111", "222222222222"]


def test_break_glass_principals_follow_the_settings() -> None:
    assert break_glass_principals(BREAK_GLASS)[0] == "arn:aws:iam::*:role/bg/BreakGlass"


def test_scps_attach_where_told_and_use_the_regions_given() -> None:
    stack = _stack()
    scps = ServiceControlPolicies(
        stack,
        "Scps",
        settings=SCPS,
        break_glass_principals=break_glass_principals(BREAK_GLASS),
        attachments={
            key: ["r-abcd"]
            for key in (
                "deny_leaving_organization",
                "deny_root_user",
                "deny_iam_users_and_keys",
                "deny_outside_eu_regions",
                "protect_security_services",
                "protect_phi_storage",
                "protect_privileged_roles",
            )
        },
    )
    policies = Template.from_stack(stack).find_resources("AWS::Organizations::Policy")
    assert len(policies) == len(scps.documents) == 7
    assert all(p["Properties"]["TargetIds"] == ["r-abcd"] for p in policies.values())
    region: dict[str, Any] = scps.documents["deny_outside_eu_regions"].document
    first = region["Statement"][0]
    assert first["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["eu-central-1", "eu-west-1", "us-east-1"]
    assert '"aws:RequestedRegion":"us-east-1"' in json.dumps(region, separators=(",", ":"))


def test_an_scp_without_a_target_fails_synth_naming_it() -> None:
    with pytest.raises(ValueError, match=r"ServiceControlPolicies: no target for \['protect_phi_storage'\]"):
        ServiceControlPolicies(
            _stack(),
            "Scps",
            settings=SCPS,
            break_glass_principals=["arn:aws:iam::*:role/bg/BreakGlass"],
            attachments={
                key: ["r-abcd"]
                for key in (
                    "deny_leaving_organization",
                    "deny_root_user",
                    "deny_iam_users_and_keys",
                    "deny_outside_eu_regions",
                    "protect_security_services",
                    "protect_privileged_roles",
                )
            },
        )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: dataclasses.replace(SCPS, allowed_regions=("eu-central-1", "us-east-1")),
            r"ScpSettings.allowed_regions: .* the edge region not among them",
        ),
        (lambda: dataclasses.replace(SCPS, allowed_regions=()), r"ScpSettings.allowed_regions: \[\]"),
        (
            lambda: dataclasses.replace(PERMISSION_SETS, session_durations={"developer": "PT1H"}),
            r"PermissionSetSettings.session_durations: \['developer'\]; allowed: exactly",
        ),
        (
            lambda: dataclasses.replace(
                PERMISSION_SETS, assignments=(GroupAssignment(permission_set="admin", group_id="g", accounts=("111111111111",)),)
            ),
            r"PermissionSetSettings.assignments: 'admin'; allowed: read_only",
        ),
    ],
)
def test_settings_refuse_what_the_constructs_cannot_build(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
