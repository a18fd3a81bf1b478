// One click where people work (docs/approvals.md): each request for approval as an
// AWS Chatbot custom notification on a topic of its own, with an Approve button (a custom action)
// that invokes a function of its own, which takes only approvals (CVPN_TAKES), with the request's
// ID. As template.yaml's ChatApprovalButtons.
import { CfnOutput, Fn, Stack } from "aws-cdk-lib";
import * as chatbot from "aws-cdk-lib/aws-chatbot";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { sideFunction, SideFunctionParts } from "./side-function";

export interface ChatButtons {
  readonly topic: sns.Topic;
  readonly approve: chatbot.CfnCustomAction;
  /** The one function the channel's role may invoke: it takes only approvals. */
  readonly function: lambda.Function;
}

/** The variables each button reads from the notification's additionalContext. */
const VARIABLES = {
  action: "event.metadata.additionalContext.cvpnAction",
  id: "event.metadata.additionalContext.requestId",
  fn: "event.metadata.additionalContext.function",
};

/**
 * The chat topic, the rule that writes each request to it as a custom notification, the button's
 * function and the button. Chatbot runs the command with the channel's role, which needs
 * lambda:InvokeFunction on that function only; the answer is said (RequestedBy "chat"): it counts
 * where approvalsRequired is 1. No Deny button: a denial is for someone whose identity is known.
 */
export function addChatButtons(scope: Construct, bus: string, parts: SideFunctionParts): ChatButtons {
  const stack = Stack.of(scope);
  const fn = sideFunction(scope, "ChatFunction", parts, {
    environment: { CVPN_TAKES: "chat-approvals" },
    reservedConcurrency: 2,
  });
  // A key of our own: EventBridge cannot publish to a topic under the AWS managed SNS key.
  const key = new kms.Key(scope, "ChatKey", {
    description: "Encrypts the cvpn-terminator chat topic; EventBridge may use it to publish",
    enableKeyRotation: true,
  });
  const topic = new sns.Topic(scope, "ChatTopic", {
    displayName: "Client VPN approval requests",
    masterKey: key,
    enforceSSL: true,
  });
  const field = (path: string) => events.EventField.fromPath(path);
  const rule = new events.Rule(scope, "ChatRule", {
    description: "cvpn-terminator requests for approval, as chat notifications with an Approve button",
    eventBus: events.EventBus.fromEventBusName(scope, "ChatBus", bus),
    // Whatever else the event did (ended someone else's sessions, say), it made a request.
    eventPattern: { source: ["cvpn-terminator"], account: [stack.account], detail: { approval_requests: { id: [{ exists: true }] } } },
    targets: [
      new targets.SnsTopic(topic, {
        message: events.RuleTargetInput.fromObject({
          version: "1.0",
          source: "custom",
          content: {
            textType: "client-markdown",
            title: "Client VPN: a person decides",
            description: field("$.detail.summary"),
            nextSteps: [
              field("$.detail.reason"),
              field("$.detail.approval_requests[0].approve"),
              field("$.detail.approval_requests[0].deny"),
              field("$.detail.link"),
            ],
          },
          metadata: {
            enableCustomActions: true,
            additionalContext: {
              cvpnAction: "approval",
              requestId: field("$.detail.approval_requests[0].id"),
              function: fn.functionName,
            },
          },
        }),
      }),
    ],
  });
  // EventBridge publishes as its service principal, for this rule only; a notification names the
  // function its button invokes and the request, so nobody else writes one.
  key.grant(new iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: { ArnNotEquals: { "aws:SourceArn": rule.ruleArn } },
    }),
  );
  const suffix = Fn.select(2, Fn.split("/", stack.stackId));
  const button = (id: string, answer: "Approve") =>
    new chatbot.CfnCustomAction(scope, id, {
      actionName: Fn.join("-", [`cvpn-${answer.toLowerCase()}`, suffix]),
      definition: {
        commandText: `lambda invoke --function-name $fn --payload {"${answer}":{"Request":"$id","RequestedBy":"chat"}}`,
      },
      attachments: [
        {
          notificationType: "Custom",
          buttonText: answer,
          criteria: [
            { operator: "EQUALS", variableName: "action", value: "approval" },
            { operator: "HAS_VALUE", variableName: "id" },
          ],
          variables: VARIABLES,
        },
      ],
    });
  const approve = button("ApproveChatAction", "Approve");
  new CfnOutput(scope, "ChatTopicArn", {
    description: "Add to your AWS Chatbot channel's SNS topics; requests for approval arrive here with Approve and Deny buttons.",
    value: topic.topicArn,
  });
  new CfnOutput(scope, "ChatActionArn", {
    description: "Add to your AWS Chatbot channel configuration's CustomizationResourceArns.",
    value: approve.attrCustomActionArn,
  });
  new CfnOutput(scope, "ChatFunctionArn", {
    description: "The one function the channel's role (and guardrail) may invoke.",
    value: fn.functionArn,
  });
  return { topic, approve, function: fn };
}
