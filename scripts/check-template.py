#!/usr/bin/env python3
"""Checks template.yaml beyond the linters: runs the SAM transform and asserts the properties a
security reviewer reads first. Run with the deploy virtualenv's python (cfn-lint brings the YAML
loader and aws-sam-translator)."""
import json
import os
import pathlib
import re
import sys

from cfnlint.decode.cfn_yaml import load
from samtranslator.translator.transform import transform

checks = []


def check(name, condition):
    checks.append((name, bool(condition)))


class NoManagedPolicies:
    """The template uses no managed policies; the transform must not look any up."""

    def load(self):
        return {}


template = json.loads(json.dumps(load(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")))
raw = template["Resources"]
# As `sam package` would: the code is uploaded and CodeUri points at it.
raw["Function"]["Properties"]["CodeUri"] = "s3://example-bucket/cvpn-terminator.zip"
raw["ConnectHandler"]["Properties"]["CodeUri"] = "s3://example-bucket/cvpn-terminator.zip"
raw["SignalFunction"]["Properties"]["CodeUri"] = "s3://example-bucket/cvpn-terminator.zip"
raw["AnswerFunction"]["Properties"]["CodeUri"] = "s3://example-bucket/cvpn-terminator.zip"
raw["ChatFunction"]["Properties"]["CodeUri"] = "s3://example-bucket/cvpn-terminator.zip"
definition_uri = raw["SweepStateMachine"]["Properties"]["DefinitionUri"]
raw["SweepStateMachine"]["Properties"]["DefinitionUri"] = "s3://example-bucket/sweep.asl.json"
# The transform fills pseudo-parameters from a Region; any will do offline.
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
out = transform(template, {}, NoManagedPolicies())
res = out["Resources"]
params = template["Parameters"]


def of_type(kind):
    return {k: v for k, v in res.items() if v["Type"] == kind}


fn = res["Function"]["Properties"]
check("function runs provided.al2023 on arm64 with Handler bootstrap",
      fn["Runtime"] == "provided.al2023" and fn["Architectures"] == ["arm64"] and fn["Handler"] == "bootstrap")
check("SAM builds it with rust-cargolambda", raw["Function"]["Metadata"]["BuildMethod"] == "rust-cargolambda")
check("JSON logs with the application level as a parameter",
      fn["LoggingConfig"]["LogFormat"] == "JSON" and fn["LoggingConfig"]["ApplicationLogLevel"] == {"Ref": "LogLevel"})
check("the log level cannot drop the INFO line of an ended session",
      set(params["LogLevel"]["AllowedValues"]) <= {"TRACE", "DEBUG", "INFO"})
check("a log group with retention", res["LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"})
signing = {"Fn::If": ["SignsCode", {"Ref": "CodeSigningConfigArn"}, {"Ref": "AWS::NoValue"}]}
functions = of_type("AWS::Lambda::Function")
check("every function deploys only signed code when CodeSigningConfigArn is given",
      len(functions) == 5 and all(f["Properties"].get("CodeSigningConfigArn") == signing for f in functions.values()))
check("timeout and memory are parameters", fn["Timeout"] == {"Ref": "Timeout"} and fn["MemorySize"] == {"Ref": "MemorySize"})

env = fn["Environment"]["Variables"]
for var in ["CVPN_ENDPOINT_IDS", "CVPN_DRY_RUN", "CVPN_PROTECTED_USERS", "CVPN_IDENTITY_ACCOUNTS", "CVPN_FINDING_PRODUCTS", "CVPN_MAX_TERMINATIONS", "CVPN_MIN_SEVERITY",
            "CVPN_IDLE_MINUTES", "CVPN_IDLE_BYTES", "CVPN_MAX_SESSION_MINUTES", "CVPN_STATE_TABLE"]:
    check(f"environment passes {var}", var in env)
for p in ["EndpointIds", "DryRun", "ProtectedUsers", "IdentityAccounts", "FindingProducts", "MaxTerminations", "MinSeverity", "IdleMinutes", "IdleBytes",
          "MaxSessionMinutes", "ScheduleExpression", "LogLevel", "LogRetentionDays", "Timeout", "MemorySize"]:
    check(f"parameter {p}", p in params)


def branches(value):
    """Every concrete value an Fn::If may resolve to."""
    if isinstance(value, dict) and "Fn::If" in value:
        return branches(value["Fn::If"][1]) + branches(value["Fn::If"][2])
    return [value]


def statements(role):
    """Every statement a role's policies may hold, each branch of an Fn::If its own."""
    for policy in role["Properties"]["Policies"]:
        if "Fn::If" in policy:
            policy = policy["Fn::If"][1]
        for s in policy["PolicyDocument"]["Statement"]:
            yield from (b for b in branches(s) if isinstance(b, dict))


stmts = list(statements(res["FunctionRole"]))
terminate = [s for s in stmts if "ec2:TerminateClientVpnConnections" in json.dumps(s["Action"])]
check("exactly one statement grants Terminate", len(terminate) == 1)
resources = branches(terminate[0]["Resource"])
check("Terminate is never granted on *", all(r != "*" and r != ["*"] for r in resources))
check("Terminate is scoped to client-vpn-endpoint ARNs", all("client-vpn-endpoint/" in json.dumps(r) for r in resources))
pins = branches(terminate[0]["Condition"]["StringEquals"])
check("Terminate is pinned to the account, and to the Region unless Targets or the organization names others",
      terminate[0]["Condition"]["StringEquals"]["Fn::If"][0] == "ManyPlaces"
      and [set(p) for p in pins] == [{"aws:ResourceAccount"}, {"aws:ResourceAccount", "aws:RequestedRegion"}]
      and all(p["aws:ResourceAccount"] == {"Ref": "AWS::AccountId"} for p in pins))
check("Terminate's ARN names this account in every branch",
      all(":${AWS::AccountId}:client-vpn-endpoint/*" in json.dumps(r) for r in resources if "Fn::Sub" in json.dumps(r)))
assume = [s for s in stmts if s["Action"] == "sts:AssumeRole"]
check("sts:AssumeRole only on roles named TargetRoleName (with Targets or an organization), the organization's reader "
      "and the Config aggregator's",
      sorted(json.dumps(s["Resource"]) for s in assume)
      == sorted([json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${TargetRoleName}"}),
                 json.dumps({"Ref": "OrganizationRoleArn"}), json.dumps({"Ref": "ConfigAggregatorRoleArn"})])
      and any(p.get("Fn::If", [None])[0] == "ManyPlaces" and "assume-target-roles" in json.dumps(p)
              for p in res["FunctionRole"]["Properties"]["Policies"]))
for var, p in [("CVPN_TARGETS", "Targets"), ("CVPN_EXTERNAL_ID", "ExternalId")]:
    check(f"environment passes {var} from {p}", env.get(var) == {"Ref": p})
check("the external ID is not echoed", params["ExternalId"].get("NoEcho") is True)
describe = [s for s in stmts if "ec2:DescribeClientVpnConnections" in json.dumps(s["Action"])]
check("Describe stands apart from Terminate", describe and "ec2:TerminateClientVpnConnections" not in json.dumps(describe[0]))
dynamo = [s for s in stmts if "dynamodb:" in json.dumps(s["Action"])]
check("DynamoDB only on the table", dynamo and all(s["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]} for s in dynamo))
idc_stmts = [s for s in stmts if "identitystore:" in json.dumps(s["Action"])]
check("Identity Center: DescribeUser and GetUserId only, on the named stores' users",
      len(idc_stmts) == 1 and idc_stmts[0]["Action"] == ["identitystore:DescribeUser", "identitystore:GetUserId"]
      and "IdentityStoreIds" in json.dumps(idc_stmts[0]["Resource"]))
check("no statement grants a wildcard action", not any("*" in json.dumps(s["Action"]) for s in stmts))
check("the role has no managed policies", "ManagedPolicyArns" not in res["FunctionRole"]["Properties"])

table = raw["StateTable"]["Properties"]
check("table: one string key pk", table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
      and table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}])
check("table: TTL on expiresAt", table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True})
check("table: point-in-time recovery", table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True)
check("table: encrypted with the AWS managed key, or the AWS owned key when shared (the managed key cannot be)",
      table["SSESpecification"]["SSEEnabled"] == {"Fn::If": ["SharesQuarantine", False, True]})
policy = table["ResourcePolicy"]
shared = policy["Fn::If"][1]["PolicyDocument"]["Statement"] if "Fn::If" in policy else []
check("table: a resource policy only when TargetAccountIds is set with quarantine on",
      policy.get("Fn::If", [None])[0] == "SharesQuarantine" and policy["Fn::If"][2] == {"Ref": "AWS::NoValue"})
check("table: the network accounts may BatchGetItem quarantine# keys, by their connect handlers' roles only",
      len(shared) == 1 and shared[0]["Effect"] == "Allow" and shared[0]["Action"] == "dynamodb:BatchGetItem"
      and shared[0]["Principal"] == {"AWS": {"Ref": "TargetAccountIds"}} and shared[0]["Resource"] == "*"
      and shared[0]["Condition"] == {
          "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/cvpn-terminator-connect-*"}},
          "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["quarantine#*"]}})
check("table with the idle policy or the quarantine", raw["StateTable"].get("Condition") == "UsesStateTable")

# Quarantine: the connect handler.
handler = res["ConnectHandler"]["Properties"]
name = raw["ConnectHandler"]["Properties"]["FunctionName"]
check("the connect handler is named AWSClientVPN-… (the only functions Client VPN may call)",
      all(json.dumps(b).startswith(('{"Ref": "ConnectHandlerName"}', '{"Fn::Sub": "AWSClientVPN-')) for b in branches(name))
      and params["ConnectHandlerName"]["AllowedPattern"] == "^$|^AWSClientVPN-[A-Za-z0-9_-]{1,51}$")
check("the connect handler runs the same code", raw["ConnectHandler"]["Metadata"]["BuildProperties"]["Binary"] == "cvpn-terminator")
check("the connect handler answers within Client VPN's 30 s", handler["Timeout"] < 30)
check("the connect handler has its own log group", handler["LoggingConfig"]["LogGroup"] == {"Ref": "ConnectHandlerLogGroup"})
check("provisioned concurrency is a parameter", "ConnectHandlerProvisionedConcurrency" in json.dumps(raw["ConnectHandler"]))
handler_stmts = list(statements(res["ConnectHandlerRole"]))
handler_actions = {a for s in handler_stmts for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
check("the connect handler reads and never writes",
      handler_actions <= {"dynamodb:BatchGetItem", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:DescribeClientVpnConnections"})
reads = [s for s in handler_stmts if s["Action"] == "dynamodb:BatchGetItem"]
check("the connect handler reads only quarantine items",
      len(reads) == 1 and reads[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["quarantine#*"]}})
check("no resource-based permission on the handler (Client VPN's service-linked role invokes it)",
      not any("ConnectHandler" in json.dumps(p["Properties"]["FunctionName"]) for p in of_type("AWS::Lambda::Permission").values()))
# Every DynamoDB call the function's code makes, read from the adapter's source, is granted; Scan
# only serves `cvpn-terminator quarantine list`, which runs with the operator's own credentials.
called = set()
for source in pathlib.Path("src/adapters/state").glob("**/*.rs"):
    for call in re.findall(r"\.(batch_get_item|get_item|put_item|update_item|delete_item|scan|query)\(\)", source.read_text()):
        called.add("dynamodb:" + "".join(word.capitalize() for word in call.split("_")))
granted = {a for s in dynamo for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
check(f"the function's role grants every DynamoDB call its code makes ({', '.join(sorted(called - {'dynamodb:Scan'}))})",
      called - {"dynamodb:Scan"} <= granted and len(called) >= 5)
check("the incident function knows the handler it checks endpoints against", "CVPN_CONNECT_HANDLER_ARN" in env)
metric = res["QuarantineCheckFailedMetric"]["Properties"]
check("an alarm on quarantine_check_failed",
      "quarantine_check_failed" in metric["FilterPattern"]
      and res["QuarantineCheckFailedAlarm"]["Properties"]["MetricName"] == metric["MetricTransformations"][0]["MetricName"])

# Notifications.
for var in ["CVPN_OUTCOME_BUS", "CVPN_FINDING_NOTES", "CVPN_FINDING_WORKFLOW", "CVPN_SECURITYHUB_NOTES"]:
    check(f"environment passes {var}", var in env)
put = [s for s in stmts if s["Action"] == "events:PutEvents"]
check("PutEvents only on the outcome bus of this account and Region, only as source cvpn-terminator",
      len(put) == 1 and put[0]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${OutcomeBus}"}
      and put[0]["Condition"] == {"StringEquals": {"events:source": "cvpn-terminator"}})
notes = [s for s in stmts if s["Action"] == "securityhub:BatchUpdateFindings"]
allowed = [s for s in notes if s["Effect"] == "Allow"]
check("BatchUpdateFindings only on this account's hub",
      len(allowed) == 1 and allowed[0]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"}
      and "Condition" not in allowed[0])
denied = {k.split("/", 1)[1] for s in notes if s["Effect"] == "Deny" for k in s["Condition"].get("Null", {})}
check("a finding's note and workflow only: every other field BatchUpdateFindings takes is denied",
      {"Confidence", "Criticality", "RelatedFindings", "Severity.Label", "Severity.Normalized", "Severity.Product", "Types",
       "UserDefinedFields.key", "UserDefinedFields.value", "VerificationState"} <= denied)
check("the workflow status only as the parameter says, the note only as cvpn-terminator",
      any(s.get("Condition", {}).get("StringNotEquals") == {"securityhub:ASFFSyntaxPath/Workflow.Status": {"Ref": "FindingWorkflow"}} for s in notes)
      and any(s.get("Condition", {}).get("StringNotEquals") == {"securityhub:ASFFSyntaxPath/Note.UpdatedBy": "cvpn-terminator"} for s in notes))
reads = [s for s in stmts if s["Action"] == "securityhub:GetFindings"]
check("GetFindings (a GuardDuty copy's note, read before ours is added) only on this account's hub",
      len(reads) == 1 and reads[0]["Effect"] == "Allow"
      and reads[0]["Resource"] == allowed[0]["Resource"])
called = set(re.findall(r"\.(put_events|batch_update_findings|get_findings)\(\)", pathlib.Path("src/adapters/notify.rs").read_text()))
check("the role grants every call the notifiers make (PutEvents, BatchUpdateFindings, GetFindings)",
      called == {"put_events", "batch_update_findings", "get_findings"} and put and allowed and reads)
metric = res["NotificationFailedMetric"]["Properties"]
check("an alarm on notification_failed",
      metric["FilterPattern"] == '{ $.event = "notification_failed" }'
      and res["NotificationFailedAlarm"]["Properties"]["MetricName"] == metric["MetricTransformations"][0]["MetricName"])
topic = res["NotificationTopic"]["Properties"]
key = res["NotificationKey"]["Properties"]
check("the notifications topic is encrypted with a rotating key EventBridge may use",
      topic["KmsMasterKeyId"] == {"Ref": "NotificationKey"} and key["EnableKeyRotation"] is True
      and any(s.get("Principal") == {"Service": "events.amazonaws.com"} for s in key["KeyPolicy"]["Statement"]))
publish = res["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
check("only the outcome rule may publish to the topic",
      [s["Condition"] for s in publish if s["Effect"] == "Allow"] == [{"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["OutcomeRule", "Arn"]}}}])
check("an alarm when the rule cannot deliver to the topic",
      res["NotificationDeliveryAlarm"]["Properties"]["MetricName"] == "FailedInvocations"
      and all({"Name": "RuleName", "Value": {"Ref": "OutcomeRule"}} in dims
              for dims in branches(res["NotificationDeliveryAlarm"]["Properties"]["Dimensions"])))
outcome_rule = res["OutcomeRule"]["Properties"]
pattern = outcome_rule["EventPattern"]
check("the outcome rule takes this function's seven kinds of event from the outcome bus",
      pattern["source"] == ["cvpn-terminator"] and len(pattern["detail-type"]) == 7
      and outcome_rule["EventBusName"] == {"Ref": "OutcomeBus"})
# The message people get: every path the transformer reads is in a real outcome event (the sample
# the Rust tests keep in step with the code), and the message says what, where, whom, why and where
# to look.
transformer = outcome_rule["Targets"][0]["InputTransformer"]
sample = json.loads(pathlib.Path("events/outcomes/sessions-terminated.json").read_text())


def at(event, path):
    value = event
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


message = transformer["InputTemplate"]
try:
    for name, path in transformer["InputPathsMap"].items():
        message = message.replace(f"<{name}>", str(at(sample, path)))
    resolved = True
except KeyError:
    resolved = False
check("every path of the notification's transformer is in the sample outcome event", resolved)
check("the notification says what, where, to whom, why, with a link",
      resolved and "<" not in message and sample["detail"]["summary"] in message
      and sample["detail"]["reason"] in message and sample["detail"]["link"] in message
      and sample["detail"]["account"] in message and sample["detail-type"] in message)
print(f"# the notification: {message}")

invoke = res["AsyncConfig"]["Properties"]
check("async: retry limit and event age", "MaximumRetryAttempts" in invoke and "MaximumEventAgeInSeconds" in invoke)
check("async: on-failure destination is the queue",
      invoke["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]})
check("the failure queue is encrypted", "KmsMasterKeyId" in res["FailureQueue"]["Properties"])
alarm = res["ErrorsAlarm"]["Properties"]
check("an alarm on function errors", alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda")

# The rules that trigger the function; OutcomeRule and ChatRule carry its outcome events to people.
rules = {k: v for k, v in of_type("AWS::Events::Rule").items() if k not in ("OutcomeRule", "ChatRule")}
patterns = {k: json.dumps(v["Properties"].get("EventPattern", {})) for k, v in rules.items()}
check("schedule rule", any("ScheduleExpression" in v["Properties"] for v in rules.values()))
check("GuardDuty rule with a numeric severity floor", any('"aws.guardduty"' in p and '"numeric"' in p for p in patterns.values()))
check("Security Hub Imported rule filters label, workflow and record state",
      any("Security Hub Findings - Imported" in p and "Label" in p and "Workflow" in p and "RecordState" in p for p in patterns.values()))
check("custom action target and its rule",
      of_type("AWS::SecurityHub::ActionTarget") and any("Security Hub Findings - Custom Action" in p for p in patterns.values()))
check("OCSF Findings Imported V2 rule", any("Findings Imported V2" in p for p in patterns.values()))
check("every trigger is switchable", all("Condition" in raw[k] for k in rules))
permissions = of_type("AWS::Lambda::Permission")
by_rule = {k: p for k, p in permissions.items() if "SourceArn" in p["Properties"]}
check("every rule may invoke the function", {json.dumps(p["Properties"]["SourceArn"]) for p in by_rule.values()}
      == {json.dumps({"Fn::GetAtt": [k, "Arn"]}) for k in rules})
okta = rules["OktaRule"]["Properties"]
check("the Okta rule is on the named partner bus, for its own source, SUCCESS only",
      okta["EventBusName"] == {"Ref": "OktaEventBusName"} and okta["EventPattern"]["source"] == [{"Ref": "OktaEventBusName"}]
      and okta["EventPattern"]["detail"]["outcome"]["result"] == ["SUCCESS"]
      and "user.account.lock" not in okta["EventPattern"]["detail"]["eventType"])
check("the function trusts the Okta bus it has a rule on", env["CVPN_IDP_SOURCES"] == {"Ref": "OktaEventBusName"})
idc = rules["IdentityCenterRule"]["Properties"]["EventPattern"]
check("the Identity Center rule sends the named stores' disable, delete and enable calls that happened",
      idc["source"] == ["aws.sso-directory", "aws.identitystore"]
      and idc["detail"]["eventName"] == ["DisableUser", "DeleteUser", "EnableUser"]
      and idc["detail"]["errorCode"] == [{"exists": False}]
      and idc["detail"]["requestParameters"]["identityStoreId"] == {"Fn::Split": [",", {"Ref": "IdentityStoreIds"}]}
      and "EventBusName" not in rules["IdentityCenterRule"]["Properties"])
check("the function trusts the stores it has a rule on", env["CVPN_IDENTITY_STORE_IDS"] == {"Ref": "IdentityStoreIds"})
signal = res["SignalFunction"]["Properties"]
url = of_type("AWS::Lambda::Url")
check("the IdP's Function URL is AuthType NONE on its own function, with its own reserved concurrency",
      {k: u["Properties"]["AuthType"] for k, u in url.items()} == {"SignalFunctionUrl": "NONE", "AnswerFunctionUrl": "AWS_IAM"}
      and signal["ReservedConcurrentExecutions"] == {"Ref": "SignalReservedConcurrency"}
      and raw["SignalFunction"]["Condition"] == "SignalsOn")
check("the Function URL's function gets the IdP's settings and the table",
      all(v in signal["Environment"]["Variables"] for v in
          ["CVPN_SIGNAL_JWKS_URL", "CVPN_SIGNAL_ISSUER", "CVPN_SIGNAL_AUDIENCE", "CVPN_STATE_TABLE"]))
check("signals bring the table", "SignalsOn" in json.dumps(template["Conditions"]["UsesStateTable"]))
asking = {"CVPN_ASK_BELOW_SEVERITY": "AskBelowSeverity", "CVPN_ASK_USERS": "AskUsers", "CVPN_ASK_OVER_CAP": "AskOverCap",
          "CVPN_ASK_MINUTES": "AskMinutes", "CVPN_APPROVALS_REQUIRED": "ApprovalsRequired"}
check("both functions ask a person first as the parameters say",
      all(env.get(v) == {"Ref": p} and signal["Environment"]["Variables"].get(v) == {"Ref": p} for v, p in asking.items()))
check("asking brings the table (requests wait there)",
      "AsksFirst" in json.dumps(template["Conditions"]["UsesStateTable"]))
check("people are told of requests for approval and of their answers",
      {"Client VPN Approval Requested", "Client VPN Approval Answered", "Client VPN Approval Expired"}
      <= set(pattern["detail-type"]))
check("an output wires every endpoint to the handler",
      "modify-client-vpn-endpoint" in json.dumps(out["Outputs"]["WireConnectHandler"]))
for output in ["FunctionArn", "FunctionRoleArn", "FailureQueueUrl", "StateTableName", "StateTableArn", "ConnectHandlerArn"]:
    check(f"output {output}", output in out["Outputs"])

# The chat button, signed answers and the organization, and the sweep split by place: their own
# files, with what was loaded here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import template_people  # noqa: E402

import template_sweep  # noqa: E402

template_people.run(check, template, raw, out, env, branches, permissions)
template_sweep.run(check, template, raw, out, definition_uri)

failed = [name for name, ok in checks if not ok]
for name, ok in checks:
    print(("ok - " if ok else "not ok - ") + name)
print(f"check-template: {len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
