// One click where people work (README "When a person decides"): each request for approval as an
// AWS Chatbot custom notification on a topic of its own, with Approve and Deny buttons (custom
// actions) that invoke the function with the request's ID. As template.yaml's ChatApprovalButtons.
import { CfnOutput, Fn, Stack } from "aws-cdk-lib";
import * as chatbot from "aws-cdk-lib/aws-chatbot";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";

export interface ChatButtons {
  readonly topic: sns.Topic;
  readonly approve: chatbot.CfnCustomAction;
  readonly deny: chatbot.CfnCustomAction;
}

/** The variables each button reads from the notification's additionalContext. */
const VARIABLES = {
  action: "event.metadata.additionalContext.cvpnAction",
  id: "event.metadata.additionalContext.requestId",
  fn: "event.metadata.additionalContext.function",
};

/**
 * The chat topic, the rule that writes each request to it as a custom notification, and the two
 * buttons. Chatbot runs a button's command with the channel's role (its guardrails decide who may
 * invoke the function); the answer is unverified (RequestedBy "chat"): it counts where
 * approvalsRequired is 1.
 */
export function addChatButtons(scope: Construct, bus: string, fn: lambda.IFunction): ChatButtons {
  const stack = Stack.of(scope);
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
    description: "cvpn-terminator requests for approval, as chat notifications with Approve and Deny buttons",
    eventBus: events.EventBus.fromEventBusName(scope, "ChatBus", bus),
    eventPattern: { source: ["cvpn-terminator"], account: [stack.account], detailType: ["Client VPN Approval Requested"] },
    targets: [
      new targets.SnsTopic(topic, {
        authorizeUsingRole: true,
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
  NagSuppressions.addResourceSuppressions(
    rule,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: "kms:GenerateDataKey* on the chat topic's own key only: what publishing to an encrypted topic takes.",
        appliesTo: ["Action::kms:GenerateDataKey*"],
      },
    ],
    true,
  );
  const suffix = Fn.select(2, Fn.split("/", stack.stackId));
  const button = (id: string, answer: "Approve" | "Deny") =>
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
  const deny = button("DenyChatAction", "Deny");
  new CfnOutput(scope, "ChatTopicArn", {
    description: "Add to your AWS Chatbot channel's SNS topics; requests for approval arrive here with Approve and Deny buttons.",
    value: topic.topicArn,
  });
  new CfnOutput(scope, "ChatActionArns", {
    description: "Add both to your AWS Chatbot channel configuration's CustomizationResourceArns.",
    value: Fn.join(",", [approve.attrCustomActionArn, deny.attrCustomActionArn]),
  });
  return { topic, approve, deny };
}
