// The construct's options, apart from the construct, so that what reads them (the function's
// environment) need not import the construct.
import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import type { AskingProps } from "./asking";
import type { IdpProps } from "./idp";
import type { ManyTargetsProps } from "./many-targets";
import type { NotificationProps } from "./notifications";
import type { SweepFanOutProps } from "./sweep-fan-out";

/** The same options as template.yaml's parameters; see docs/configuration.md for each setting. */
export interface ClientVpnTerminatorProps extends NotificationProps, ManyTargetsProps, IdpProps, AskingProps {
  /** Directory holding `bootstrap`, as `cargo lambda build --release --arm64` leaves it. */
  readonly codePath?: string;
  /** Endpoints to act on; Terminate is allowed on these only. Default: every endpoint in the Region. */
  readonly endpointIds?: string[];
  /** Plan and log, call Terminate with DryRun=true, end nothing. Default: true — start there. */
  readonly dryRun?: boolean;
  /** VPN usernames or common names (`*` wildcard) never terminated. */
  readonly protectedUsers?: string[];
  /**
   * Account IDs whose principals may name a VPN user, or `*` for any; a finding's principal from
   * another account names nobody. Default: the function's own account and the targets' accounts.
   */
  readonly identityAccounts?: string[];
  /** Most connections one incident may end. Default: 10. */
  readonly maxTerminations?: number;
  /** Minimum severity, 0-10 on GuardDuty's scale. Default: 7. */
  readonly minSeverity?: number;
  readonly findingTypesAllow?: string[];
  readonly findingTypesDeny?: string[];
  /**
   * Security Hub product ARN patterns whose imported findings are trusted. Default: AWS's own
   * integrations (`product/aws/*`, `productv2/aws/*`).
   */
  readonly findingProducts?: string[];
  /** E.g. `{local}` or `{local}@corp.example.com`. Default: `{user}`. */
  readonly usernameTemplate?: string;
  readonly usernameCase?: "insensitive" | "sensitive";
  readonly matchBy?: Array<"username" | "common-name" | "connection-id" | "client-ip">;
  /** GuardDuty findings at or above minSeverity. Default: true. */
  readonly guardDuty?: boolean;
  /** Security Hub "Findings - Imported" (ASFF). Default: false. */
  readonly securityHubImported?: boolean;
  /** Default: HIGH, CRITICAL. */
  readonly securityHubSeverityLabels?: string[];
  /** The "End VPN sessions" Security Hub custom action. Default: true. */
  readonly securityHubCustomAction?: boolean;
  /** Security Hub "Findings Imported V2" (OCSF). Default: false. */
  readonly securityHubOcsf?: boolean;
  /** Default: 4 (High). */
  readonly ocsfMinSeverityId?: number;
  /** The cleanup sweep's schedule. Default: no sweep. */
  readonly schedule?: events.Schedule;
  readonly idleMinutes?: number;
  readonly idleBytes?: number;
  readonly maxSessionMinutes?: number;
  readonly extendedUsers?: string[];
  readonly extendedIdleMinutes?: number;
  readonly extendedMaxSessionMinutes?: number;
  /** Most connections one sweep ends. Default: 1000. */
  readonly maxSweepTerminations?: number;
  /**
   * Split each scheduled sweep by place: a Step Functions Distributed Map runs the function on
   * `placesPerChild` places in each child execution (docs/many-accounts.md). Brings the state table,
   * through which the children of a tick share its ceiling. Default: none, the function sweeps
   * every place itself.
   */
  readonly sweepFanOut?: SweepFanOutProps;
  /** Default: 128 MB. */
  readonly memorySize?: number;
  /** Default: 2 minutes. */
  readonly timeout?: Duration;
  /**
   * TRACE, DEBUG or INFO (default). Not above INFO: Lambda drops JSON lines below the level, and
   * the line each ended session has is at INFO.
   */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /** Default: one year. */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A code-signing configuration (AWS Signer profiles) every function of the construct must be
   * signed by: Lambda refuses other code. Default: none. See docs/deploy.md, "Signed code".
   */
  readonly codeSigningConfig?: lambda.ICodeSigningConfig;
  /** EC2 calls in flight within one invocation. Default: 8. */
  readonly concurrency?: number;
  /** Places (targets) whose endpoints are listed at once: each is its own role and connection. Default: 32. */
  readonly placeConcurrency?: number;
  /** Attempts per EC2 call, with the SDK's adaptive retry. Default: 5. */
  readonly maxAttempts?: number;
  /** Default: 5. */
  readonly reservedConcurrency?: number;
  /** Default: 2. */
  readonly asyncRetryAttempts?: number;
  /** Default: 1 hour. */
  readonly asyncMaxEventAge?: Duration;
  /** Notified when the function errs, or the connect handler cannot read the quarantine. */
  readonly alarmTopic?: sns.ITopic;
  /**
   * A CloudWatch dashboard of what the functions did (sessions ended, holds, the connect handler's
   * answers, sweeps, failures) and of the alarms, from the figures their log lines carry (no
   * permission needed). Default: true.
   */
  readonly dashboard?: boolean;
  /**
   * Minutes an incident keeps the users it acted on out (the connect handler refuses them).
   * Default: 1440. 0 turns quarantine and the connect handler off.
   */
  readonly quarantineMinutes?: number;
  /**
   * Whether an incident holds a certificate-only connection's common name: "auto" (default: unless
   * another live connection uses it) or "never" (clients share one certificate).
   */
  readonly holdCommonNames?: "auto" | "never";
  /** What a quarantined user's VPN client shows (at most 255 characters). Default: the function's. */
  readonly denyMessage?: string;
  /** When the quarantine cannot be read in time. Default: allow (an outage locks nobody out). */
  readonly connectOnError?: "allow" | "deny";
  /** How long the connect handler waits for the quarantine. Default: 2 seconds. */
  readonly connectTimeout?: Duration;
  /** Refuse a user's connection beyond this many active ones. Default: no limit. */
  readonly maxConnectionsPerUser?: number;
  /** Must begin with AWSClientVPN- (Client VPN calls no other). Default: AWSClientVPN-<stack name>. */
  readonly connectHandlerName?: string;
  /** Provisioned concurrency for the connect handler, as AWS recommends. Default: none. */
  readonly connectHandlerProvisionedConcurrency?: number;
}
