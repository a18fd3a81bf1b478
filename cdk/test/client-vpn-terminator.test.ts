import { test } from "node:test";
import * as assert from "node:assert/strict";
import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { ClientVpnTerminatorProps } from "../lib/client-vpn-terminator";
import { nagFindings, synth } from "./synth";

/** A resource ARN as a string, with the partition token read as `aws`. */
function arn(value: any): string {
  if (typeof value === "string") return value;
  if (value.Ref === "AWS::Partition") return "aws";
  if (value["Fn::Join"]) return value["Fn::Join"][1].map(arn).join(value["Fn::Join"][0]);
  throw new Error(`unexpected ARN form ${JSON.stringify(value)}`);
}

function terminateStatement(template: Template): any {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
  const terminate = statements.filter((s) => [s.Action].flat().includes("ec2:TerminateClientVpnConnections"));
  assert.equal(terminate.length, 1);
  return terminate[0];
}

test("the function: arm64, provided.al2023, JSON logs, dry run by default", () => {
  const { template } = synth();
  template.hasResourceProperties("AWS::Lambda::Function", {
    Runtime: "provided.al2023",
    Architectures: ["arm64"],
    Handler: "bootstrap",
    LoggingConfig: Match.objectLike({ LogFormat: "JSON", ApplicationLogLevel: "INFO" }),
    Environment: { Variables: Match.objectLike({ CVPN_DRY_RUN: "true", CVPN_MAX_TERMINATIONS: "10" }) },
  });
  template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 365 });
});

test("default triggers: GuardDuty with a severity floor and the custom action; no schedule", () => {
  const { template } = synth();
  template.hasResourceProperties("AWS::Events::Rule", {
    EventPattern: { source: ["aws.guardduty"], "detail-type": ["GuardDuty Finding"], detail: { severity: [{ numeric: [">=", 7] }] } },
  });
  template.resourceCountIs("AWS::SecurityHub::ActionTarget", 1);
  template.hasResourceProperties("AWS::Events::Rule", {
    EventPattern: Match.objectLike({ "detail-type": ["Security Hub Findings - Custom Action"] }),
  });
  template.resourceCountIs("AWS::Events::Rule", 2);
  template.resourceCountIs("AWS::Lambda::Permission", 2);
});

test("every trigger when asked for", () => {
  const { template } = synth({
    securityHubImported: true,
    securityHubOcsf: true,
    schedule: events.Schedule.rate(Duration.minutes(5)),
  });
  template.resourceCountIs("AWS::Events::Rule", 5);
  template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(5 minutes)" });
  template.hasResourceProperties("AWS::Events::Rule", {
    EventPattern: {
      source: ["aws.securityhub"],
      "detail-type": ["Security Hub Findings - Imported"],
      detail: { findings: { Severity: { Label: ["HIGH", "CRITICAL"] }, Workflow: { Status: ["NEW", "NOTIFIED"] }, RecordState: ["ACTIVE"] } },
    },
  });
  template.hasResourceProperties("AWS::Events::Rule", {
    EventPattern: Match.objectLike({ "detail-type": ["Findings Imported V2"] }),
  });
});

test("Terminate is scoped to the Region's endpoints, or to the listed ones, never *", () => {
  const everywhere = terminateStatement(synth().template);
  assert.equal(arn(everywhere.Resource), "arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/*");

  const listed = terminateStatement(
    synth({ endpointIds: ["cvpn-endpoint-0a1b2c3d4e5f60718", "cvpn-endpoint-0b1c2d3e4f5a60719"] }).template,
  );
  assert.deepEqual(listed.Resource.map(arn), [
    "arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/cvpn-endpoint-0a1b2c3d4e5f60718",
    "arn:aws:ec2:eu-west-1:111122223333:client-vpn-endpoint/cvpn-endpoint-0b1c2d3e4f5a60719",
  ]);
});

test("the idle policy brings the state table: TTL, PITR, encryption, and access to it only", () => {
  const { template } = synth({ idleMinutes: 60, quarantineMinutes: 0, schedule: events.Schedule.rate(Duration.minutes(15)) });
  template.hasResourceProperties("AWS::DynamoDB::Table", {
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
    TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_IDLE_MINUTES: "60", CVPN_STATE_TABLE: { Ref: Match.anyValue() } }) },
  });
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  const dynamo = policies
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => JSON.stringify(s.Action).includes("dynamodb:"));
  assert.equal(dynamo.length, 1);
  assert.deepEqual([dynamo[0].Action].flat().sort(), [
    "dynamodb:BatchGetItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
  ]);
  assert.match(JSON.stringify(dynamo[0].Resource), /StateTable/);
});

test("without the idle policy or quarantine there is no table and no connect handler", () => {
  const { template } = synth({ quarantineMinutes: 0 });
  template.resourceCountIs("AWS::DynamoDB::Table", 0);
  template.resourceCountIs("AWS::Lambda::Function", 1);
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_STATE_TABLE: "", CVPN_QUARANTINE_MINUTES: "0", CVPN_CONNECT_HANDLER_ARN: "" }) },
  });
});

function statementsOf(template: Template, rolePattern: RegExp): any[] {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  return policies
    .filter((p) => p.Properties.Roles.some((r: any) => rolePattern.test(JSON.stringify(r))))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

test("quarantine (the default) brings the connect handler: AWSClientVPN- name, read-only on holds, alarm", () => {
  const { template } = synth({ maxConnectionsPerUser: 1, connectHandlerProvisionedConcurrency: 2, denyMessage: "Call the SOC" });
  template.hasResourceProperties("AWS::Lambda::Function", {
    FunctionName: "AWSClientVPN-Test",
    Timeout: 29,
    Environment: {
      Variables: Match.objectLike({
        CVPN_STATE_TABLE: { Ref: Match.anyValue() },
        CVPN_DENY_MESSAGE: "Call the SOC",
        CVPN_CONNECT_ON_ERROR: "allow",
        CVPN_CONNECT_TIMEOUT_MS: "2000",
        CVPN_MAX_CONNECTIONS_PER_USER: "1",
      }),
    },
  });
  template.hasResourceProperties("AWS::Lambda::Alias", {
    Name: "live",
    ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
  });
  // The incident function knows the handler, and may place and release holds.
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_QUARANTINE_MINUTES: "1440", CVPN_CONNECT_HANDLER_ARN: { Ref: Match.anyValue() } }) },
  });
  const handler = statementsOf(template, /ConnectHandlerRole/);
  const actions = handler.flatMap((s) => [s.Action].flat());
  assert.deepEqual(
    actions.filter((a) => !a.startsWith("logs:")).sort(),
    ["dynamodb:BatchGetItem", "ec2:DescribeClientVpnConnections"],
  );
  const read = handler.find((s) => s.Action === "dynamodb:BatchGetItem");
  assert.deepEqual(read.Condition, { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["quarantine#*"] } });
  // Client VPN's service-linked role invokes it: no resource-based permission.
  template.resourceCountIs("AWS::Lambda::Permission", 2);
  template.hasResourceProperties("AWS::Logs::MetricFilter", {
    FilterPattern: '{ $.event = "quarantine_check_failed" }',
    MetricTransformations: [Match.objectLike({ MetricName: "QuarantineCheckFailed" })],
  });
  template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "QuarantineCheckFailed", Threshold: 1 });
  const outputs = template.findOutputs("*");
  assert.match(JSON.stringify(outputs), /modify-client-vpn-endpoint/);
});

test("settings the connect handler would refuse are refused at synth", () => {
  assert.throws(() => synth({ connectHandlerName: "cvpn-connect" }), /AWSClientVPN-/);
  assert.throws(() => synth({ connectHandlerName: `AWSClientVPN-${"x".repeat(52)}` }), /64 characters/);
  assert.throws(() => synth({ connectTimeout: Duration.seconds(30) }), /connectTimeout/);
  assert.throws(() => synth({ maxConnectionsPerUser: 0 }), /maxConnectionsPerUser/);
  assert.throws(() => synth({ denyMessage: "Suspended.\nCall the SOC" }), /denyMessage/);
});

test("failed async invocations go to an encrypted queue; errors raise an alarm", () => {
  const { template } = synth();
  template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 3600,
    DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [Match.stringLikeRegexp("FailureQueue"), "Arn"] } } },
  });
  template.hasResourceProperties("AWS::SQS::Queue", { KmsMasterKeyId: "alias/aws/sqs" });
  template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Errors", Namespace: "AWS/Lambda", Threshold: 1 });
});

test("a log level that would drop the ended sessions' lines is refused", () => {
  assert.throws(() => synth({ logLevel: lambda.ApplicationLogLevel.WARN }), /logLevel WARN/);
  const { template } = synth({ logLevel: lambda.ApplicationLogLevel.DEBUG });
  template.hasResourceProperties("AWS::Lambda::Function", {
    LoggingConfig: Match.objectLike({ ApplicationLogLevel: "DEBUG" }),
  });
});

test("cdk-nag AwsSolutions: no unsuppressed findings", () => {
  const everything = {
    idleMinutes: 30,
    securityHubImported: true,
    securityHubOcsf: true,
    schedule: events.Schedule.rate(Duration.minutes(5)),
    notificationEmail: "soc@example.com",
    securityHubNotes: true,
    oktaEventBusName: "aws.partner/okta.com/example/vpn-log-stream",
    identityStoreIds: ["d-1234567890"],
    signal: { jwksUrl: "https://example.okta.com/oauth2/v1/keys", issuer: "https://example.okta.com", audience: "https://vpn.example.com/" },
    askOverCap: true,
    chatApprovalButtons: true,
    approvalUrl: true,
  };
  const cases: Array<[ClientVpnTerminatorProps, boolean]> = [
    [{}, false],
    [{}, true],
    [everything, false],
    [everything, true],
    [{ ...everything, endpointIds: ["cvpn-endpoint-0a1b2c3d4e5f60718"] }, true],
    [{ maxConnectionsPerUser: 2, connectHandlerProvisionedConcurrency: 1 }, false],
    [{ quarantineMinutes: 0 }, false],
  ];
  for (const [props, agnostic] of cases) {
    const { stack } = synth(props, agnostic);
    assert.deepEqual(nagFindings(stack), []);
  }
});

function statements(template: Template): any[] {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
}

test("notifications: outcome events on the default bus, notes on findings, an alarm when either fails", () => {
  const { template } = synth();
  const all = statements(template);
  const put = all.filter((s) => s.Action === "events:PutEvents");
  assert.equal(put.length, 1);
  assert.deepEqual(put[0].Condition, { StringEquals: { "events:source": "cvpn-terminator" } });
  assert.match(arn(put[0].Resource), /^arn:aws:events:eu-west-1:111122223333:event-bus\/default$/);
  const notes = all.filter((s) => s.Action === "securityhub:BatchUpdateFindings");
  const allowed = notes.filter((s) => s.Effect === "Allow");
  assert.equal(allowed.length, 1);
  assert.match(arn(allowed[0].Resource), /^arn:aws:securityhub:eu-west-1:111122223333:hub\/default$/);
  // A GuardDuty copy's note is read before ours is added beside it.
  const reads = all.filter((s) => s.Action === "securityhub:GetFindings");
  assert.equal(reads.length, 1);
  assert.match(arn(reads[0].Resource), /^arn:aws:securityhub:eu-west-1:111122223333:hub\/default$/);
  const denied = notes.filter((s) => s.Effect === "Deny").flatMap((s) => Object.keys(s.Condition.Null ?? {}));
  for (const field of ["Confidence", "Criticality", "RelatedFindings", "Severity.Label", "Types", "UserDefinedFields.key", "UserDefinedFields.value", "VerificationState"]) {
    assert.ok(denied.includes(`securityhub:ASFFSyntaxPath/${field}`), field);
  }
  assert.ok(
    notes.some((s) => s.Condition?.StringNotEquals?.["securityhub:ASFFSyntaxPath/Workflow.Status"] === "NOTIFIED"),
  );
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: {
      Variables: Match.objectLike({
        CVPN_OUTCOME_BUS: "default",
        CVPN_FINDING_NOTES: "true",
        CVPN_FINDING_WORKFLOW: "NOTIFIED",
        CVPN_SECURITYHUB_NOTES: "false",
      }),
    },
  });
  template.hasResourceProperties("AWS::Logs::MetricFilter", { FilterPattern: '{ $.event = "notification_failed" }' });
  template.resourceCountIs("AWS::SNS::Topic", 0);
});

test("notifications: an email gets one short message per outcome through an encrypted topic", () => {
  const { template } = synth({ notificationEmail: "soc@example.com", findingWorkflow: "RESOLVED" });
  template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "soc@example.com" });
  template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
  const rules = Object.values(template.findResources("AWS::Events::Rule")) as any[];
  const outcome = rules.find((r) => r.Properties.EventPattern?.source?.[0] === "cvpn-terminator");
  assert.ok(outcome);
  assert.equal(outcome.Properties.EventPattern["detail-type"].length, 7);
  const transformer = outcome.Properties.Targets[0].InputTransformer;
  assert.deepEqual(
    Object.values(transformer.InputPathsMap).sort(),
    ["$.detail-type", "$.detail.account", "$.detail.link", "$.detail.reason", "$.detail.region", "$.detail.summary"],
  );
  assert.match(transformer.InputTemplate, /in account <.+> \(<.+>\): <.+>\. Why: <.+>\. See <.+>/);
  // Published through the rule's own role, not as the events service principal any rule could be.
  assert.ok(outcome.Properties.Targets[0].RoleArn);
  const topicPolicies = Object.values(template.findResources("AWS::SNS::TopicPolicy")) as any[];
  const allowed = topicPolicies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Effect === "Allow");
  assert.ok(!allowed.some((s: any) => JSON.stringify(s.Principal).includes("events.amazonaws.com")));
  template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "FailedInvocations", Namespace: "AWS/Events" });
  assert.ok(
    statements(template).some((s) => s.Condition?.StringNotEquals?.["securityhub:ASFFSyntaxPath/Workflow.Status"] === "RESOLVED"),
  );
});

test("notifications: each channel can be turned off", () => {
  const { template } = synth({ outcomeBus: "", findingNotes: false });
  const actions = statements(template).map((s) => s.Action);
  assert.ok(!actions.includes("events:PutEvents") && !actions.includes("securityhub:BatchUpdateFindings"));
  template.resourceCountIs("AWS::SNS::Topic", 0);
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_OUTCOME_BUS: "", CVPN_FINDING_NOTES: "false" }) },
  });
  assert.throws(() => synth({ outcomeBus: "arn:aws:events:eu-west-1:111122223333:event-bus/x" }), /outcomeBus/);
  assert.throws(() => synth({ outcomeBus: "", notificationEmail: "soc@example.com" }), /outcomeBus is empty/);
});
