// The construct's options that bring parts of their own: the IdP's ways in, asking a person
// first, signed code.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { ClientVpnTerminator } from "../lib/client-vpn-terminator";
import { codePath, env, synth } from "./synth";

test("the IdP's word: a rule on Okta's partner bus, and a Function URL on a function of its own", () => {
  const bus = "aws.partner/okta.com/example/vpn-log-stream";
  const { template } = synth({
    quarantineMinutes: 0,
    oktaEventBusName: bus,
    idpReleaseOnReactivate: true,
    signal: { jwksUrl: "https://example.okta.com/oauth2/v1/keys", issuer: "https://example.okta.com", audience: "https://vpn.example.com/" },
    signalReservedConcurrency: 3,
  });
  template.hasResourceProperties("AWS::Events::Rule", {
    EventBusName: bus,
    EventPattern: Match.objectLike({
      source: [bus],
      "detail-type": ["SystemLog"],
      detail: { eventType: Match.arrayWith(["user.lifecycle.deactivate", "user.lifecycle.reactivate"]), outcome: { result: ["SUCCESS"] } },
    }),
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_IDP_SOURCES: bus, CVPN_IDP_RELEASE_ON_REACTIVATE: "true", CVPN_SIGNAL_JWKS_URL: Match.absent() }) },
    ReservedConcurrentExecutions: 5,
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_SIGNAL_ISSUER: "https://example.okta.com", CVPN_STATE_TABLE: Match.anyValue() }) },
    ReservedConcurrentExecutions: 3,
  });
  template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE" });
  // The jti of each token is taken once: the table is there even without quarantine.
  template.resourceCountIs("AWS::DynamoDB::Table", 1);
  assert.throws(() => synth({ oktaEventBusName: "aws.partner/okta.com/*/x" }), /oktaEventBusName/);
  assert.throws(() => synth({ signal: { jwksUrl: "http://idp.example.com/keys", issuer: "i", audience: "a" } }), /https/);
});

test("IAM Identity Center: a rule for the named stores' calls, DescribeUser there, and the table", () => {
  const { template } = synth({ quarantineMinutes: 0, identityStoreIds: ["d-1234567890"] });
  template.hasResourceProperties("AWS::Events::Rule", {
    EventBusName: Match.absent(),
    EventPattern: {
      source: ["aws.sso-directory", "aws.identitystore"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: {
        eventName: ["DisableUser", "DeleteUser", "EnableUser"],
        errorCode: [{ exists: false }],
        requestParameters: { identityStoreId: ["d-1234567890"] },
      },
    },
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_IDENTITY_STORE_IDS: "d-1234567890" }) },
  });
  const policies = JSON.stringify(template.findResources("AWS::IAM::Policy"));
  assert.ok(policies.includes("identitystore:DescribeUser") && policies.includes("identitystore:GetUserId"));
  assert.ok(policies.includes("identitystore/d-1234567890"));
  template.resourceCountIs("AWS::DynamoDB::Table", 1);
  assert.throws(() => synth({ identityStoreIds: ["d-*"] }), /identityStoreIds/);
});

test("without the IdP's settings there is no partner rule and no Function URL", () => {
  const { template } = synth();
  template.resourceCountIs("AWS::Lambda::Url", 0);
  const rules = Object.values(template.findResources("AWS::Events::Rule")) as any[];
  assert.ok(rules.every((r) => r.Properties.EventBusName === undefined));
});

test("asking a person first: the settings on the function, the table requests wait in, people told", () => {
  const { template } = synth({
    quarantineMinutes: 0,
    askBelowSeverity: 8.5,
    askUsers: ["ceo", "cfo*"],
    approvalsRequired: 2,
    notificationEmail: "soc@example.com",
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: {
      Variables: Match.objectLike({
        CVPN_ASK_BELOW_SEVERITY: "8.5",
        CVPN_ASK_USERS: "ceo,cfo*",
        CVPN_ASK_OVER_CAP: "false",
        CVPN_ASK_MINUTES: "60",
        CVPN_APPROVALS_REQUIRED: "2",
        CVPN_STATE_TABLE: Match.anyValue(),
      }),
    },
  });
  template.resourceCountIs("AWS::DynamoDB::Table", 1);
  template.hasResourceProperties("AWS::Events::Rule", {
    EventPattern: Match.objectLike({
      "detail-type": Match.arrayWith(["Client VPN Approval Requested", "Client VPN Approval Answered", "Client VPN Approval Expired"]),
    }),
  });
});

test("signed code: every function is held to the code-signing configuration given", () => {
  const stack = new Stack(new App(), "Signed", { env });
  const signing = lambda.CodeSigningConfig.fromCodeSigningConfigArn(
    stack,
    "Signing",
    "arn:aws:lambda:eu-west-1:111122223333:code-signing-config:csc-0123456789abcdef0",
  );
  new ClientVpnTerminator(stack, "Terminator", {
    codePath,
    codeSigningConfig: signing,
    signal: { jwksUrl: "https://example.okta.com/oauth2/v1/keys", issuer: "https://example.okta.com", audience: "https://vpn.example.com/" },
  });
  const functions = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"));
  assert.equal(functions.length, 3);
  for (const f of functions) {
    assert.equal(f.Properties.CodeSigningConfigArn, "arn:aws:lambda:eu-west-1:111122223333:code-signing-config:csc-0123456789abcdef0");
  }
});

test("chat button: each request as a custom notification whose Approve answers it, through a function that takes only that", () => {
  const { template } = synth({ quarantineMinutes: 0, askOverCap: true, chatApprovalButtons: true });
  const actions = Object.values(template.findResources("AWS::Chatbot::CustomAction"));
  assert.equal(actions.length, 1);
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_TAKES: "chat-approvals", CVPN_STATE_TABLE: Match.anyValue() }) },
    ReservedConcurrentExecutions: 2,
  });
  // Only the rule publishes to the chat topic.
  template.hasResourceProperties("AWS::SNS::TopicPolicy", {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: "Deny", Action: "sns:Publish", Condition: { ArnNotEquals: { "aws:SourceArn": Match.anyValue() } } }),
      ]),
    },
  });
  // The notification as EventBridge writes it for a request (each placeholder a JSON string).
  // Any outcome event that made a request, whatever else it did.
  const [rule] = Object.values(
    template.findResources("AWS::Events::Rule", {
      Properties: { EventPattern: { detail: { approval_requests: { id: [{ exists: true }] } } } },
    }),
  );
  const transformer = rule.Properties.Targets[0].InputTransformer;
  const values: Record<string, string> = {
    "$.detail.summary": "asked a person first about 3 sessions of alice",
    "$.detail.reason": "GuardDuty (HIGH)",
    "$.detail.approval_requests[0].approve": "cvpn-terminator approve apr-0123456789abcdef0123",
    "$.detail.approval_requests[0].deny": "cvpn-terminator deny apr-0123456789abcdef0123",
    "$.detail.approval_requests[0].id": "apr-0123456789abcdef0123",
    "$.detail.link": "https://console.aws.amazon.com/",
  };
  let text: string = JSON.stringify(transformer.InputTemplate).includes("Fn::Join")
    ? transformer.InputTemplate["Fn::Join"][1].map((p: unknown) => (typeof p === "string" ? p : "fn-name")).join("")
    : transformer.InputTemplate;
  for (const [name, path] of Object.entries(transformer.InputPathsMap as Record<string, string>)) {
    text = text.split(`<${name}>`).join(JSON.stringify(values[path]));
  }
  const notification = JSON.parse(text);
  assert.equal(notification.source, "custom");
  assert.equal(notification.metadata.enableCustomActions, true);
  const context = notification.metadata.additionalContext;
  assert.equal(context.requestId, "apr-0123456789abcdef0123");
  for (const [action, answer] of [[actions.find((a) => a.Properties.Attachments[0].ButtonText === "Approve"), "Approve"]] as const) {
    assert.ok(action, answer);
    const command: string = action.Properties.Definition.CommandText;
    assert.ok(command.length <= 100, command);
    const variables: Record<string, string> = action.Properties.Attachments[0].Variables;
    let ran = command;
    for (const [name, path] of Object.entries(variables)) {
      const value = path.replace("event.metadata.additionalContext.", "");
      ran = ran.split(`$${name}`).join(context[value]);
    }
    const payload = JSON.parse(ran.split("--payload ")[1]);
    assert.deepEqual(payload, { [answer]: { Request: "apr-0123456789abcdef0123", RequestedBy: "chat" } });
    assert.ok(ran.startsWith("lambda invoke --function-name fn-name "), ran);
  }
  template.hasOutput("*", { Description: Match.stringLikeRegexp("CustomizationResourceArns") });
  assert.throws(() => synth({ chatApprovalButtons: true }), /chatApprovalButtons/);
  assert.throws(() => synth({ askOverCap: true, outcomeBus: "", chatApprovalButtons: true }), /chatApprovalButtons/);
  assert.throws(() => synth({ askOverCap: true, approvalsRequired: 2, chatApprovalButtons: true }), /approvalsRequired 1/);
  synth({ askOverCap: true }).template.resourceCountIs("AWS::Chatbot::CustomAction", 0);
});

test("signed answers: an AWS_IAM URL on a function of its own, invoked by approvers only through it", () => {
  const { template } = synth({ quarantineMinutes: 0, askUsers: ["ceo"], approvalsRequired: 2, approvalUrl: true });
  template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "AWS_IAM" });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_TAKES: "signed-answers", CVPN_APPROVALS_REQUIRED: "2", CVPN_STATE_TABLE: Match.anyValue() }) },
    ReservedConcurrentExecutions: 2,
  });
  // The main function takes no answers over a URL.
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_ASK_USERS: "ceo", CVPN_TAKES: Match.absent() }) },
  });
  const [policy] = Object.values(template.findResources("AWS::IAM::ManagedPolicy")) as any[];
  const invoke = policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Action === "lambda:InvokeFunction");
  assert.deepEqual(
    invoke.map((s: any) => s.Condition),
    [{ Bool: { "lambda:InvokedViaFunctionUrl": "true" } }],
  );
  // Nobody is granted a direct invocation through the function's resource policy.
  assert.deepEqual(Object.keys(template.findResources("AWS::Lambda::Permission", { Properties: { Action: "lambda:InvokeFunction", FunctionName: { "Fn::GetAtt": [Match.stringLikeRegexp("AnswerFunction"), "Arn"] } } })), []);
  assert.throws(() => synth({ approvalUrl: true }), /approvalUrl/);
});

/** A dashboard's body as CloudFormation would make it, each resource it names as <LogicalId>. */
function dashboardBody(template: Template): any {
  const [board] = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as any[];
  const part = (p: any): string =>
    typeof p === "string" ? p
    : p.Ref === "AWS::Region" ? "eu-west-1"
    : p.Ref ? `<${p.Ref}>`
    : `<${p["Fn::GetAtt"][0]}.${p["Fn::GetAtt"][1]}>`;
  const body = board.Properties.DashboardBody;
  return JSON.parse(typeof body === "string" ? body : body["Fn::Join"][1].map(part).join(""));
}

/** Each line a dashboard reads, as "<Function>/Metric/stat", and the alarms it lists. */
function dashboardReads(body: any): { lines: Set<string>; alarms: string[] } {
  const lines = new Set<string>();
  const alarms: string[] = [];
  for (const widget of body.widgets) {
    alarms.push(...(widget.properties.alarms ?? []));
    for (const [namespace, metric, dimension, fn, options] of widget.properties.metrics ?? []) {
      assert.equal(namespace, "CvpnTerminator");
      assert.equal(dimension, "Function");
      lines.add(`${fn}/${metric}/${options?.stat ?? widget.properties.stat ?? "Average"}`); // CloudWatch's default
    }
  }
  return { lines, alarms };
}

test("a dashboard of what each function writes into its log lines, and of the alarms, unless dashboard is false", () => {
  const { template } = synth({
    signal: { jwksUrl: "https://example.okta.com/oauth2/v1/keys", issuer: "https://example.okta.com", audience: "https://vpn.example.com/" },
    askOverCap: true,
    chatApprovalButtons: true,
    approvalUrl: true,
    notificationEmail: "soc@example.com",
  });
  template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  const id = (type: string, props: object = {}) => Object.keys(template.findResources(type, { Properties: props }));
  const [handler] = id("AWS::Lambda::Function", { FunctionName: "AWSClientVPN-Test" });
  const [main] = id("AWS::Lambda::Function", { ReservedConcurrentExecutions: 5, Environment: { Variables: { CVPN_SIGNAL_ISSUER: Match.absent() } } });
  const signal = id("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ CVPN_SIGNAL_ISSUER: Match.anyValue() }) } });
  const takes = (what: string) => id("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ CVPN_TAKES: what }) } });
  const sides = [...signal, ...takes("signed-answers"), ...takes("chat-approvals")];
  assert.equal(sides.length, 3);
  const sessions = ["SessionsEnded", "SessionsDeferred", "SessionsFailed", "HoldsPlaced", "HoldsLifted", "NotificationFailures", "Errors"];
  const wanted = [
    ...[main, ...sides].flatMap((fn) => sessions.map((m) => `<${fn}>/${m}/Sum`)),
    ...["SweepSessionsEnded/Sum", "SweepSessionsDeferred/Sum", "SweepDuration/Maximum", "SweepDuration/Average"].map((m) => `<${main}>/${m}`),
    ...["ConnectAllowed/Sum", "ConnectRefused/Sum", "ConnectCheckFailed/Sum", "ConnectLatency/p50", "ConnectLatency/p99", "Errors/Sum"].map((m) => `<${handler}>/${m}`),
  ];
  const { lines, alarms } = dashboardReads(dashboardBody(template));
  assert.deepEqual([...lines].sort(), wanted.sort());
  assert.deepEqual(alarms.sort(), id("AWS::CloudWatch::Alarm").map((a) => `<${a}.Arn>`).sort());
  template.hasOutput("*", { Value: { Ref: id("AWS::CloudWatch::Dashboard")[0] } });

  // Without quarantine there is no connect handler to read.
  const without = dashboardReads(dashboardBody(synth({ quarantineMinutes: 0 }).template));
  assert.ok([...without.lines].every((line) => !line.includes("/Connect")) && without.lines.size === 11, [...without.lines].join());
  const off = synth({ dashboard: false }).template;
  off.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
  assert.ok(!JSON.stringify(off.toJSON().Outputs ?? {}).includes("Dashboard"));
});
