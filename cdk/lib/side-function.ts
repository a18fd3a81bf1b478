// The functions beside the main one (the IdP's Function URL, signed answers, the chat button):
// the same code and role, each with its own reserved concurrency and what it takes.
import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";

/** What a function beside the main one shares with it. */
export interface SideFunctionParts {
  readonly role: iam.IRole;
  readonly code: lambda.Code;
  readonly codeSigningConfig?: lambda.ICodeSigningConfig;
  readonly logGroup: logs.ILogGroup;
  readonly environment: Record<string, string>;
  readonly memorySize?: number;
  readonly timeout?: Duration;
}

/** A function of `parts`, with `environment` added and its own reserved concurrency. */
export function sideFunction(
  scope: Construct,
  id: string,
  parts: SideFunctionParts,
  own: { environment: Record<string, string>; reservedConcurrency: number; timeout?: Duration },
): lambda.Function {
  const fn = new lambda.Function(scope, id, {
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: lambda.Architecture.ARM_64,
    handler: "bootstrap",
    code: parts.code,
    codeSigningConfig: parts.codeSigningConfig,
    memorySize: parts.memorySize ?? 128,
    timeout: own.timeout ?? parts.timeout ?? Duration.minutes(2),
    reservedConcurrentExecutions: own.reservedConcurrency,
    role: parts.role,
    logGroup: parts.logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    environment: { ...parts.environment, ...own.environment },
  });
  NagSuppressions.addResourceSuppressions(fn, [
    { id: "AwsSolutions-L1", reason: "provided.al2023 is the newest runtime for a Rust binary." },
  ]);
  return fn;
}
