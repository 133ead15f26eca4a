"""Policy checks on template.yaml that cfn-lint cannot make: least privilege per function
(issue 9 item 19; provision-api and ca-api sign only with the DefaultIssuerId's keys), throttling, concurrency and alarms (item 20), and the CloudFront front
door that serves CRLs over plain http (item 15).

Confirm-token custody (issue 8): the confirm tokens' HMAC key (TenantTokenKey) is named in
the environment and the policies of TenantsApiFunction alone, which may only GenerateMac and
VerifyMac with it; every other MAC (cursors, device secrets, stream tickets) uses the
separate DeploymentMacKey. Only TenantWorkerFunction may act on the tenant tables
(ecom_tenant_*): it also drops a deprovisioned tenant's table, so no API runs table DDL.

The DynamoDB actions a function may hold on the main table are derived from the store
adapter's code (shared/src/adapters/aws/dynamodb/): a grant the adapter never calls fails.

Run by infra/lint.sh; `python infra/check_template.py [template.yaml]` prints every finding
and exits 1 if there is any.
"""

import json
import pathlib
import re
import sys

from samtranslator.yaml_helper import yaml_parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "shared/src/adapters/aws/dynamodb"

SDK_CALLS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
    "scan": "Scan",
    "batch_write_item": "BatchWriteItem",
    "batch_get_item": "BatchGetItem",
}
TRANSACT_PARTS = {"Put": "PutItem", "Delete": "DeleteItem", "Update": "UpdateItem", "ConditionCheck": "ConditionCheckItem"}
TABLE_WRITES = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"}
CA_KEY_SPECS = {"ECC_NIST_P256", "ECC_NIST_P384", "RSA_2048", "RSA_3072", "RSA_4096"}
SIGN_ONLY_DEFAULT_ISSUER = ("ProvisionApiFunction", "CaApiFunction")
TOKEN_KEY, DEPLOYMENT_MAC_KEY, TOKEN_KEY_HOLDER = "TenantTokenKey", "DeploymentMacKey", "TenantsApiFunction"
TENANT_TABLES, TENANT_DDL_HOLDER = "ecom_tenant_", "TenantWorkerFunction"
MAC_ACTIONS = {"kms:GenerateMac", "kms:VerifyMac"}
WRITES_NO_API_KEYS = ("AcmeApiFunction", "PkiApiFunction", "ProvisionApiFunction", "CaApiFunction", "CrlPublisherFunction", "TenantsApiFunction", "TenantWorkerFunction")


def adapter_actions():
    """Every DynamoDB action the store adapter's code calls on the main table."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in ADAPTER.rglob("*.rs") if "tests" not in p.parts and p.name != "tests.rs")
    actions = {f"dynamodb:{name}" for call, name in SDK_CALLS.items() if re.search(rf"\.{call}\(\)", source)}
    actions |= {f"dynamodb:{name}" for part, name in TRANSACT_PARTS.items() if re.search(rf"\b{part}::builder\(\)", source)}
    return actions


def as_list(value):
    """A policy field that is one value or a list, as a list."""
    return value if isinstance(value, list) else [value]


def mentions(value, needle):
    """True if `needle` occurs anywhere in an intrinsic-laden value (a !Sub, !GetAtt, ...)."""
    return needle in repr(value)


def statements(function):
    """Every inline policy statement of a SAM function."""
    for policy in function.get("Properties", {}).get("Policies", []):
        if isinstance(policy, dict):
            yield from policy.get("Statement", [])


def on_main_table(statement):
    """True if the statement names the stack's Table (or its indexes), not a tenant table."""
    return any(mentions(r, "Table") and not mentions(r, "ecom_tenant") for r in as_list(statement.get("Resource", [])))


def check_table_grants(name, function, allowed):
    for s in statements(function):
        if s.get("Effect") == "Allow" and on_main_table(s):
            for action in set(as_list(s["Action"])) - allowed:
                yield f"{name}: {s.get('Sid')} grants {action} on the table, which the store adapter never calls"


def check_no_apikey_writes(name, function):
    denied = [
        s for s in statements(function)
        if s.get("Effect") == "Deny" and on_main_table(s)
        and TABLE_WRITES <= set(as_list(s["Action"]))
        and "APIKEY#*" in as_list(s.get("Condition", {}).get("ForAnyValue:StringLike", {}).get("dynamodb:LeadingKeys", []))
    ]
    if not denied:
        yield f"{name}: no Deny of table writes whose dynamodb:LeadingKeys match APIKEY#*"


def check_kms(name, function):
    for s in statements(function):
        actions = set(as_list(s.get("Action", [])))
        if s.get("Effect") != "Allow":
            continue
        if name == "PkiApiFunction" and "kms:ScheduleKeyDeletion" in actions:
            yield f"{name}: {s.get('Sid')} grants kms:ScheduleKeyDeletion"
        if "kms:CreateKey" in actions:
            equals = s.get("Condition", {}).get("StringEquals", {})
            if as_list(equals.get("kms:KeyUsage")) != ["SIGN_VERIFY"]:
                yield f"{name}: {s.get('Sid')} allows kms:CreateKey without kms:KeyUsage = SIGN_VERIFY"
            specs = set(as_list(equals.get("kms:KeySpec", [])))
            if not specs or not specs <= CA_KEY_SPECS:
                yield f"{name}: {s.get('Sid')} allows kms:CreateKey without kms:KeySpec limited to {sorted(CA_KEY_SPECS)}"
        if "kms:PutKeyPolicy" in actions:
            bypass = s.get("Condition", {}).get("Bool", {}).get("kms:BypassPolicyLockoutSafetyCheck")
            if str(bypass).lower() != "false":
                yield f"{name}: {s.get('Sid')} allows kms:PutKeyPolicy without kms:BypassPolicyLockoutSafetyCheck = false"
            if str(s.get("Condition", {}).get("Null", {}).get("kms:ResourceAliases")).lower() != "true":
                yield f"{name}: {s.get('Sid')} allows kms:PutKeyPolicy on aliased (in-service) keys"
    granted = {a for s in statements(function) if s.get("Effect") == "Allow" for a in as_list(s.get("Action", []))}
    if "kms:CreateKey" in granted and "kms:PutKeyPolicy" not in granted:
        yield f"{name}: creates CA keys but may not give them their key policy (kms:PutKeyPolicy)"


def check_sign_restricted_to_default_issuer(name, function):
    """Every kms:Sign grant needs the authority tag to equal DefaultIssuerId (when it is set)."""
    for s in statements(function):
        if s.get("Effect") == "Allow" and "kms:Sign" in as_list(s.get("Action", [])):
            authority = s.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceTag/trustplane:authority")
            if not mentions(authority, "DefaultIssuerId"):
                yield f"{name}: {s.get('Sid')} allows kms:Sign on keys not tagged trustplane:authority = DefaultIssuerId"


def variables(holder):
    """The environment variables a function (or Globals' Function) sets."""
    return holder.get("Properties", holder).get("Environment", {}).get("Variables", {})


def check_hmac_keys(resources):
    for key in (TOKEN_KEY, DEPLOYMENT_MAC_KEY):
        props = resources.get(key, {}).get("Properties", {})
        if resources.get(key, {}).get("Type") != "AWS::KMS::Key" or props.get("KeySpec") != "HMAC_256" or props.get("KeyUsage") != "GENERATE_VERIFY_MAC":
            yield f"{key}: not a KMS HMAC_256 key with KeyUsage GENERATE_VERIFY_MAC"


def check_mac_grants(name, function):
    """Only TOKEN_KEY_HOLDER touches the token key, and only to MAC; every MAC names a key."""
    token_actions = set()
    for s in statements(function):
        if s.get("Effect") != "Allow":
            continue
        actions, resources = set(as_list(s.get("Action", []))), as_list(s.get("Resource", []))
        kms = {a for a in actions if a.startswith("kms:")}
        if kms and any(mentions(r, TOKEN_KEY) for r in resources):
            token_actions |= kms
        if (kms & MAC_ACTIONS or "kms:*" in kms) and not all(mentions(r, TOKEN_KEY) or mentions(r, DEPLOYMENT_MAC_KEY) for r in resources):
            yield f"{name}: {s.get('Sid')} allows {sorted(kms & (MAC_ACTIONS | {'kms:*'}))} on a resource other than {TOKEN_KEY} or {DEPLOYMENT_MAC_KEY}"
    if name != TOKEN_KEY_HOLDER and token_actions:
        yield f"{name}: may use {TOKEN_KEY} ({sorted(token_actions)}): only {TOKEN_KEY_HOLDER} may MAC confirm tokens"
    if name == TOKEN_KEY_HOLDER and token_actions != MAC_ACTIONS:
        yield f"{name}: may use {TOKEN_KEY} for {sorted(token_actions)}, not exactly {sorted(MAC_ACTIONS)}"


def check_tenant_tables(name, function):
    """Only the tenant worker touches tenant databases (deprovisioning's drop is its job too)."""
    for s in statements(function):
        if s.get("Effect") == "Allow" and name != TENANT_DDL_HOLDER and any(mentions(r, TENANT_TABLES) for r in as_list(s.get("Resource", []))):
            yield f"{name}: {s.get('Sid')} grants {sorted(as_list(s.get('Action', [])))} on tenant tables; only {TENANT_DDL_HOLDER} may"


def check_token_key_environment(template):
    """TENANT_TOKEN_KEY_ID reaches TOKEN_KEY_HOLDER alone; DEPLOYMENT_MAC_KEY_ID is the other key."""
    resources = template["Resources"]
    globals_env = variables(template.get("Globals", {}).get("Function", {}))
    holders = [n for n, r in resources.items() if r.get("Type") == "AWS::Serverless::Function" and "TENANT_TOKEN_KEY_ID" in variables(r)]
    if "TENANT_TOKEN_KEY_ID" in globals_env or holders != [TOKEN_KEY_HOLDER]:
        where = (["Globals"] if "TENANT_TOKEN_KEY_ID" in globals_env else []) + holders
        yield f"TENANT_TOKEN_KEY_ID is set for {where}, not for {TOKEN_KEY_HOLDER} alone"
    elif not mentions(variables(resources[TOKEN_KEY_HOLDER])["TENANT_TOKEN_KEY_ID"], TOKEN_KEY):
        yield f"{TOKEN_KEY_HOLDER}: TENANT_TOKEN_KEY_ID does not name {TOKEN_KEY}"
    if not mentions(globals_env.get("DEPLOYMENT_MAC_KEY_ID"), DEPLOYMENT_MAC_KEY):
        yield f"Globals: DEPLOYMENT_MAC_KEY_ID does not name {DEPLOYMENT_MAC_KEY}"


def check_functions(resources):
    allowed = adapter_actions()
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        yield from check_table_grants(name, resource, allowed)
        yield from check_kms(name, resource)
        yield from check_mac_grants(name, resource)
        yield from check_tenant_tables(name, resource)
        if name in WRITES_NO_API_KEYS:
            yield from check_no_apikey_writes(name, resource)
        if name in SIGN_ONLY_DEFAULT_ISSUER:
            yield from check_sign_restricted_to_default_issuer(name, resource)


def check_operations(resources):
    http_api = resources["HttpApi"]["Properties"]
    throttle = http_api.get("DefaultRouteSettings", {})
    if not {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(throttle):
        yield "HttpApi: DefaultRouteSettings sets no ThrottlingBurstLimit/ThrottlingRateLimit"
    if "ReservedConcurrentExecutions" not in resources["CrlPublisherFunction"]["Properties"]:
        yield "CrlPublisherFunction: no ReservedConcurrentExecutions"
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]
    for name, resource in resources.items():
        redrive = resource.get("Properties", {}).get("RedrivePolicy") if resource.get("Type") == "AWS::SQS::Queue" else None
        if redrive:
            dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            if not any(a.get("Namespace") == "AWS/SQS" and mentions(a.get("Dimensions"), dlq) for a in alarms):
                yield f"{dlq}: no alarm on its depth"
    if not any(a.get("MetricName") == "CrlAgeSeconds" for a in alarms):
        yield "no alarm on CrlAgeSeconds"


def check_crl_front_door(template):
    resources, outputs = template["Resources"], template.get("Outputs", {})
    if "PublicUrl" not in outputs:
        yield "no PublicUrl output"
        return
    front = next((n for n, r in resources.items() if r.get("Type") == "AWS::CloudFront::Distribution" and mentions(outputs["PublicUrl"], n)), None)
    if front is None:
        yield "PublicUrl names no CloudFront distribution in front of the API and the CRL bucket"
        return
    config = resources[front]["Properties"]["DistributionConfig"]
    crl = [b for b in config.get("CacheBehaviors", []) if b.get("PathPattern") == "/crl/*" or b.get("PathPattern") == "crl/*"]
    if not crl or crl[0].get("ViewerProtocolPolicy") != "allow-all":
        yield "CloudFront: crl/* is not served over plain http (ViewerProtocolPolicy allow-all)"
    patterns = {b.get("PathPattern") for b in config.get("CacheBehaviors", [])}
    for pattern in ("/api/*", "/provision/*", "/puppet-ca/*", "/health"):
        if pattern not in patterns:
            yield f"CloudFront: no behavior for {pattern}"
    if not any(o.get("OriginAccessControlId") for o in config.get("Origins", [])):
        yield "CloudFront: the CRL bucket origin has no origin access control"
    if not mentions(crl_base_url(template), "http://"):
        yield "CRL_BASE_URL is not a plain http URL"


def crl_base_url(template):
    """CRL_BASE_URL as Globals sets it for every function."""
    return template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}).get("CRL_BASE_URL")


def declared_routes(function):
    """`METHOD /path` of every HttpApi event of a function."""
    events = function.get("Properties", {}).get("Events", {}).values()
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e.get("Type") == "HttpApi"}


def check_event_fixtures(resources):
    """Every API Gateway fixture under events/<crate>/ uses a routeKey its function declares."""
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        crate = pathlib.Path(resource["Properties"]["CodeUri"]).name
        routes = declared_routes(resource)
        for fixture in sorted((ROOT / "events" / crate).glob("*.json")):
            route_key = json.loads(fixture.read_text(encoding="utf-8")).get("routeKey")
            if route_key is not None and route_key not in routes:
                yield f"events/{crate}/{fixture.name}: routeKey {route_key!r} is not declared by {name}"


def findings(template):
    resources = template["Resources"]
    yield from check_event_fixtures(resources)
    yield from check_functions(resources)
    yield from check_hmac_keys(resources)
    yield from check_token_key_environment(template)
    yield from check_operations(resources)
    yield from check_crl_front_door(template)


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    found = list(findings(template))
    for finding in found:
        print(f"check_template: {finding}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "template.yaml")))
