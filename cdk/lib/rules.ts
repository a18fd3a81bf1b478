// The rules that invoke the function: the cleanup schedule (or the state machine that splits the
// sweep by place), GuardDuty, Security Hub (imported, the "End VPN sessions" custom action, OCSF).
import { Validations } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as securityhub from "aws-cdk-lib/aws-securityhub";
import { Construct } from "constructs";
import { ClientVpnTerminatorProps } from "./props";

/**
 * The schedule's and the findings' rules to `fn` (the schedule's to `sweepTarget` when given); the
 * custom action, when there is one.
 */
export function addRules(
  scope: Construct,
  fn: lambda.IFunction,
  props: ClientVpnTerminatorProps,
  sweepTarget?: events.IRuleTarget,
): securityhub.CfnActionTarget | undefined {
  let customAction: securityhub.CfnActionTarget | undefined;
  const target = new targets.LambdaFunction(fn);
  const rule = (name: string, options: events.RuleProps) => new events.Rule(scope, name, { targets: [target], ...options });
  if (props.schedule) {
    rule("Schedule", {
      description: "cvpn-terminator cleanup sweep",
      schedule: props.schedule,
      targets: [sweepTarget ?? target],
    });
  }
  if (props.guardDuty ?? true) {
    rule("GuardDuty", {
      description: "GuardDuty findings at or above the minimum severity",
      eventPattern: {
        source: ["aws.guardduty"],
        detailType: ["GuardDuty Finding"],
        detail: { severity: [{ numeric: [">=", props.minSeverity ?? 7] }] },
      },
    });
  }
  if (props.securityHubImported ?? false) {
    rule("SecurityHubImported", {
      description: "Active, new or notified Security Hub findings of the chosen severities",
      eventPattern: {
        source: ["aws.securityhub"],
        detailType: ["Security Hub Findings - Imported"],
        detail: {
          findings: {
            Severity: { Label: props.securityHubSeverityLabels ?? ["HIGH", "CRITICAL"] },
            Workflow: { Status: ["NEW", "NOTIFIED"] },
            RecordState: ["ACTIVE"],
          },
        },
      },
    });
  }
  if (props.securityHubCustomAction ?? true) {
    customAction = new securityhub.CfnActionTarget(scope, "CustomAction", {
      name: "End VPN sessions",
      description: "End the Client VPN sessions of the finding's users",
      id: "EndVpnSessions",
    });
    Validations.of(customAction).acknowledge({
      id: "CloudFormation-Validate::F3006",
      reason:
        "The library's bundled Region data lacks AWS::SecurityHub::ActionTarget; Security Hub custom " +
        "actions exist in every Region Security Hub does.",
    });
    rule("SecurityHubCustomAction", {
      description: 'Findings sent to the "End VPN sessions" custom action',
      eventPattern: {
        source: ["aws.securityhub"],
        detailType: ["Security Hub Findings - Custom Action"],
        resources: [customAction.attrActionTargetArn],
      },
    });
  }
  if (props.securityHubOcsf ?? false) {
    rule("SecurityHubOcsf", {
      description: "Security Hub OCSF findings at or above the minimum severity",
      eventPattern: {
        source: ["aws.securityhub"],
        detailType: ["Findings Imported V2"],
        detail: { findings: { severity_id: [{ numeric: [">=", props.ocsfMinSeverityId ?? 4] }] } },
      },
    });
  }
  return customAction;
}
