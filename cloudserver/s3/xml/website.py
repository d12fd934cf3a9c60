# -*- test-case-name: tests.unit.test_website_config -*-
"""The WebsiteConfiguration document (Put/GetBucketWebsite).

AWS's schema: either ``RedirectAllRequestsTo`` (HostName, optional
Protocol) alone, or an ``IndexDocument`` (Suffix: non-empty, no '/') with
an optional ``ErrorDocument`` (Key) and optional ``RoutingRules`` (up to
50 ``RoutingRule``: an optional Condition with KeyPrefixEquals and/or
HttpErrorCodeReturnedEquals 4XX/5XX, and a Redirect with Protocol,
HostName, ReplaceKeyPrefixWith or ReplaceKeyWith, HttpRedirectCode 3XX
but 300).  An element the schema does not have, or one given twice, is
MalformedXML: nothing is accepted that the website serving would ignore.

The model is the stored value, ``BucketRecord.WEBSITE``::

    {"indexDocument": str?, "errorDocument": str?,
     "redirectAllRequestsTo": {"hostName": str, "protocol": str?}?,
     "routingRules": [{"condition": {"keyPrefixEquals": str?,
                                     "httpErrorCodeReturnedEquals": int?}?,
                       "redirect": {"protocol"?, "hostName"?,
                                    "replaceKeyPrefixWith"?, "replaceKeyWith"?,
                                    "httpRedirectCode": int?}}]?}
"""
from __future__ import annotations

from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.numbers import decimal
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import fields as child_elements
from cloudserver.s3.xml.parse import local_name, parse_xml

ROOT = "WebsiteConfiguration"
MAX_BODY = 64 * 1024
MAX_ROUTING_RULES = 50
TOP_FIELDS = ("IndexDocument", "ErrorDocument", "RedirectAllRequestsTo", "RoutingRules")
REDIRECT_FIELDS = ("Protocol", "HostName", "ReplaceKeyPrefixWith", "ReplaceKeyWith",
                   "HttpRedirectCode")
CONDITION_FIELDS = ("KeyPrefixEquals", "HttpErrorCodeReturnedEquals")
PROTOCOLS = ("http", "https")
_BAD_PROTOCOL = ("Invalid protocol, protocol can be http or https. If not defined, "
                 "the protocol will be selected automatically.")
#: model key of each Redirect / Condition element
_MODEL_NAME = {"Protocol": "protocol", "HostName": "hostName",
               "ReplaceKeyPrefixWith": "replaceKeyPrefixWith",
               "ReplaceKeyWith": "replaceKeyWith", "HttpRedirectCode": "httpRedirectCode",
               "KeyPrefixEquals": "keyPrefixEquals",
               "HttpErrorCodeReturnedEquals": "httpErrorCodeReturnedEquals"}


def _text(el) -> str:
    return (el.text or "").strip()


def _protocol(el) -> str:
    value = _text(el)
    if value not in PROTOCOLS:
        raise S3Error("InvalidRequest", _BAD_PROTOCOL)
    return value


def _code(el, what: str, low: int, high: int, valid: str) -> int:
    """An HTTP code element: a number in [low, high] (AWS's messages)."""
    value = _text(el)
    if not value or value.strip("0123456789"):
        raise S3Error("MalformedXML", f"The provided HTTP {what} code is not valid. "
                      "It should be a string containing a number.")
    # Counted before converted: more than 3 significant digits is out of range.
    code = decimal(value.lstrip("0") or "0", 3)
    if code is None or not low <= code <= high:
        shown = code if code is not None else value.lstrip("0")
        raise S3Error("InvalidRequest", f"The provided HTTP {what} code ({shown}) is not "
                      f"valid. Valid codes are {valid}.")
    return code


def _redirect_all(el) -> dict:
    fields = child_elements(el, ("HostName", "Protocol"))
    if "HostName" not in fields:
        raise S3Error("MalformedXML")
    host = _text(fields["HostName"])
    if not host:
        raise S3Error("InvalidRequest", "Valid HostName required in RedirectAllRequestsTo")
    out = {"hostName": host}
    if "Protocol" in fields:
        out["protocol"] = _protocol(fields["Protocol"])
    return out


def _redirect(el) -> dict:
    fields = child_elements(el, REDIRECT_FIELDS)
    if not fields:
        raise S3Error("MalformedXML", "Redirect must contain at least one of following: "
                      "Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith, or "
                      "HttpRedirectCode element")
    if "ReplaceKeyPrefixWith" in fields and "ReplaceKeyWith" in fields:
        raise S3Error("InvalidRequest", "You can only define ReplaceKeyPrefix or "
                      "ReplaceKey but not both.")
    out: dict = {}
    for name, c in fields.items():
        if name == "Protocol":
            out["protocol"] = _protocol(c)
        elif name == "HttpRedirectCode":
            out["httpRedirectCode"] = _code(c, "redirect", 301, 399, "3XX except 300")
        elif name == "HostName":
            if not _text(c):
                raise S3Error("InvalidArgument", "The HostName of a Redirect is not "
                              "well formed")
            out["hostName"] = _text(c)
        else:
            out[_MODEL_NAME[name]] = c.text or ""  # a key part: kept as given
    return out


def _condition(el) -> dict:
    fields = child_elements(el, CONDITION_FIELDS)
    if not fields:
        raise S3Error("InvalidRequest", "Condition cannot be empty. To redirect all "
                      "requests without a condition, the condition element shouldn't be "
                      "present.")
    out: dict = {}
    if "KeyPrefixEquals" in fields:
        out["keyPrefixEquals"] = fields["KeyPrefixEquals"].text or ""
    if "HttpErrorCodeReturnedEquals" in fields:
        out["httpErrorCodeReturnedEquals"] = _code(
            fields["HttpErrorCodeReturnedEquals"], "error", 400, 599, "4XX or 5XX")
    return out


def _routing_rules(el) -> list[dict]:
    rules = []
    for c in el:
        name = local_name(c)
        if not name:
            continue
        if name != "RoutingRule":
            raise S3Error("MalformedXML")
        fields = child_elements(c, ("Condition", "Redirect"))
        if "Redirect" not in fields:
            raise S3Error("MalformedXML")
        rule: dict = {"redirect": _redirect(fields["Redirect"])}
        if "Condition" in fields:
            rule["condition"] = _condition(fields["Condition"])
        rules.append(rule)
    if not rules:
        raise S3Error("MalformedXML")
    if len(rules) > MAX_ROUTING_RULES:
        raise S3Error("InvalidRequest", "The number of routing rules must not exceed "
                      f"{MAX_ROUTING_RULES}")
    return rules


def parse_website_configuration(body: bytes) -> dict:
    """The stored website configuration a PutBucketWebsite body asks for."""
    fields = child_elements(parse_xml(body, max_size=MAX_BODY, root=ROOT), TOP_FIELDS)
    if "RedirectAllRequestsTo" in fields:
        if len(fields) > 1:
            raise S3Error("InvalidRequest", "RedirectAllRequestsTo cannot be provided in "
                          "conjunction with other Routing Rules.")
        return {"redirectAllRequestsTo": _redirect_all(fields["RedirectAllRequestsTo"])}
    if "IndexDocument" not in fields:
        raise S3Error("InvalidArgument", "A value for IndexDocument Suffix must be "
                      "provided if RedirectAllRequestsTo is empty")
    index = child_elements(fields["IndexDocument"], ("Suffix",))
    if "Suffix" not in index:
        raise S3Error("MalformedXML")
    suffix = index["Suffix"].text or ""
    if not suffix or "/" in suffix:
        raise S3Error("InvalidArgument", "The IndexDocument Suffix is not well formed")
    model: dict = {"indexDocument": suffix}
    if "ErrorDocument" in fields:
        error = child_elements(fields["ErrorDocument"], ("Key",))
        if "Key" not in error:
            raise S3Error("MalformedXML")
        if not error["Key"].text:
            raise S3Error("InvalidArgument", "The ErrorDocument Key is not well formed")
        model["errorDocument"] = error["Key"].text
    if "RoutingRules" in fields:
        model["routingRules"] = _routing_rules(fields["RoutingRules"])
    return model


def _subs(parent, model: dict, names: tuple[str, ...]) -> None:
    for name in names:
        value = model.get(_MODEL_NAME[name])
        if value is not None:
            sub(parent, name, str(value))


def website_configuration_xml(model: dict) -> bytes:
    """GetBucketWebsite's answer: the configuration as it was put."""
    root = s3_root(ROOT)
    redirect_all = model.get("redirectAllRequestsTo")
    if redirect_all is not None:
        _subs(sub(root, "RedirectAllRequestsTo"), redirect_all, ("HostName", "Protocol"))
        return serialize(root)
    sub(sub(root, "IndexDocument"), "Suffix", model["indexDocument"])
    if model.get("errorDocument") is not None:
        sub(sub(root, "ErrorDocument"), "Key", model["errorDocument"])
    rules = model.get("routingRules")
    if rules:
        parent = sub(root, "RoutingRules")
        for rule in rules:
            el = sub(parent, "RoutingRule")
            if rule.get("condition"):
                _subs(sub(el, "Condition"), rule["condition"], CONDITION_FIELDS)
            _subs(sub(el, "Redirect"), rule["redirect"], REDIRECT_FIELDS)
    return serialize(root)
