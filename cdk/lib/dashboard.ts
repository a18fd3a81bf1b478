// The dashboard: what the functions did, from the figures each writes into its own log lines
// (CloudWatch embedded metric format: namespace CvpnTerminator, one dimension, Function, the
// function's name; no PutMetricData, so no permission), beside the construct's alarms. As
// template.yaml's MetricsDashboard.
import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

/** The namespace of the metrics the functions write into their log lines. */
export const METRIC_NAMESPACE = "CvpnTerminator";

/** What the dashboard shows. */
export interface DashboardParts {
  readonly main: lambda.IFunction;
  /** The connect handler, when quarantine is on. */
  readonly connectHandler?: lambda.IFunction;
  /** The functions beside the main one that act on sessions, by the label their lines get. */
  readonly sides: Record<string, lambda.IFunction | undefined>;
  /** The alarms the construct made; those not made are left out. */
  readonly alarms: Array<cloudwatch.IAlarm | undefined>;
}

/** The metric `name` a function writes, summed per 5 minutes unless `statistic` says otherwise. */
export function functionMetric(fn: lambda.IFunction, name: string, label: string, statistic = "Sum"): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { Function: fn.functionName },
    statistic,
    period: Duration.minutes(5),
    label,
  });
}

/** The main function first (its lines unlabelled), then each beside it that exists. */
function acting(parts: DashboardParts): Array<[string, lambda.IFunction]> {
  const sides = Object.entries(parts.sides).filter((side): side is [string, lambda.IFunction] => side[1] !== undefined);
  return [["", parts.main], ...sides];
}

/** The `metrics` ([name, what]) of every function that acts on sessions, "what (which)" each. */
function everyFunction(parts: DashboardParts, metrics: Array<[string, string]>): cloudwatch.Metric[] {
  return acting(parts).flatMap(([which, fn]) =>
    metrics.map(([name, what]) => functionMetric(fn, name, which ? `${what} (${which})` : what)),
  );
}

/** A graph half the dashboard wide, counting from zero. */
function graph(title: string, left: cloudwatch.IMetric[], more: Partial<cloudwatch.GraphWidgetProps> = {}): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, leftYAxis: { min: 0 }, ...more });
}

function introduction(scope: Construct): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({
    width: 12,
    height: 4,
    markdown:
      `## cvpn-terminator (${Stack.of(scope).stackName})\n` +
      "What the functions of this stack did, per 5 minutes: sessions ended, deferred and failed; users held and " +
      "released; the connect handler's answers and how long they took; the scheduled sweeps; notifications not " +
      "sent and errors. The figures come from the functions' own log lines (embedded metric format, namespace " +
      `${METRIC_NAMESPACE}, dimension Function): a line shows once a function has written it, and a gap means nothing to count.`,
  });
}

function connectWidgets(handler: lambda.IFunction): cloudwatch.IWidget[] {
  const decisions = [
    functionMetric(handler, "ConnectAllowed", "allowed"),
    functionMetric(handler, "ConnectRefused", "refused"),
    functionMetric(handler, "ConnectCheckFailed", "check failed (connectOnError decided)"),
  ];
  const latency = ["p50", "p99"].map((p) => functionMetric(handler, "ConnectLatency", p, p));
  const ms = { min: 0, label: "ms", showUnits: false };
  return [
    graph("Connect handler: answers", decisions, { stacked: true }),
    graph("Connect handler: time to answer", latency, { leftYAxis: ms }),
  ];
}

function sweeps(main: lambda.IFunction): cloudwatch.IWidget {
  return graph(
    "Sweeps: sessions ended and deferred, duration",
    [functionMetric(main, "SweepSessionsEnded", "ended"), functionMetric(main, "SweepSessionsDeferred", "deferred to the next sweep")],
    {
      right: [
        functionMetric(main, "SweepDuration", "duration, longest", "Maximum"),
        functionMetric(main, "SweepDuration", "duration, average", "Average"),
      ],
      leftYAxis: { min: 0, label: "sessions", showUnits: false },
      rightYAxis: { min: 0, label: "ms", showUnits: false },
    },
  );
}

/** Notifications not sent by each function that sends them, and every function's errors. */
function failures(parts: DashboardParts): cloudwatch.Metric[] {
  const handler = parts.connectHandler ? [functionMetric(parts.connectHandler, "Errors", "errors (connect handler)")] : [];
  return [...everyFunction(parts, [["NotificationFailures", "notifications not sent"], ["Errors", "errors"]]), ...handler];
}

/** The dashboard of `parts`, and an output naming it. */
export function addDashboard(scope: Construct, parts: DashboardParts): cloudwatch.Dashboard {
  const alarms = parts.alarms.filter((alarm): alarm is cloudwatch.IAlarm => alarm !== undefined);
  const dashboard = new cloudwatch.Dashboard(scope, "Dashboard");
  dashboard.addWidgets(
    introduction(scope),
    new cloudwatch.AlarmStatusWidget({
      title: "Alarms",
      alarms,
      width: 12,
      height: 4,
      sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
    }),
  );
  dashboard.addWidgets(
    graph("Sessions ended, deferred and failed", everyFunction(parts, [["SessionsEnded", "ended"], ["SessionsDeferred", "deferred"], ["SessionsFailed", "failed"]])),
    graph("Holds placed and lifted", everyFunction(parts, [["HoldsPlaced", "placed"], ["HoldsLifted", "lifted"]])),
  );
  if (parts.connectHandler) {
    dashboard.addWidgets(...connectWidgets(parts.connectHandler));
  }
  dashboard.addWidgets(sweeps(parts.main), graph("Notifications not sent, and errors", failures(parts)));
  new CfnOutput(scope, "DashboardName", {
    description: "The CloudWatch dashboard (CloudWatch, Dashboards)",
    value: dashboard.dashboardName,
  });
  return dashboard;
}
