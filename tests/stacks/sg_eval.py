"""What EC2 will enforce, read from a synthesized cloud assembly: each security group's EFFECTIVE rules.

EC2 semantics encoded here (not CDK's intent):
- A new security group has one egress rule allowing all traffic to 0.0.0.0/0 (and to ::/0 when the
  VPC has an IPv6 CIDR). CloudFormation removes that default only when the group's own
  ``SecurityGroupEgress`` property lists rules ("When you specify a VPC security group, Amazon EC2
  creates a default egress rule that allows egress traffic on all ports and IP protocols to any
  IPv4 address (0.0.0.0/0). You can use this property to remove the default rule"):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html
  https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html
- Separate ``AWS::EC2::SecurityGroupEgress`` / ``SecurityGroupIngress`` resources ADD rules to the
  group; they never remove the default.
- Security groups have no default ingress.
CDK's "match no traffic" placeholder (ICMP 252/86 to 255.255.255.255/32) matches no packet and is
dropped from the effective set.

Groups are named ``<Stack>/<logical ID without CDK's 8-character hash>``, e.g.
``Network/SecurityGroupsApp``; destinations as ``sg:<group name>``, ``pl:<prefix list ID>`` or a CIDR.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALL_IPV4, ALL_IPV6 = "0.0.0.0/0", "::/0"
NO_TRAFFIC = ("icmp", 252, 86, "255.255.255.255/32")
SG = "AWS::EC2::SecurityGroup"

Rule = tuple[str, int | None, int | None, str]  # protocol, from port, to port, peer


@dataclass
class _Template:
    stack_name: str  # e.g. Production-Network
    short: str  # e.g. Network
    body: dict[str, Any]


def _short_id(logical_id: str) -> str:
    return re.sub(r"[0-9A-F]{8}$", "", logical_id)


class Assembly:
    """Every stack template of one stage's assembly directory (``assembly-<Stage>``)."""

    def __init__(self, directory: Path) -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        self.templates: dict[str, _Template] = {}
        for artifact_id, artifact in manifest["artifacts"].items():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            name = artifact.get("properties", {}).get("stackName", artifact_id)
            body = json.loads((directory / artifact["properties"]["templateFile"]).read_text())
            self.templates[name] = _Template(name, name.split("-", 1)[-1], body)

    def resources(self, resource_type: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (t.stack_name, lid): r for t in self.templates.values() for lid, r in t.body.get("Resources", {}).items() if r["Type"] == resource_type
        }

    def group_name(self, stack_name: str, logical_id: str) -> str:
        return f"{self.templates[stack_name].short}/{_short_id(logical_id)}"

    def _ref(self, stack_name: str, value: Any) -> tuple[str, str] | None:
        """The (stack, logical ID) a GroupId value points at: GetAtt, Ref, or another stack's output."""
        if isinstance(value, dict):
            if "Fn::GetAtt" in value:
                return stack_name, value["Fn::GetAtt"][0]
            if "Ref" in value:
                return stack_name, value["Ref"]
            if "Fn::GetStackOutput" in value:
                ref = value["Fn::GetStackOutput"]
                output = self.templates[ref["StackName"]].body["Outputs"][ref["OutputName"]]["Value"]
                return self._ref(ref["StackName"], output)
            if "Fn::ImportValue" in value:
                for t in self.templates.values():
                    for output in t.body.get("Outputs", {}).values():
                        if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]:
                            return self._ref(t.stack_name, output["Value"])
        return None

    def _peer(self, stack_name: str, rule: dict[str, Any], keys: tuple[str, ...]) -> str:
        cidr_key, cidr6_key, pl_key, sg_key = keys
        if cidr_key in rule:
            return str(rule[cidr_key])
        if cidr6_key in rule:
            return str(rule[cidr6_key])
        if pl_key in rule:
            return f"pl:{rule[pl_key]}"
        target = self._ref(stack_name, rule[sg_key])
        assert target is not None, f"unresolvable security-group peer {rule[sg_key]!r}"
        return f"sg:{self.group_name(*target)}"

    @staticmethod
    def _ports(rule: dict[str, Any]) -> tuple[str, int | None, int | None]:
        protocol = str(rule["IpProtocol"])
        if protocol in ("-1", "all"):
            return "all", None, None
        return {"6": "tcp", "17": "udp", "1": "icmp"}.get(protocol, protocol), rule.get("FromPort"), rule.get("ToPort")

    def vpc_has_ipv6(self) -> bool:
        return any(
            r["Properties"].get("AmazonProvidedIpv6CidrBlock") or "Ipv6CidrBlock" in r["Properties"]
            for r in self.resources("AWS::EC2::VPCCidrBlock").values()
        )

    def effective_egress(self) -> dict[str, set[Rule]]:
        keys = ("CidrIp", "CidrIpv6", "DestinationPrefixListId", "DestinationSecurityGroupId")
        default: set[Rule] = {("all", None, None, ALL_IPV4)} | ({("all", None, None, ALL_IPV6)} if self.vpc_has_ipv6() else set())
        result: dict[str, set[Rule]] = {}
        for (stack, lid), group in self.resources(SG).items():
            inline = group.get("Properties", {}).get("SecurityGroupEgress") or []
            rules = {(*self._ports(r), self._peer(stack, r, keys)) for r in inline} if inline else set(default)
            result[self.group_name(stack, lid)] = rules
        for (stack, _), egress in self.resources("AWS::EC2::SecurityGroupEgress").items():
            props = egress["Properties"]
            owner = self._ref(stack, props["GroupId"])
            assert owner is not None, f"egress rule on an unresolvable group {props['GroupId']!r}"
            result[self.group_name(*owner)].add((*self._ports(props), self._peer(stack, props, keys)))
        return {name: {r for r in rules if r != NO_TRAFFIC} for name, rules in result.items()}

    def effective_ingress(self) -> dict[str, set[Rule]]:
        keys = ("CidrIp", "CidrIpv6", "SourcePrefixListId", "SourceSecurityGroupId")
        result: dict[str, set[Rule]] = {}
        for (stack, lid), group in self.resources(SG).items():
            inline = group.get("Properties", {}).get("SecurityGroupIngress") or []
            result[self.group_name(stack, lid)] = {(*self._ports(r), self._peer(stack, r, keys)) for r in inline}
        for (stack, _), ingress in self.resources("AWS::EC2::SecurityGroupIngress").items():
            props = ingress["Properties"]
            owner = self._ref(stack, props["GroupId"])
            assert owner is not None, f"ingress rule on an unresolvable group {props['GroupId']!r}"
            result[self.group_name(*owner)].add((*self._ports(props), self._peer(stack, props, keys)))
        return result
