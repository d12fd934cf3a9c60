# -*- test-case-name: tests.unit.test_notification_config -*-
"""The NotificationConfiguration document (Put/GetBucketNotificationConfiguration),
validated as AWS does, into cloudserver.notifications.rules.

Each ``QueueConfiguration`` / ``TopicConfiguration`` /
``CloudFunctionConfiguration`` has an optional ``Id`` (one is made when
absent), its ARN element (``Queue`` / ``Topic`` / ``CloudFunction``), one
or more ``Event`` and an optional ``Filter`` / ``S3Key`` with at most one
``FilterRule`` named prefix and one named suffix.  AWS's answers: an
unknown event, a bad filter name, two prefixes, two configurations that
share an event for overlapping keys are InvalidArgument with its
messages; an element the schema does not have is MalformedXML.  Events
AWS has that this server never emits, and ``EventBridgeConfiguration``,
are 501 NotImplemented rather than silently never firing.  Whether each
ARN names a configured destination is the operation's check
(s3/ops/notification.py), which knows the server's configuration.
"""
from __future__ import annotations

import base64
import uuid

from cloudserver.notifications.rules import (
    KINDS, NOT_EMITTED, WILDCARDS, EMITTED, NotificationConfig, Rule)
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import fields as child_elements
from cloudserver.s3.xml.parse import parse_xml

ROOT = "NotificationConfiguration"
MAX_BODY = 64 * 1024
MAX_ID = 255
MAX_FILTER_VALUE = 1024
_ELEMENT = {kind: element for element, (kind, _) in KINDS.items()}
_ARN_ELEMENT = {kind: arn for _, (kind, arn) in KINDS.items()}
_KNOWN_EVENTS = frozenset(EMITTED) | frozenset(WILDCARDS)
_OVERLAP = ("Configurations overlap. Configurations on the same bucket cannot share a "
            "common event type.")
_AMBIGUOUS = ("Configuration is ambiguously defined. Cannot have overlapping suffixes in "
              "two rules if the prefixes are overlapping for the same event type.")


def _text(el) -> str:
    return (el.text or "").strip()


def _event(el) -> str:
    name = _text(el)
    if name in NOT_EMITTED:
        raise S3Error("NotImplemented", f"The event {name} is not emitted by this server.")
    if name not in _KNOWN_EVENTS:
        raise S3Error("InvalidArgument", "The event is not supported for notifications",
                      ArgumentName="Event", ArgumentValue=name)
    return name


def _filter(el) -> tuple[str, str]:
    """(prefix, suffix) of a Filter element."""
    found = child_elements(el, ("S3Key",))
    if "S3Key" not in found:
        return "", ""
    rules = child_elements(found["S3Key"], ("FilterRule",), ("FilterRule",))
    values: dict[str, str] = {}
    for rule in rules.get("FilterRule", []):
        parts = child_elements(rule, ("Name", "Value"))
        if "Name" not in parts or "Value" not in parts:
            raise S3Error("MalformedXML")
        name = _text(parts["Name"]).lower()
        value = parts["Value"].text or ""
        if name not in ("prefix", "suffix"):
            raise S3Error("InvalidArgument", "filter rule name must be either prefix or "
                          "suffix", ArgumentName="FilterRule.Name",
                          ArgumentValue=_text(parts["Name"]))
        if name in values:
            raise S3Error("InvalidArgument",
                          f"Cannot specify more than one {name} rule in a filter.",
                          ArgumentName="FilterRule.Name", ArgumentValue=name)
        if len(value.encode("utf-8")) > MAX_FILTER_VALUE:
            raise S3Error("InvalidArgument", "Size of filter rule value cannot exceed 1024 "
                          "bytes in UTF-8 representation")
        values[name] = value
    return values.get("prefix", ""), values.get("suffix", "")


def _rule(el, kind: str, arn_element: str) -> Rule:
    found = child_elements(el, ("Id", arn_element, "Event", "Filter"), ("Event",))
    if arn_element not in found or not found.get("Event"):
        raise S3Error("MalformedXML")
    rule_id = _text(found["Id"]) if "Id" in found else ""
    if len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "The ID of a configuration is longer than "
                      f"{MAX_ID} characters", ArgumentName="Id")
    if not rule_id:
        rule_id = base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    events: list[str] = []
    for e in found["Event"]:
        name = _event(e)
        if name not in events:
            events.append(name)
    prefix, suffix = _filter(found["Filter"]) if "Filter" in found else ("", "")
    return Rule(id=rule_id, kind=kind, arn=_text(found[arn_element]), events=tuple(events),
                prefix=prefix, suffix=suffix)


def parse_notification_configuration(body: bytes) -> NotificationConfig:
    """The configuration in a PUT body (an empty one removes it)."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    found = child_elements(root, tuple(KINDS) + ("EventBridgeConfiguration",), tuple(KINDS))
    if "EventBridgeConfiguration" in found:
        raise S3Error("NotImplemented", "EventBridgeConfiguration is not supported by "
                      "this server.")
    rules: list[Rule] = []
    for element, (kind, arn_element) in KINDS.items():
        rules.extend(_rule(el, kind, arn_element) for el in found.get(element, ()))
    ids = [r.id for r in rules]
    for i, rule in enumerate(rules):
        if ids.count(rule.id) > 1:
            raise S3Error("InvalidArgument", "Same ID used for multiple configurations.",
                          ArgumentName="Id", ArgumentValue=rule.id)
        for other in rules[:i]:
            if rule.overlaps(other):
                plain = not (rule.prefix or rule.suffix or other.prefix or other.suffix)
                raise S3Error("InvalidArgument", _OVERLAP if plain else _AMBIGUOUS,
                              ArgumentName="Event")
    return NotificationConfig(tuple(rules))


def notification_configuration_xml(config: NotificationConfig) -> bytes:
    """GetBucketNotificationConfiguration's answer (an empty document when none)."""
    root = s3_root(ROOT)
    for kind in _ELEMENT:
        for rule in (r for r in config.rules if r.kind == kind):
            el = sub(root, _ELEMENT[kind])
            sub(el, "Id", rule.id)
            sub(el, _ARN_ELEMENT[kind], rule.arn)
            for event in rule.events:
                sub(el, "Event", event)
            if rule.prefix or rule.suffix:
                key = sub(sub(el, "Filter"), "S3Key")
                for name, value in (("Prefix", rule.prefix), ("Suffix", rule.suffix)):
                    if value:
                        fr = sub(key, "FilterRule")
                        sub(fr, "Name", name)
                        sub(fr, "Value", value)
    return serialize(root)
