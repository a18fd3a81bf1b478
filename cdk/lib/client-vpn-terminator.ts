import * as path from "path";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import * as securityhub from "aws-cdk-lib/aws-securityhub";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";

/** The same options as template.yaml's parameters; see the repository README for each setting. */
export interface ClientVpnTerminatorProps {
  /** Directory holding `bootstrap`, as `cargo lambda build --release --arm64` leaves it. */
  readonly codePath?: string;
  /** Endpoints to act on; Terminate is allowed on these only. Default: every endpoint in the Region. */
  readonly endpointIds?: string[];
  /** Plan and log, call Terminate with DryRun=true, end nothing. Default: true — start there. */
  readonly dryRun?: boolean;
  /** VPN usernames or common names (`*` wildcard) never terminated. */
  readonly protectedUsers?: string[];
  /**
   * Account IDs whose principals may name a VPN user; a finding's principal from another account
   * names nobody. Default: any account.
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
  /** EC2 calls in flight within one invocation. Default: 8. */
  readonly concurrency?: number;
  /** Attempts per EC2 call, with the SDK's adaptive retry. Default: 5. */
  readonly maxAttempts?: number;
  /** Default: 5. */
  readonly reservedConcurrency?: number;
  /** Default: 2. */
  readonly asyncRetryAttempts?: number;
  /** Default: 1 hour. */
  readonly asyncMaxEventAge?: Duration;
  /** Notified when the function errs. */
  readonly alarmTopic?: sns.ITopic;
}

const optional = (value: number | undefined) => (value === undefined ? "" : String(value));

export class ClientVpnTerminator extends Construct {
  public readonly function: lambda.Function;
  public readonly failureQueue: sqs.Queue;
  public readonly stateTable?: dynamodb.Table;
  public readonly customAction?: securityhub.CfnActionTarget;
  public readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ClientVpnTerminatorProps = {}) {
    super(scope, id);
    const quiet = [lambda.ApplicationLogLevel.WARN, lambda.ApplicationLogLevel.ERROR, lambda.ApplicationLogLevel.FATAL];
    if (props.logLevel !== undefined && quiet.includes(props.logLevel)) {
      throw new Error(`logLevel ${props.logLevel} would drop the log line of every ended session; use INFO or lower`);
    }
    const stack = Stack.of(this);
    const tracksIdle = props.idleMinutes !== undefined || props.extendedIdleMinutes !== undefined;

    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.failureQueue = new sqs.Queue(this, "FailureQueue", {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    if (tracksIdle) {
      this.stateTable = new dynamodb.Table(this, "StateTable", {
        partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: "expiresAt",
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }

    // An explicit role: no managed policies, every statement scoped as tightly as EC2 allows.
    const role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: "DescribeClientVpn",
        actions: ["ec2:DescribeClientVpnEndpoints", "ec2:DescribeClientVpnConnections"],
        resources: ["*"], // these actions support no resource-level permissions
      }),
    );
    const endpointArn = (endpoint: string) =>
      stack.formatArn({ service: "ec2", resource: "client-vpn-endpoint", resourceName: endpoint });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: "TerminateClientVpnConnections",
        actions: ["ec2:TerminateClientVpnConnections"],
        resources: props.endpointIds?.length ? props.endpointIds.map(endpointArn) : [endpointArn("*")],
      }),
    );
    logGroup.grantWrite(role);
    this.stateTable?.grant(role, "dynamodb:BatchGetItem", "dynamodb:PutItem");

    const list = (values?: string[]) => (values ?? []).join(",");
    this.function = new lambda.Function(this, "Function", {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: "bootstrap",
      code: lambda.Code.fromAsset(props.codePath ?? path.join(__dirname, "../../../target/lambda/cvpn-terminator")),
      memorySize: props.memorySize ?? 128,
      timeout: props.timeout ?? Duration.minutes(2),
      reservedConcurrentExecutions: props.reservedConcurrency ?? 5,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      onFailure: new destinations.SqsDestination(this.failureQueue),
      retryAttempts: props.asyncRetryAttempts ?? 2,
      maxEventAge: props.asyncMaxEventAge ?? Duration.hours(1),
      environment: {
        CVPN_ENDPOINT_IDS: list(props.endpointIds),
        CVPN_DRY_RUN: String(props.dryRun ?? true),
        CVPN_PROTECTED_USERS: list(props.protectedUsers),
        CVPN_IDENTITY_ACCOUNTS: list(props.identityAccounts),
        CVPN_MAX_TERMINATIONS: String(props.maxTerminations ?? 10),
        CVPN_MIN_SEVERITY: String(props.minSeverity ?? 7),
        CVPN_FINDING_TYPES_ALLOW: list(props.findingTypesAllow),
        CVPN_FINDING_TYPES_DENY: list(props.findingTypesDeny),
        CVPN_FINDING_PRODUCTS: list(props.findingProducts),
        CVPN_USERNAME_TEMPLATE: props.usernameTemplate ?? "{user}",
        CVPN_USERNAME_CASE: props.usernameCase ?? "insensitive",
        CVPN_MATCH_BY: list(props.matchBy ?? ["username", "common-name", "connection-id", "client-ip"]),
        CVPN_IDLE_MINUTES: optional(props.idleMinutes),
        CVPN_IDLE_BYTES: String(props.idleBytes ?? 1048576),
        CVPN_MAX_SESSION_MINUTES: optional(props.maxSessionMinutes),
        CVPN_EXTENDED_USERS: list(props.extendedUsers),
        CVPN_EXTENDED_IDLE_MINUTES: optional(props.extendedIdleMinutes),
        CVPN_EXTENDED_MAX_SESSION_MINUTES: optional(props.extendedMaxSessionMinutes),
        CVPN_MAX_SWEEP_TERMINATIONS: String(props.maxSweepTerminations ?? 1000),
        CVPN_STATE_TABLE: this.stateTable?.tableName ?? "",
        CVPN_CONCURRENCY: String(props.concurrency ?? 8),
        CVPN_MAX_ATTEMPTS: String(props.maxAttempts ?? 5),
      },
    });

    const target = new targets.LambdaFunction(this.function);
    const rule = (name: string, options: events.RuleProps) => new events.Rule(this, name, { ...options, targets: [target] });
    if (props.schedule) {
      rule("Schedule", { description: "cvpn-terminator cleanup sweep", schedule: props.schedule });
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
      this.customAction = new securityhub.CfnActionTarget(this, "CustomAction", {
        name: "End VPN sessions",
        description: "End the Client VPN sessions of the finding's users",
        id: "EndVpnSessions",
      });
      Validations.of(this.customAction).acknowledge({
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
          resources: [this.customAction.attrActionTargetArn],
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

    this.errorsAlarm = this.function
      .metricErrors({ period: Duration.minutes(5), statistic: "Sum" })
      .createAlarm(this, "Errors", {
        alarmDescription: "cvpn-terminator failed an invocation (bad event, cap exceeded, or a termination that did not go through)",
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    if (props.alarmTopic) {
      this.errorsAlarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    }

    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason:
            "DescribeClientVpnEndpoints and DescribeClientVpnConnections support no resource-level permissions; " +
            "Terminate is limited to this account's Client VPN endpoints in this Region (or the listed ones).",
          appliesTo: ["Resource::*", { regex: "/^Resource::arn:<AWS::Partition>:ec2:.+:client-vpn-endpoint\\/\\*$/" }],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(this.failureQueue, [
      { id: "AwsSolutions-SQS3", reason: "This queue is itself the function's on-failure destination." },
    ]);
  }
}
