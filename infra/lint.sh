#!/usr/bin/env bash
# Lints template.yaml offline, with zero findings allowed:
#   1. cfn-lint on the SAM template (SAM schemas, merged Globals);
#   2. sam validate --lint (SAM CLI's own translation check plus cfn-lint);
#   3. cfn-lint on the template as SAM translates it into plain CloudFormation.
#      cfn-lint 1.x no longer runs the SAM transform, so it cannot see what SAM
#      generates, such as the HttpApi's OpenAPI body referencing every function's
#      ARN. A function that references the HttpApi is then a circular dependency
#      that only CloudFormation (at deploy time) or this step reports;
#   4. infra/check_template.py: least privilege per function (DynamoDB actions derived
#      from the store adapter's code, KMS and LeadingKeys conditions), throttling,
#      alarms and the CloudFront CRL front door.
# Needs infra/.venv (infra/test.sh creates it). Run from anywhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=infra/.venv
TEMPLATE=template.yaml

if [[ ! -x "$VENV/bin/cfn-lint" || ! -x "$VENV/bin/sam" ]]; then
  echo "lint: $VENV is missing cfn-lint or sam; run infra/test.sh (it creates the venv)" >&2
  exit 1
fi

# Nothing here talks to AWS: a region is all the translator needs. Dummy
# credentials keep any accidental call from using a real profile.
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"

echo "--- cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"

echo "--- sam validate --lint $TEMPLATE"
"$VENV/bin/sam" validate --lint --template "$TEMPLATE" --region us-east-1

echo "--- cfn-lint on the SAM-translated template"
mkdir -p target
"$VENV/bin/python" - "$TEMPLATE" target/template.translated.json <<'PY'
import json
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

source, dest = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    template = yaml_parse(f.read())

# Local code paths are uploaded by `sam build`/`sam deploy`; the translator only
# accepts S3 locations, so stand in a placeholder.
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties") or {}
    if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
            and not props["CodeUri"].startswith("s3://"):
        props["CodeUri"] = "s3://trustplane-lint-placeholder/code.zip"


class NoNetworkPolicyLoader:
    """Managed policies resolve from samtranslator's bundled map; never ask IAM."""

    def load(self):
        return {}


try:
    translated = transform(template, {}, NoNetworkPolicyLoader())
except InvalidDocumentException as e:
    for cause in e.causes:
        print(f"SAM translation error: {cause.message}", file=sys.stderr)
    sys.exit(1)
with open(dest, "w", encoding="utf-8") as f:
    json.dump(translated, f, indent=1)
PY
"$VENV/bin/cfn-lint" target/template.translated.json

echo "--- infra/check_template.py $TEMPLATE"
"$VENV/bin/python" infra/check_template.py "$TEMPLATE"

echo "lint: template.yaml OK"
