import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import { ClientVpnTerminatorProps } from "../lib/client-vpn-terminator";
import { SWEEP_DEFINITION } from "../lib/sweep-fan-out";
import { nagFindings, synth } from "./synth";

const schedule = events.Schedule.rate(Duration.minutes(15));
// Neither idle tracking nor quarantine: the table comes from the split alone.
const fanOut: ClientVpnTerminatorProps = { quarantineMinutes: 0, schedule, sweepFanOut: {} };

/** A value as a string, with the partition and the resources' attributes as <LogicalId.Attr>. */
function str(value: any): string {
  if (typeof value === "string") return value;
  if (value.Ref === "AWS::Partition") return "aws";
  if (value.Ref) return `<${value.Ref}>`;
  if (value["Fn::GetAtt"]) return `<${value["Fn::GetAtt"].join(".")}>`;
  if (value["Fn::Join"]) return value["Fn::Join"][1].map(str).join(value["Fn::Join"][0]);
  throw new Error(`unexpected form ${JSON.stringify(value)}`);
}

function only(template: Template, type: string): [string, any] {
  const found = Object.entries(template.findResources(type));
  assert.equal(found.length, 1, `one ${type}`);
  return found[0];
}

/** Every statement of the policies attached to the role `roleId`, with their resources as strings. */
function roleStatements(template: Template, roleId: string): Array<{ actions: string[]; resources: string[] }> {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as any[];
  return policies
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .map((s) => ({ actions: [s.Action].flat(), resources: [s.Resource].flat().map(str) }));
}

/** The fields of the execution's input the definition reads (`$.name` outside the Map's children). */
function inputFieldsRead(definition: any): string[] {
  const [lister, sweep] = Object.values(definition.States) as any[];
  const paths = [
    ...Object.values(lister.Parameters.Payload.Places),
    sweep.MaxConcurrencyPath,
    sweep.ToleratedFailurePercentagePath,
    sweep.ItemBatcher.MaxItemsPerBatchPath,
  ] as string[];
  return paths.map((p) => p.replace(/^\$\./, "")).sort();
}

test("sweep fan-out: the repository's definition file, the function's ARN substituted, STANDARD, logged and traced", () => {
  const { template } = synth(fanOut);
  assert.equal(SWEEP_DEFINITION, path.resolve(__dirname, "../../../statemachine/sweep.asl.json"));
  const definition = fs.readFileSync(SWEEP_DEFINITION, "utf8");
  assert.deepEqual([...new Set(definition.match(/\$\{\w+\}/g))], ["${FunctionArn}"]);
  const [, machine] = only(template, "AWS::StepFunctions::StateMachine");
  const [fn] = Object.keys(template.findResources("AWS::Lambda::Function"));
  const [logs] = Object.keys(template.findResources("AWS::Logs::LogGroup", { Properties: { RetentionInDays: 365 } })).filter((id) => /Sweep/.test(id));
  assert.ok(machine.Properties.DefinitionS3Location, "the file, as an asset");
  assert.deepEqual(machine.Properties.DefinitionSubstitutions, { FunctionArn: { "Fn::GetAtt": [fn, "Arn"] } });
  assert.equal(machine.Properties.StateMachineType, "STANDARD");
  assert.deepEqual(machine.Properties.LoggingConfiguration, {
    Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [logs, "Arn"] } } }],
    IncludeExecutionData: true,
    Level: "ALL",
  });
  assert.deepEqual(machine.Properties.TracingConfiguration, { Enabled: true });
});

test("sweep fan-out: the schedule starts the state machine with the tick's time and the settings the definition reads", () => {
  const { template } = synth({ ...fanOut, sweepFanOut: { concurrency: 3, toleratedFailurePercentage: 0, placesPerChild: 250 } });
  const [machineId] = only(template, "AWS::StepFunctions::StateMachine");
  const rules = Object.values(template.findResources("AWS::Events::Rule")) as any[];
  const [target] = rules.find((r) => r.Properties.ScheduleExpression === "rate(15 minutes)").Properties.Targets;
  assert.deepEqual(target.Arn, { Ref: machineId });
  assert.ok(target.RoleArn, "started through a role of its own");
  assert.deepEqual(target.InputTransformer.InputPathsMap, { time: "$.time" });
  const input = JSON.parse(target.InputTransformer.InputTemplate.replace("<time>", '"2026-11-22T09:15:00Z"'));
  assert.deepEqual(input, { time: "2026-11-22T09:15:00Z", concurrency: 3, toleratedFailurePercentage: 0, placesPerChild: 250 });
  const definition = JSON.parse(fs.readFileSync(SWEEP_DEFINITION, "utf8"));
  assert.deepEqual(inputFieldsRead(definition), Object.keys(input).sort());
  // The function is no longer the schedule's: only GuardDuty's and the custom action's rules may invoke it.
  template.resourceCountIs("AWS::Lambda::Permission", 2);
  const defaults = synth(fanOut).template.toJSON();
  assert.match(JSON.stringify(defaults), /\\"concurrency\\":2,\\"toleratedFailurePercentage\\":10,\\"placesPerChild\\":100/);
});

test("sweep fan-out: the role invokes the function, and starts, follows, stops and redrives its own executions only", () => {
  const { template } = synth(fanOut);
  const [machineId, machine] = only(template, "AWS::StepFunctions::StateMachine");
  const roleId = machine.Properties.RoleArn["Fn::GetAtt"][0];
  const [fn] = Object.keys(template.findResources("AWS::Lambda::Function"));
  const stmts = roleStatements(template, roleId);
  const on = (action: string) => stmts.filter((s) => s.actions.includes(action)).flatMap((s) => s.resources);
  const executions = `arn:aws:states:eu-west-1:111122223333:execution:<${machineId}.Name>`;
  assert.deepEqual(on("lambda:InvokeFunction"), [`<${fn}.Arn>`]);
  assert.deepEqual(on("states:StartExecution"), [`<${machineId}>`]);
  assert.deepEqual(on("states:DescribeExecution"), [`${executions}/SweepPlaces:*`]);
  assert.deepEqual(on("states:StopExecution"), [`${executions}/SweepPlaces:*`]);
  assert.deepEqual(on("states:RedriveExecution"), [`${executions}/SweepPlaces:*`]);
  const starred = stmts.filter((s) => s.resources.includes("*")).flatMap((s) => s.actions);
  assert.ok(starred.every((a) => /^(logs|xray):/.test(a)), starred.join());
  assert.ok(stmts.every((s) => s.actions.every((a) => !a.includes("*"))));
});

test("sweep fan-out brings the state table, through which a tick's children share its ceiling", () => {
  const { template } = synth(fanOut);
  template.resourceCountIs("AWS::DynamoDB::Table", 1);
  template.hasResourceProperties("AWS::Lambda::Function", {
    Environment: { Variables: Match.objectLike({ CVPN_STATE_TABLE: { Ref: Match.anyValue() } }) },
  });
  const without = synth({ quarantineMinutes: 0, schedule }).template;
  without.resourceCountIs("AWS::StepFunctions::StateMachine", 0);
  without.resourceCountIs("AWS::DynamoDB::Table", 0);
});

test("sweep fan-out: an alarm on a failed run, on the dashboard; settings out of range refused", () => {
  const { template } = synth({ ...fanOut, dashboard: true });
  const [machineId] = only(template, "AWS::StepFunctions::StateMachine");
  const alarms = template.findResources("AWS::CloudWatch::Alarm", {
    Properties: { Namespace: "AWS/States", MetricName: "ExecutionsFailed", Dimensions: [{ Name: "StateMachineArn", Value: { Ref: machineId } }] },
  });
  assert.equal(Object.keys(alarms).length, 1);
  const [, dashboard] = only(template, "AWS::CloudWatch::Dashboard");
  assert.ok(JSON.stringify(dashboard.Properties.DashboardBody).includes(Object.keys(alarms)[0]));
  for (const bad of [{ concurrency: 0 }, { concurrency: 1.5 }, { toleratedFailurePercentage: 101 }, { placesPerChild: 0 }, { placesPerChild: 1001 }]) {
    assert.throws(() => synth({ ...fanOut, sweepFanOut: bad }), /sweepFanOut\.\w+ .* is not a whole number/);
  }
});

test("sweep fan-out: cdk-nag AwsSolutions, no unsuppressed findings", () => {
  const cases: Array<[ClientVpnTerminatorProps, boolean]> = [
    [fanOut, false],
    [fanOut, true],
    [{ sweepFanOut: { concurrency: 4 }, idleMinutes: 30, schedule, organization: { regions: ["eu-west-1", "us-east-1"] } }, false],
    [{ sweepFanOut: {} }, true],
  ];
  for (const [props, agnostic] of cases) {
    const { stack } = synth(props, agnostic);
    assert.deepEqual(nagFindings(stack), []);
  }
});
