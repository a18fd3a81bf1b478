#!/usr/bin/env python3
"""Checks target.yaml (one per network account and Region) beyond the linters, and that it fits the
main template: the role trusts the main function's role only, Terminate stays in this account, the
connect handler reads only quarantine items of the central table, under the role name the central
table's resource policy admits. Run with the deploy virtualenv's python (cfn-lint brings the YAML
loader)."""
import json
import sys

from cfnlint.decode.cfn_yaml import load

checks = []


def check(name, condition):
    checks.append((name, bool(condition)))


def plain(path):
    return json.loads(json.dumps(load(path)))


target = plain(sys.argv[1] if len(sys.argv) > 1 else "target.yaml")
main = plain(sys.argv[2] if len(sys.argv) > 2 else "template.yaml")
res = target["Resources"]
params = target["Parameters"]


def branches(value):
    """Every concrete value an Fn::If may resolve to."""
    if isinstance(value, dict) and "Fn::If" in value:
        return branches(value["Fn::If"][1]) + branches(value["Fn::If"][2])
    return [value]


def statements(role):
    for policy in role["Properties"]["Policies"]:
        for p in branches(policy):
            if isinstance(p, dict) and "PolicyDocument" in p:
                yield from p["PolicyDocument"]["Statement"]


def actions(stmts):
    return {a for s in stmts for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


check("plain CloudFormation: no transform (StackSets with service-managed permissions accept none)", "Transform" not in target)
check("no serverless resources", not any(r["Type"].startswith("AWS::Serverless::") for r in res.values()))

# The target role.
role = res["TargetRole"]
trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
check("the target role trusts one principal: MainFunctionRoleArn",
      len(trust) == 1 and trust[0]["Effect"] == "Allow" and trust[0]["Action"] == "sts:AssumeRole"
      and trust[0]["Principal"] == {"AWS": {"Ref": "MainFunctionRoleArn"}})
check("with an ExternalId, assuming it requires sts:ExternalId",
      trust[0]["Condition"] == {"Fn::If": ["HasExternalId", {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                                           {"Ref": "AWS::NoValue"}]})
check("MainFunctionRoleArn must be a role ARN", params["MainFunctionRoleArn"]["AllowedPattern"].startswith("^arn:aws")
      and ":role/" in params["MainFunctionRoleArn"]["AllowedPattern"] and "Default" not in params["MainFunctionRoleArn"])
check("the external ID is not echoed", params["ExternalId"].get("NoEcho") is True)
check("the role is named TargetRoleName, created in one Region per account",
      role["Properties"]["RoleName"] == {"Ref": "TargetRoleName"} and role.get("Condition") == "CreatesTargetRole")
check("TargetRoleName's default is the main template's",
      params["TargetRoleName"]["Default"] == main["Parameters"]["TargetRoleName"]["Default"])
stmts = list(statements(role))
check("the target role may describe endpoints and connections and terminate, nothing else",
      actions(stmts) == {"ec2:DescribeClientVpnEndpoints", "ec2:DescribeClientVpnConnections", "ec2:TerminateClientVpnConnections"})
terminate = [s for s in stmts if "ec2:TerminateClientVpnConnections" in json.dumps(s["Action"])]
check("exactly one statement grants Terminate, apart from Describe",
      len(terminate) == 1 and terminate[0]["Action"] == "ec2:TerminateClientVpnConnections")
resources = branches(terminate[0]["Resource"])
check("Terminate is never granted on *, only on client-vpn-endpoint ARNs",
      all(r not in ("*", ["*"]) and "client-vpn-endpoint/" in json.dumps(r) for r in resources))
check("Terminate is scoped to this account: its ARN, and the aws:ResourceAccount condition",
      {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:client-vpn-endpoint/*"} in resources
      and terminate[0]["Condition"] == {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}})
check("the listed endpoints narrow Terminate", terminate[0]["Resource"]["Fn::If"][0] == "HasEndpointIds"
      and "EndpointIds" in json.dumps(terminate[0]["Resource"]["Fn::If"][1]))
check("Describe only on * (no resource-level permissions), no wildcard action",
      all(s["Resource"] == "*" for s in stmts if s not in terminate) and not any("*" in json.dumps(s["Action"]) for s in stmts))
check("no managed policies", "ManagedPolicyArns" not in role["Properties"])

# The connect handler.
handler = res["ConnectHandler"]
props = handler["Properties"]
check("the connect handler is named AWSClientVPN-… (the only functions Client VPN may call)",
      props["FunctionName"] == {"Ref": "ConnectHandlerName"}
      and params["ConnectHandlerName"]["AllowedPattern"] == "^AWSClientVPN-[A-Za-z0-9_-]{1,51}$"
      and params["ConnectHandlerName"]["Default"] == "AWSClientVPN-cvpn-terminator")
check("it deploys only signed code when CodeSigningConfigArn is given",
      props.get("CodeSigningConfigArn")
      == {"Fn::If": ["SignsCode", {"Ref": "CodeSigningConfigArn"}, {"Ref": "AWS::NoValue"}]})
check("it runs the bootstrap on provided.al2023, arm64, answering within Client VPN's 30 s",
      props["Runtime"] == "provided.al2023" and props["Architectures"] == ["arm64"] and props["Handler"] == "bootstrap"
      and props["Timeout"] < 30)
check("its code comes from a bucket in this Region", "S3Bucket" in props["Code"] and props["Code"]["S3Key"] == {"Ref": "CodeKey"})
env = props["Environment"]["Variables"]
check("it reads the central table by ARN", env["CVPN_STATE_TABLE"] == {"Ref": "StateTableArn"}
      and ":dynamodb:" in params["StateTableArn"]["AllowedPattern"])
for var in ["CVPN_PROTECTED_USERS", "CVPN_USERNAME_CASE", "CVPN_DENY_MESSAGE", "CVPN_CONNECT_ON_ERROR", "CVPN_CONNECT_TIMEOUT_MS",
            "CVPN_MAX_CONNECTIONS_PER_USER"]:
    check(f"environment passes {var}", var in env)
check("JSON logs to its own log group with retention",
      props["LoggingConfig"]["LogFormat"] == "JSON" and props["LoggingConfig"]["LogGroup"] == {"Ref": "ConnectHandlerLogGroup"}
      and res["ConnectHandlerLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
      and set(params["LogLevel"]["AllowedValues"]) <= {"TRACE", "DEBUG", "INFO"})
handler_role = res["ConnectHandlerRole"]
check("its role is named cvpn-terminator-connect-REGION (IAM is global)",
      handler_role["Properties"]["RoleName"] == {"Fn::Sub": "cvpn-terminator-connect-${AWS::Region}"})
shared = main["Resources"]["StateTable"]["Properties"]["ResourcePolicy"]["Fn::If"][1]["PolicyDocument"]["Statement"][0]
check("the central table's resource policy admits that role name",
      shared["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"].endswith(":role/cvpn-terminator-connect-*"))
handler_stmts = list(statements(handler_role))
check("the connect handler reads and never writes",
      actions(handler_stmts) <= {"dynamodb:BatchGetItem", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:DescribeClientVpnConnections"})
reads = [s for s in handler_stmts if s["Action"] == "dynamodb:BatchGetItem"]
check("it reads only quarantine# items of the given table ARN",
      len(reads) == 1 and reads[0]["Resource"] == {"Ref": "StateTableArn"}
      and reads[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["quarantine#*"]}})
check("it counts connections only with MaxConnectionsPerUser",
      all(p["Fn::If"][0] == "LimitsConnections" for p in handler_role["Properties"]["Policies"]
          if "ec2:DescribeClientVpnConnections" in json.dumps(p)))
check("no resource-based permission on the handler (Client VPN's service-linked role invokes it)",
      not any(r["Type"] == "AWS::Lambda::Permission" for r in res.values()))
metric = res["QuarantineCheckFailedMetric"]["Properties"]
check("an alarm on quarantine_check_failed",
      metric["FilterPattern"] == '{ $.event = "quarantine_check_failed" }'
      and res["QuarantineCheckFailedAlarm"]["Properties"]["MetricName"] == metric["MetricTransformations"][0]["MetricName"])
check("the handler needs the table and the code (a rule)", "HandlerNeedsTableAndCode" in target.get("Rules", {}))
check("the handler's resources share its switch",
      all(res[k].get("Condition") == "HandlerOn" for k in
          ["ConnectHandler", "ConnectHandlerRole", "ConnectHandlerLogGroup", "QuarantineCheckFailedMetric", "QuarantineCheckFailedAlarm"]))

outputs = target["Outputs"]
check("output Target: ROLE_ARN@REGION for the main stack's Targets",
      outputs["Target"]["Value"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${TargetRoleName}@${AWS::Region}"})
for output in ["TargetRoleArn", "ConnectHandlerArn", "WireConnectHandler"]:
    check(f"output {output}", output in outputs)

failed = [name for name, ok in checks if not ok]
for name, ok in checks:
    print(("ok - " if ok else "not ok - ") + name)
print(f"check-target: {len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
