// A scheduled sweep split by place, as template.yaml's SweepFanOut: a Step Functions Distributed
// Map whose children are the function sweeping a batch of places each. The definition is the
// repository's statemachine/sweep.asl.json, the one file both deployments use; it reads its
// settings from the execution's input, which the schedule rule gives.
import * as path from "path";
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { alarmOnAny } from "./alarms";

/** From dist/lib, where the compiled construct runs, as the code's default path is. */
export const SWEEP_DEFINITION = path.join(__dirname, "../../../statemachine/sweep.asl.json");
/** The Distributed Map's label in the definition: its child executions are named NAME/LABEL:ID. */
const MAP_LABEL = "SweepPlaces";

export interface SweepFanOutProps {
  /** Child executions sweeping at once (1-1000). Keep it below reservedConcurrency, which incidents share. Default: 2. */
  readonly concurrency?: number;
  /**
   * Percentage of children that may still fail after their retries (a place that cannot be
   * reached) before the tick's run stops the others and fails (0-100). Default: 10.
   */
  readonly toleratedFailurePercentage?: number;
  /** Places (ACCOUNT/REGION) one child sweeps, in one invocation (1-1000). Default: 100. */
  readonly placesPerChild?: number;
}

/** The state machine, its alarm, and the target the schedule rule starts it through. */
export interface SweepFanOut {
  readonly stateMachine: sfn.StateMachine;
  /** Raised when a tick's run fails. */
  readonly alarm: cloudwatch.Alarm;
  /** What the schedule rule starts instead of the function, with the tick's time and the settings. */
  readonly target: events.IRuleTarget;
}

/** The settings, checked as the SAM parameters' bounds check them. */
function settings(props: SweepFanOutProps): Record<string, number> {
  const given: Array<[string, number, number, number]> = [
    ["concurrency", props.concurrency ?? 2, 1, 1000],
    ["toleratedFailurePercentage", props.toleratedFailurePercentage ?? 10, 0, 100],
    ["placesPerChild", props.placesPerChild ?? 100, 1, 1000],
  ];
  for (const [name, value, min, max] of given) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`sweepFanOut.${name} ${value} is not a whole number from ${min} to ${max}`);
    }
  }
  return Object.fromEntries(given.map(([name, value]) => [name, value]));
}

/**
 * The Distributed Map starts a child execution per batch (StartExecution on the state machine),
 * follows and stops them (the children's executions, NAME/LABEL:ID), and a redriven tick redrives
 * its failed children; of its own executions it needs nothing. A policy of its own: in the role's default policy,
 * which the state machine depends on, naming the machine would be a circular reference.
 */
function allowChildren(scope: Construct, machine: sfn.StateMachine): iam.Policy {
  const executions = (name: string) =>
    Stack.of(scope).formatArn({
      service: "states",
      resource: "execution",
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  const children = executions(`${machine.stateMachineName}/${MAP_LABEL}:*`);
  return new iam.Policy(scope, "SweepChildren", {
    roles: [machine.role],
    statements: [
      new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [machine.stateMachineArn] }),
      new iam.PolicyStatement({
        actions: ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
        resources: [children],
      }),
    ],
  });
}

/** The state machine whose children are `fn` sweeping some places each, its alarm and the schedule's target. */
export function addSweepFanOut(
  scope: Construct,
  fn: lambda.IFunction,
  props: SweepFanOutProps,
  options: { logRetention?: logs.RetentionDays; alarmTopic?: sns.ITopic },
): SweepFanOut {
  const input = settings(props);
  const logGroup = new logs.LogGroup(scope, "SweepLogs", {
    retention: options.logRetention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stateMachine = new sfn.StateMachine(scope, "Sweep", {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromFile(SWEEP_DEFINITION),
    definitionSubstitutions: { FunctionArn: fn.functionArn },
    // Every event with its data: the places each tick listed, each child's, and why one failed.
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  // The function itself, unqualified (not grantInvoke, which adds its versions and aliases).
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [fn.functionArn] }));
  suppressFindings(stateMachine, allowChildren(scope, stateMachine));
  const alarm = alarmOnAny(
    scope,
    "SweepFailed",
    stateMachine.metricFailed({ period: Duration.minutes(5), statistic: "Sum" }),
    "A sweep split by place failed: the places could not be listed, more children failed than " +
      "toleratedFailurePercentage allows, or the children could not be started.",
    options.alarmTopic,
  );
  new CfnOutput(scope, "SweepStateMachineArn", {
    description: "The state machine each scheduled sweep starts; its executions show each tick's children",
    value: stateMachine.stateMachineArn,
  });
  const target = new targets.SfnStateMachine(stateMachine, {
    input: events.RuleTargetInput.fromObject({ time: events.EventField.time, ...input }),
  });
  return { stateMachine, alarm, target };
}

function suppressFindings(stateMachine: sfn.StateMachine, children: iam.Policy): void {
  NagSuppressions.addResourceSuppressions(
    stateMachine.role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: "The log delivery and X-Ray actions Step Functions needs support no resource-level permissions.",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(children, [
    {
      id: "AwsSolutions-IAM5",
      reason:
        "Executions are named when they start: these are this state machine's Distributed Map's children.",
      appliesTo: [{ regex: "/^Resource::arn:<AWS::Partition>:states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\\d{12}):execution:<[A-Za-z0-9]+\\.Name>\\/SweepPlaces:\\*$/" }],
    },
  ]);
}
