// Answers signed with SigV4, as template.yaml's ApprovalUrl: a function of its own whose Function
// URL is AWS_IAM (Lambda checks the signature and names the caller, which no client can write), and
// a managed policy for the people who may approve that lets them invoke it only through that URL,
// so the caller it names counts as a verified answerer.
import { CfnOutput } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { sideFunction, SideFunctionParts } from "./side-function";

export interface AnswersUrl {
  readonly url: lambda.FunctionUrl;
  /** Attach to the roles of the people who may approve. */
  readonly approverPolicy: iam.ManagedPolicy;
  /** The function behind the URL. */
  readonly function: lambda.Function;
}

export function addAnswersUrl(scope: Construct, parts: SideFunctionParts): AnswersUrl {
  const fn = sideFunction(scope, "AnswerFunction", parts, {
    environment: { CVPN_TAKES: "signed-answers" },
    reservedConcurrency: 2,
  });
  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  const approverPolicy = new iam.ManagedPolicy(scope, "ApproverPolicy", {
    description: "Answer cvpn-terminator's requests for approval over its signed Function URL (and in no other way)",
    statements: [
      new iam.PolicyStatement({
        sid: "TheAnswersUrl",
        actions: ["lambda:InvokeFunctionUrl"],
        resources: [fn.functionArn],
        conditions: { StringEquals: { "lambda:FunctionUrlAuthType": "AWS_IAM" } },
      }),
      new iam.PolicyStatement({
        sid: "OnlyThroughTheUrl",
        actions: ["lambda:InvokeFunction"],
        resources: [fn.functionArn],
        conditions: { Bool: { "lambda:InvokedViaFunctionUrl": "true" } },
      }),
    ],
  });
  new CfnOutput(scope, "AnswersUrl", {
    description: 'POST <url>approvals with {"Approve": {"Request": ID}} or {"Deny": {...}}, signed with SigV4 (service lambda)',
    value: url.url,
  });
  new CfnOutput(scope, "ApproverPolicyArn", {
    description: "Attach to the roles of the people who may approve",
    value: approverPolicy.managedPolicyArn,
  });
  return { url, approverPolicy, function: fn };
}
