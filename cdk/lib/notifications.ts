// Notifications people what the function did: its outcome events (PutEvents to one bus), notes on the
// Security Hub findings it acted on (BatchUpdateFindings, note and workflow status only), an alarm
// when either fails, and an optional topic fed one short message per outcome.
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { alarmOnAny, alarmOnLogEvent } from "./alarms";

export interface NotificationProps {
  /** The bus outcome events go to, by name, in this account and Region. Default: "default"; "" sends none. */
  readonly outcomeBus?: string;
  /** Subscribed by email to the notifications topic. */
  readonly notificationEmail?: string;
  /** Create the notifications topic without an email (for AWS Chatbot / Slack). Default: false. */
  readonly notificationTopic?: boolean;
  /** Note the Security Hub findings acted on. Default: true. */
  readonly findingNotes?: boolean;
  /** The workflow status a fully acted-on finding moves to. Default: NOTIFIED. */
  readonly findingWorkflow?: "none" | "NOTIFIED" | "RESOLVED";
  /** Also note GuardDuty findings, on their copies in Security Hub. Default: false. */
  readonly securityHubNotes?: boolean;
}

/** The kinds of outcome event, as `detail-type`. */
export const OUTCOME_TYPES = [
  "Client VPN Sessions Terminated",
  "Client VPN Termination Failed",
  "Client VPN Sweep Completed",
  "Client VPN Quarantine Changed",
  "Client VPN Approval Requested",
  "Client VPN Approval Answered",
  "Client VPN Approval Expired",
];

/**
 * Fields of BatchUpdateFindings the function never sets (UserDefinedFields are analysts' evidence);
 * map and object fields appear as their parts (UserDefinedFields.key, Severity.Label), so both
 * forms are denied.
 */
const UNTOUCHED = [
  "Confidence",
  "Criticality",
  "RelatedFindings",
  "Severity",
  "Severity.Label",
  "Severity.Normalized",
  "Severity.Product",
  "Types",
  "UserDefinedFields",
  "UserDefinedFields.key",
  "UserDefinedFields.value",
  "VerificationState",
];

export interface Notifications {
  environment: Record<string, string>;
  alarm: cloudwatch.Alarm;
  topic?: sns.Topic;
  /** Raised when EventBridge cannot deliver to the topic. */
  deliveryAlarm?: cloudwatch.Alarm;
}

export function addNotifications(
  scope: Construct,
  props: NotificationProps,
  role: iam.Role,
  logGroup: logs.LogGroup,
  alarmTopic?: sns.ITopic,
): Notifications {
  const stack = Stack.of(scope);
  const bus = props.outcomeBus ?? "default";
  if (!/^[A-Za-z0-9._\/-]{0,256}$/.test(bus)) {
    throw new Error(`outcomeBus ${bus} is not an event bus name in this account and Region`);
  }
  if (bus === "" && (props.notificationEmail || props.notificationTopic)) {
    throw new Error("notificationEmail and notificationTopic need outcome events: outcomeBus is empty");
  }
  const workflow = props.findingWorkflow ?? "NOTIFIED";
  const notes = props.findingNotes ?? true;
  if (bus !== "") {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["events:PutEvents"],
        resources: [stack.formatArn({ service: "events", resource: "event-bus", resourceName: bus })],
        conditions: { StringEquals: { "events:source": "cvpn-terminator" } },
      }),
    );
  }
  if (notes) {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["securityhub:BatchUpdateFindings"],
        resources: [stack.formatArn({ service: "securityhub", resource: "hub", resourceName: "default" })],
      }),
    );
    // Reading a GuardDuty finding's Security Hub copy first, so that a person's note on it is
    // kept (its event does not show the note).
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["securityhub:GetFindings"],
        resources: [stack.formatArn({ service: "securityhub", resource: "hub", resourceName: "default" })],
      }),
    );
    const deny = (conditions: Record<string, Record<string, string>>) =>
      role.addToPolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ["securityhub:BatchUpdateFindings"],
          resources: ["*"],
          conditions,
        }),
      );
    for (const field of UNTOUCHED) {
      deny({ Null: { [`securityhub:ASFFSyntaxPath/${field}`]: "false" } });
    }
    deny({
      Null: { "securityhub:ASFFSyntaxPath/Workflow.Status": "false" },
      StringNotEquals: { "securityhub:ASFFSyntaxPath/Workflow.Status": workflow },
    });
    deny({
      Null: { "securityhub:ASFFSyntaxPath/Note.UpdatedBy": "false" },
      StringNotEquals: { "securityhub:ASFFSyntaxPath/Note.UpdatedBy": "cvpn-terminator" },
    });
  }

  // Any one in five minutes; quiet when there is nothing to tell.
  const alarm = alarmOnLogEvent(
    scope,
    logGroup,
    "notification_failed",
    "NotificationFailed",
    { filter: "NotificationFailed", alarm: "NotificationAlarm" },
    Duration.minutes(5),
    "An outcome event or a note on a finding could not be sent; what was done stands, but people were not told",
    alarmTopic,
  );

  let topic: sns.Topic | undefined;
  let deliveryAlarm: cloudwatch.Alarm | undefined;
  if (bus !== "" && (props.notificationTopic || props.notificationEmail)) {
    // A key of our own: EventBridge cannot publish to a topic under the AWS managed SNS key. The
    // rule publishes through a role of its own (topic and key granted to it alone), not as the
    // events service principal, which any rule could be.
    const key = new kms.Key(scope, "NotificationKey", {
      description: "Encrypts the cvpn-terminator notifications topic; EventBridge may use it to publish",
      enableKeyRotation: true,
    });
    topic = new sns.Topic(scope, "NotificationTopic", {
      displayName: "Client VPN sessions ended",
      masterKey: key,
      enforceSSL: true,
    });
    if (props.notificationEmail) {
      topic.addSubscription(new subscriptions.EmailSubscription(props.notificationEmail));
    }
    const rule = new events.Rule(scope, "OutcomeRule", {
      description: "cvpn-terminator outcome events, as one short message each",
      eventBus: events.EventBus.fromEventBusName(scope, "OutcomeBus", bus),
      eventPattern: { source: ["cvpn-terminator"], account: [stack.account], detailType: OUTCOME_TYPES },
      targets: [
        new targets.SnsTopic(topic, {
          authorizeUsingRole: true,
          message: events.RuleTargetInput.fromText(
            `${events.EventField.fromPath("$.detail-type")} in account ${events.EventField.fromPath("$.detail.account")} ` +
              `(${events.EventField.fromPath("$.detail.region")}): ${events.EventField.fromPath("$.detail.summary")}. ` +
              `Why: ${events.EventField.fromPath("$.detail.reason")}. See ${events.EventField.fromPath("$.detail.link")}`,
          ),
        }),
      ],
    });
    NagSuppressions.addResourceSuppressions(
      rule,
      [
        {
          id: "AwsSolutions-IAM5",
          reason: "kms:GenerateDataKey* on the topic's own key only: what publishing to an encrypted topic takes.",
          appliesTo: ["Action::kms:GenerateDataKey*"],
        },
      ],
      true,
    );
    deliveryAlarm = alarmOnAny(
      scope,
      "NotificationDeliveryAlarm",
      new cloudwatch.Metric({
        namespace: "AWS/Events",
        metricName: "FailedInvocations",
        // A rule on a custom bus reports under its bus's name too.
        dimensionsMap: bus === "default" ? { RuleName: rule.ruleName } : { EventBusName: bus, RuleName: rule.ruleName },
        period: Duration.minutes(5),
        statistic: "Sum",
      }),
      "EventBridge could not deliver an outcome message to the notifications topic",
      alarmTopic,
    );
  }
  return {
    environment: {
      CVPN_OUTCOME_BUS: bus,
      CVPN_FINDING_NOTES: String(notes),
      CVPN_FINDING_WORKFLOW: workflow,
      CVPN_SECURITYHUB_NOTES: String(props.securityHubNotes ?? false),
    },
    alarm,
    topic,
    deliveryAlarm,
  };
}
