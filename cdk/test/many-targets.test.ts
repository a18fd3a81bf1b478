import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, Aspects, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import {
  ClientVpnTerminator,
  ClientVpnTerminatorProps,
  ClientVpnTerminatorTarget,
  ClientVpnTerminatorTargetProps,
} from "../lib/client-vpn-terminator";
import { nagFindings } from "./synth";

// Synthesis only hashes the asset, so a stand-in bootstrap does.
const codePath = fs.mkdtempSync(path.join(os.tmpdir(), "cvpn-bootstrap-"));
fs.writeFileSync(path.join(codePath, "bootstrap"), "stand-in");

const security = { account: "111122223333", region: "eu-west-1" };
const network = { account: "444455556666", region: "us-east-1" };
const mainRole = "arn:aws:iam::111122223333:role/CvpnTerminator-FunctionRole-ABC";
const tableArn = "arn:aws:dynamodb:eu-west-1:111122223333:table/CvpnTerminator-StateTable-XYZ";

function synthMain(props: ClientVpnTerminatorProps = {}): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), "Main", { env: security });
  new ClientVpnTerminator(stack, "Terminator", { codePath, ...props });
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return { stack, template: Template.fromStack(stack) };
}

function synthTarget(props: Partial<ClientVpnTerminatorTargetProps> = {}, agnostic = false): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), "Target", agnostic ? {} : { env: network });
  new ClientVpnTerminatorTarget(stack, "Target", { codePath, mainFunctionRoleArn: mainRole, stateTableArn: tableArn, ...props });
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return { stack, template: Template.fromStack(stack) };
}

/** A value as a string, with the partition token read as `aws`. */
function str(value: any): string {
  if (typeof value === "string") return value;
  if (value.Ref === "AWS::Partition") return "aws";
  if (value.Ref === "AWS::Region") return "REGION";
  if (value.Ref === "AWS::AccountId") return "ACCOUNT";
  if (value["Fn::Join"]) return value["Fn::Join"][1].map(str).join(value["Fn::Join"][0]);
  throw new Error(`unexpected form ${JSON.stringify(value)}`);
}

function rolesOf(template: Template): Record<string, any> {
  return template.findResources("AWS::IAM::Role");
}

function statementsOf(template: Template, roleId: string): any[] {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  return policies
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function roleId(template: Template, pattern: RegExp): string {
  const ids = Object.keys(rolesOf(template)).filter((id) => pattern.test(id));
  assert.equal(ids.length, 1, `one role like ${pattern}: ${ids}`);
  return ids[0];
}

test("target role: trusts the main function's role only, with the external ID when given", () => {
  const plain = synthTarget().template;
  const trust = rolesOf(plain)[roleId(plain, /TargetRole/)].Properties;
  assert.equal(trust.RoleName, "cvpn-terminator-target");
  assert.deepEqual(trust.AssumeRolePolicyDocument.Statement, [
    { Action: "sts:AssumeRole", Effect: "Allow", Principal: { AWS: mainRole } },
  ]);
  const withId = synthTarget({ externalId: "s3cr3t-id", targetRoleName: "cvpn-x" }).template;
  const role = rolesOf(withId)[roleId(withId, /TargetRole/)].Properties;
  assert.equal(role.RoleName, "cvpn-x");
  assert.deepEqual(role.AssumeRolePolicyDocument.Statement, [
    {
      Action: "sts:AssumeRole",
      Effect: "Allow",
      Principal: { AWS: mainRole },
      Condition: { StringEquals: { "sts:ExternalId": "s3cr3t-id" } },
    },
  ]);
});

test("target role: Describe, and Terminate on this account's endpoints in every Region or the listed ones", () => {
  const { template } = synthTarget();
  const stmts = statementsOf(template, roleId(template, /TargetRole/));
  assert.deepEqual(stmts.flatMap((s) => [s.Action].flat()).sort(), [
    "ec2:DescribeClientVpnConnections",
    "ec2:DescribeClientVpnEndpoints",
    "ec2:TerminateClientVpnConnections",
  ]);
  const terminate = stmts.find((s) => s.Action === "ec2:TerminateClientVpnConnections");
  assert.equal(str(terminate.Resource), "arn:aws:ec2:*:444455556666:client-vpn-endpoint/*");
  assert.equal(stmts.find((s) => s.Action !== "ec2:TerminateClientVpnConnections").Resource, "*");

  const listed = synthTarget({ endpointIds: ["cvpn-endpoint-0a1b2c3d4e5f60718"] }).template;
  const narrowed = statementsOf(listed, roleId(listed, /TargetRole/)).find((s) => s.Action === "ec2:TerminateClientVpnConnections");
  assert.equal(str(narrowed.Resource), "arn:aws:ec2:*:444455556666:client-vpn-endpoint/cvpn-endpoint-0a1b2c3d4e5f60718");

  const agnostic = synthTarget({}, true).template;
  const anyAccount = statementsOf(agnostic, roleId(agnostic, /TargetRole/)).find((s) => s.Action === "ec2:TerminateClientVpnConnections");
  assert.equal(str(anyAccount.Resource), "arn:aws:ec2:*:ACCOUNT:client-vpn-endpoint/*");
  assert.match(JSON.stringify(agnostic.findOutputs("*")), /@/);
});

test("target connect handler: AWSClientVPN- name, reads only quarantine# keys of the central table by ARN", () => {
  const { template } = synthTarget({ maxConnectionsPerUser: 2, denyMessage: "Call the SOC", protectedUsers: ["breakglass"] });
  template.hasResourceProperties("AWS::Lambda::Function", {
    FunctionName: "AWSClientVPN-cvpn-terminator",
    Runtime: "provided.al2023",
    Architectures: ["arm64"],
    Timeout: 29,
    Environment: {
      Variables: Match.objectLike({
        CVPN_STATE_TABLE: tableArn,
        CVPN_DENY_MESSAGE: "Call the SOC",
        CVPN_PROTECTED_USERS: "breakglass",
        CVPN_MAX_CONNECTIONS_PER_USER: "2",
      }),
    },
  });
  const id = roleId(template, /ConnectHandlerRole/);
  assert.equal(rolesOf(template)[id].Properties.RoleName, "cvpn-terminator-connect-us-east-1");
  const stmts = statementsOf(template, id);
  assert.deepEqual(
    stmts.flatMap((s) => [s.Action].flat()).filter((a) => !a.startsWith("logs:")).sort(),
    ["dynamodb:BatchGetItem", "ec2:DescribeClientVpnConnections"],
  );
  const read = stmts.find((s) => s.Action === "dynamodb:BatchGetItem");
  assert.equal(read.Resource, tableArn);
  assert.deepEqual(read.Condition, { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["quarantine#*"] } });
  template.resourceCountIs("AWS::Lambda::Permission", 0);
  template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 365 });
  template.hasResourceProperties("AWS::Logs::MetricFilter", { FilterPattern: '{ $.event = "quarantine_check_failed" }' });
  template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "QuarantineCheckFailed" });
  const outputs = JSON.stringify(template.findOutputs("*"));
  assert.match(outputs, /ConnectHandlerArn/);
  assert.match(outputs, /:role\/cvpn-terminator-target@us-east-1/);
});

test("target: the role in one Region only, the handler optional, bad settings refused", () => {
  const noRole = synthTarget({ createTargetRole: false }).template;
  assert.equal(Object.keys(rolesOf(noRole)).filter((id) => /TargetRole/.test(id)).length, 0);
  assert.match(JSON.stringify(noRole.findOutputs("*")), /cvpn-terminator-target@us-east-1/);
  const noHandler = synthTarget({ connectHandler: false, stateTableArn: undefined }).template;
  noHandler.resourceCountIs("AWS::Lambda::Function", 0);
  assert.throws(() => synthTarget({ stateTableArn: undefined }), /stateTableArn/);
  assert.throws(() => synthTarget({ connectHandlerName: "cvpn-connect" }), /AWSClientVPN-/);
  assert.throws(() => synthTarget({ targetRoleName: "bad name" }), /targetRoleName/);
});

test("main: targets bring AssumeRole on the target role name only, and Terminate in this account's other Regions", () => {
  const { template } = synthMain({ targets: ["us-east-1", "arn:aws:iam::444455556666:role/cvpn-terminator-target@us-east-1"], externalId: "s3cr3t-id" });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: {
      Variables: Match.objectLike({
        CVPN_TARGETS: "us-east-1,arn:aws:iam::444455556666:role/cvpn-terminator-target@us-east-1",
        CVPN_EXTERNAL_ID: "s3cr3t-id",
      }),
    },
  });
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  const stmts = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
  const assume = stmts.filter((s) => s.Action === "sts:AssumeRole");
  assert.equal(assume.length, 1);
  assert.equal(str(assume[0].Resource), "arn:aws:iam::*:role/cvpn-terminator-target");
  const terminate = stmts.find((s) => s.Action === "ec2:TerminateClientVpnConnections");
  assert.equal(str(terminate.Resource), "arn:aws:ec2:*:111122223333:client-vpn-endpoint/*");

  const alone = synthMain().template;
  const none = (Object.values(alone.findResources("AWS::IAM::Policy")) as any[]).flatMap((p) => p.Properties.PolicyDocument.Statement);
  assert.ok(!none.some((s) => s.Action === "sts:AssumeRole"));
  alone.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_TARGETS: "", CVPN_EXTERNAL_ID: "" }) },
  });
  assert.throws(() => synthMain({ targets: ["arn:aws:iam::444455556666:role/x"] }), /ROLE_ARN@REGION/);
  assert.throws(() => synthMain({ targetAccountIds: ["4444"] }), /account ID/);
});

test("main: targetAccountIds share the quarantine: BatchGetItem on quarantine# keys by the connect roles only", () => {
  const { template } = synthMain({ targetAccountIds: ["444455556666", "777788889999"] });
  const table = Object.values(template.findResources("AWS::DynamoDB::Table"))[0] as any;
  const statements = table.Properties.ResourcePolicy.PolicyDocument.Statement;
  assert.equal(statements.length, 1);
  const [s] = statements;
  assert.equal(s.Effect, "Allow");
  assert.equal(s.Action, "dynamodb:BatchGetItem");
  assert.equal(s.Resource, "*");
  assert.deepEqual([s.Principal.AWS].flat().map(str).sort(), ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"]);
  assert.equal(str(s.Condition.ArnLike["aws:PrincipalArn"]), "arn:aws:iam::*:role/cvpn-terminator-connect-*");
  assert.deepEqual(s.Condition["ForAllValues:StringLike"], { "dynamodb:LeadingKeys": ["quarantine#*"] });
  // The AWS managed key cannot be shared across accounts: the AWS owned key instead.
  assert.notEqual(table.Properties.SSESpecification?.SSEEnabled, true);

  const alone = Object.values(synthMain().template.findResources("AWS::DynamoDB::Table"))[0] as any;
  assert.equal(alone.Properties.ResourcePolicy, undefined);
  assert.equal(alone.Properties.SSESpecification.SSEEnabled, true);
  // Without quarantine there is nothing for the connect handlers to read.
  const idleOnly = synthMain({ targetAccountIds: ["444455556666"], quarantineMinutes: 0, idleMinutes: 30 }).template;
  assert.equal((Object.values(idleOnly.findResources("AWS::DynamoDB::Table"))[0] as any).Properties.ResourcePolicy, undefined);
});

test("cdk-nag AwsSolutions: no unsuppressed findings, main with targets and every kind of target", () => {
  const stacks = [
    synthMain({ targets: ["us-east-1", "arn:aws:iam::444455556666:role/cvpn-terminator-target@us-east-1"], targetAccountIds: ["444455556666"], externalId: "x" }).stack,
    synthMain({ targets: ["us-east-1"], endpointIds: ["cvpn-endpoint-0a1b2c3d4e5f60718"] }).stack,
    synthMain({ organization: { regions: ["eu-west-1", "us-east-1"] }, externalId: "x" }).stack,
    synthMain({ organization: { regions: ["eu-west-1"], readerRoleArn: "arn:aws:iam::999988887777:role/org-reader" } }).stack,
    synthMain({ organization: { regions: ["eu-west-1"] }, configAggregator: { name: "org-wide" } }).stack,
    synthMain({ organization: { regions: ["eu-west-1"] }, configAggregator: { name: "org", region: "us-east-1", readerRoleArn: "arn:aws:iam::999988887777:role/config-reader" } }).stack,
    synthTarget().stack,
    synthTarget({}, true).stack,
    synthTarget({ externalId: "x", maxConnectionsPerUser: 1, endpointIds: ["cvpn-endpoint-0a1b2c3d4e5f60718"] }).stack,
    synthTarget({ createTargetRole: false }).stack,
    synthTarget({ connectHandler: false }).stack,
  ];
  for (const stack of stacks) {
    assert.deepEqual(nagFindings(stack), []);
  }
});

test("main: targets the function would refuse are refused at synth", () => {
  const role = "arn:aws:iam::444455556666:role/cvpn-terminator-target";
  assert.throws(() => synthMain({ targets: [`${role}@us-east-1`, `${role}@us-east-1`] }), /named twice/);
  assert.throws(() => synthMain({ targets: ["arn:aws:iam::444455556666:role/ops/cvpn-terminator-target@us-east-1"] }), /without a path/);
  assert.throws(() => synthMain({ targets: ["us-east-1"], externalId: "s3cret" }), /no role/);
  synthMain({ targets: ["eu-west-1", `${role}@us-east-1`], externalId: "s3cret" });
});

test("an organization's accounts as the targets: listed through the reader role, kept in the table", () => {
  const organization = { regions: ["eu-west-1", "us-east-1"], units: ["ou-ab12-cd34ef56"], readerRoleArn: "arn:aws:iam::999988887777:role/org-reader" };
  const { template } = synthMain({ quarantineMinutes: 0, organization });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: {
      Variables: Match.objectLike({
        CVPN_ORGANIZATION_REGIONS: "eu-west-1,us-east-1",
        CVPN_ORGANIZATION_UNITS: "ou-ab12-cd34ef56",
        CVPN_ORGANIZATION_ROLE: "arn:aws:iam::999988887777:role/org-reader",
        CVPN_TARGET_ROLE_NAME: "cvpn-terminator-target",
        CVPN_STATE_TABLE: Match.anyValue(),
      }),
    },
  });
  template.resourceCountIs("AWS::DynamoDB::Table", 1);
  const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
  assert.ok(policies.includes("org-reader") && policies.includes("role/cvpn-terminator-target"), policies);
  assert.ok(!policies.includes("organizations:ListAccounts"), "the reader role lists them");
  // Without a reader role, the function's own role lists the organization.
  const own = JSON.stringify(synthMain({ quarantineMinutes: 0, organization: { regions: ["eu-west-1"] } }).template.findResources("AWS::IAM::Policy"));
  assert.ok(own.includes("organizations:ListAccounts"), own);
  assert.throws(() => synthMain({ organization, targets: ["eu-west-1"] }), /one or the other/);
  assert.throws(() => synthMain({ organization: { regions: ["europe"] } }), /Region/);
  assert.throws(() => synthMain({ organization: { regions: ["eu-west-1"], units: ["finance"] } }), /organizational unit/);
  assert.throws(() => synthMain({ organization: { regions: ["eu-west-1", "eu-west-1"] } }), /named twice/);
  assert.throws(() => synthMain({ organization: { regions: ["eu-west-1"], excludedAccounts: ["mgmt"] } }), /account ID/);
});

test("AWS Config's aggregator: asked through its reader role, or here on this account's aggregators", () => {
  const configAggregator = { name: "org", region: "us-east-1", readerRoleArn: "arn:aws:iam::999988887777:role/config-reader" };
  const { template } = synthMain({ organization: { regions: ["eu-west-1"] }, configAggregator });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: {
      Variables: Match.objectLike({
        CVPN_CONFIG_AGGREGATOR: "org@us-east-1",
        CVPN_CONFIG_AGGREGATOR_ROLE: "arn:aws:iam::999988887777:role/config-reader",
      }),
    },
  });
  const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
  assert.ok(policies.includes("config-reader"), policies);
  assert.ok(!policies.includes("config:SelectAggregateResourceConfig"), "the reader role asks");
  const own = synthMain({ organization: { regions: ["eu-west-1"] }, configAggregator: { name: "org-wide" } }).template;
  own.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_CONFIG_AGGREGATOR: "org-wide", CVPN_CONFIG_AGGREGATOR_ROLE: "" }) },
  });
  const ownPolicies = JSON.stringify(own.findResources("AWS::IAM::Policy"));
  assert.ok(ownPolicies.includes("config:SelectAggregateResourceConfig") && ownPolicies.includes("config-aggregator/*"), ownPolicies);
  assert.ok(ownPolicies.includes("config:DescribeConfigurationAggregatorSourcesStatus"), ownPolicies);
  // Without one, nothing of it.
  const none = JSON.stringify(synthMain({ organization: { regions: ["eu-west-1"] } }).template.toJSON());
  assert.ok(!none.includes("SelectAggregateResourceConfig"), "no aggregator, no permission");
  assert.throws(() => synthMain({ configAggregator: { name: "org wide" } }), /aggregator's name/);
  assert.throws(() => synthMain({ configAggregator: { name: "org", region: "mars" } }), /Region/);
  assert.throws(() => synthMain({ configAggregator: { name: "org", readerRoleArn: "reader" } }), /role ARN/);
});
