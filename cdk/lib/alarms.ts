// Alarms on any one occurrence, and the log lines they count: the function's errors, a
// notification that could not be sent, a connect handler that could not read the quarantine.
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";

/** An alarm on any one of `metric`, sent to `topic`; quiet when nothing happens. */
export function alarmOnAny(
  scope: Construct,
  id: string,
  metric: cloudwatch.Metric,
  description: string,
  topic?: sns.ITopic,
): cloudwatch.Alarm {
  const alarm = metric.createAlarm(scope, id, {
    alarmDescription: description,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (topic) {
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
  }
  return alarm;
}

/** The log lines of `event` in `logGroup` counted as the metric `name`, and an alarm on any. */
export function alarmOnLogEvent(
  scope: Construct,
  logGroup: logs.ILogGroup,
  event: string,
  name: string,
  ids: { filter: string; alarm: string },
  period: Duration,
  description: string,
  topic?: sns.ITopic,
): cloudwatch.Alarm {
  const lines = new logs.MetricFilter(scope, ids.filter, {
    logGroup,
    filterPattern: logs.FilterPattern.stringValue("$.event", "=", event),
    metricNamespace: "cvpn-terminator",
    metricName: name,
    metricValue: "1",
    defaultValue: 0,
  });
  return alarmOnAny(scope, ids.alarm, lines.metric({ period, statistic: "Sum" }), description, topic);
}
