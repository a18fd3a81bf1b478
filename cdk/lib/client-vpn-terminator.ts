import * as path from "path";
import { CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import * as securityhub from "aws-cdk-lib/aws-securityhub";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import {
  checkManyTargets,
  quarantineReaders,
  reachTargets,
  sharesQuarantine,
} from "./many-targets";
import { alarmOnAny } from "./alarms";
import { addDashboard } from "./dashboard";
import { asksFirst } from "./asking";
import { buildConnectHandler } from "./target";
import { addRules } from "./rules";
import { addNotifications } from "./notifications";
import { addChatButtons, ChatButtons } from "./chat";
import { SideFunctionParts } from "./side-function";
import { addAnswersUrl, AnswersUrl } from "./answers";
import { functionEnvironment } from "./environment";
import { ClientVpnTerminatorProps } from "./props";
import { addIdentityCenterRule, addOktaRule, addSignalFunction } from "./idp";
import { addSweepFanOut, SweepFanOut } from "./sweep-fan-out";

export { ClientVpnTerminatorTarget, ClientVpnTerminatorTargetProps } from "./target";
export { ManyTargetsProps } from "./many-targets";
export { IdpProps } from "./idp";
export { SweepFanOut, SweepFanOutProps } from "./sweep-fan-out";

export { ClientVpnTerminatorProps } from "./props";


const codeFrom = (props: ClientVpnTerminatorProps) =>
  lambda.Code.fromAsset(props.codePath ?? path.join(__dirname, "../../../target/lambda/cvpn-terminator"));

// Idle counters (BatchGetItem, PutItem); quarantine holds placed and extended (UpdateItem),
// release records read (BatchGetItem) and holds released (GetItem, UpdateItem, DeleteItem);
// handled events claimed, read, recorded and given up (PutItem, GetItem, DeleteItem).
const STATE_ACTIONS = [
  "dynamodb:BatchGetItem",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
];

const ERRORS_ALARM =
  "cvpn-terminator failed an invocation (bad event, cap exceeded, a termination that did not go through, or a second delivery of an event another invocation was handling, which Lambda retries)";

/** Refuses a log level that drops the sessions' lines; the quarantine's length, checked. */
function checkedQuarantineMinutes(props: ClientVpnTerminatorProps): number {
  const quiet = [lambda.ApplicationLogLevel.WARN, lambda.ApplicationLogLevel.ERROR, lambda.ApplicationLogLevel.FATAL];
  if (props.logLevel !== undefined && quiet.includes(props.logLevel)) {
    throw new Error(`logLevel ${props.logLevel} would drop the log line of every ended session; use INFO or lower`);
  }
  const quarantineMinutes = props.quarantineMinutes ?? 1440;
  if (!Number.isInteger(quarantineMinutes) || quarantineMinutes < 0 || quarantineMinutes > 525600) {
    throw new Error(`quarantineMinutes ${quarantineMinutes} is not a whole number from 0 to 525600`);
  }
  return quarantineMinutes;
}

export class ClientVpnTerminator extends Construct {
  public readonly function: lambda.Function;
  public readonly failureQueue: sqs.Queue;
  public readonly stateTable?: dynamodb.Table;
  public readonly customAction?: securityhub.CfnActionTarget;
  public readonly errorsAlarm: cloudwatch.Alarm;
  /** The alias Client VPN endpoints call, when quarantine is on. */
  public readonly connectHandler?: lambda.Alias;
  public readonly quarantineCheckAlarm?: cloudwatch.Alarm;
  /** The Function URL for the IdP's signed tokens, when `signal` is given. */
  public readonly signalUrl?: lambda.FunctionUrl;
  /** Raised when an outcome event or a note on a finding could not be sent. */
  public readonly notificationAlarm: cloudwatch.Alarm;
  /** One short message per outcome, when asked for (notificationEmail or notificationTopic). */
  public readonly notificationTopic?: sns.Topic;
  /** Requests for approval in chat, with an Approve button (chatApprovalButtons). */
  public readonly chat?: ChatButtons;
  /** Answers signed with SigV4 over a Function URL of their own, and the approvers' policy (approvalUrl). */
  public readonly answers?: AnswersUrl;
  /** What the functions did and the alarms, unless `dashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The state machine that splits each scheduled sweep by place, when `sweepFanOut` is given. */
  public readonly sweepFanOut?: SweepFanOut;

  constructor(scope: Construct, id: string, props: ClientVpnTerminatorProps = {}) {
    super(scope, id);
    const quarantineMinutes = checkedQuarantineMinutes(props);
    const tracksIdle = props.idleMinutes !== undefined || props.extendedIdleMinutes !== undefined;
    const quarantine = quarantineMinutes > 0;
    checkManyTargets(props);
    const shared = sharesQuarantine(props, quarantine);

    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.failureQueue = new sqs.Queue(this, "FailureQueue", {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Each signed token's jti is taken once, in the table; Identity Center's user names are
    // remembered there for the DeleteUser that comes once the store no longer knows the user;
    // requests for approval wait there; an organization's accounts are kept there; the children
    // of a sweep split by place share the tick's ceiling there.
    const idp = props.signal || (props.identityStoreIds ?? []).length > 0;
    if (tracksIdle || quarantine || idp || asksFirst(props) || props.organization || props.sweepFanOut) {
      this.stateTable = this.addStateTable(props, shared);
    }

    const role = this.functionRole(props);
    logGroup.grantWrite(role);
    const reach = reachTargets(this, props, role);
    this.stateTable?.grant(role, ...STATE_ACTIONS);
    let connectFunction: lambda.IFunction | undefined;
    if (quarantine && this.stateTable) {
      const { alias, alarm } = this.addConnectHandler(props, this.stateTable, codeFrom(props));
      this.connectHandler = alias;
      this.quarantineCheckAlarm = alarm;
      connectFunction = alias.version.lambda;
    }

    const notifications = addNotifications(this, props, role, logGroup, props.alarmTopic);
    this.notificationAlarm = notifications.alarm;
    this.notificationTopic = notifications.topic;

    const environment = functionEnvironment(props, {
      reach,
      table: this.stateTable?.tableName,
      quarantineMinutes,
      connectHandlerArn: this.connectHandler?.functionArn,
      notifications: notifications.environment,
    });
    this.function = this.mainFunction(props, role, logGroup, environment);
    const code = codeFrom(props);
    const codeSigningConfig = props.codeSigningConfig;
    const signal = addSignalFunction(this, props, { role, code, codeSigningConfig, logGroup, environment });
    this.signalUrl = signal?.url;
    const answering = this.addAnswering(props, { role, code, codeSigningConfig, logGroup, environment });
    this.chat = answering.chat;
    this.answers = answering.answers;

    this.sweepFanOut = props.sweepFanOut
      ? addSweepFanOut(this, this.function, props.sweepFanOut, { logRetention: props.logRetention, alarmTopic: props.alarmTopic })
      : undefined;
    this.customAction = this.addTriggers(props);

    this.errorsAlarm = alarmOnAny(
      this,
      "Errors",
      this.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
      ERRORS_ALARM,
      props.alarmTopic,
    );
    if (props.dashboard ?? true) {
      this.dashboard = addDashboard(this, {
        main: this.function,
        connectHandler: connectFunction,
        sides: { "IdP signals": signal?.function, "signed answers": this.answers?.function, chat: this.chat?.function },
        alarms: [
          this.errorsAlarm,
          this.notificationAlarm,
          this.quarantineCheckAlarm,
          notifications.deliveryAlarm,
          this.sweepFanOut?.alarm,
        ],
      });
    }

    this.suppressFindings(role);
  }

  /** The rules that invoke the function; the schedule's starts the split sweep instead when there is one. */
  private addTriggers(props: ClientVpnTerminatorProps): securityhub.CfnActionTarget | undefined {
    addOktaRule(this, this.function, props);
    addIdentityCenterRule(this, this.function, props);
    return addRules(this, this.function, props, this.sweepFanOut?.target);
  }

  /** The state table: idle tracks, holds, handled events, tokens taken, requests for approval. */
  private addStateTable(props: ClientVpnTerminatorProps, shared: boolean): dynamodb.Table {
    return new dynamodb.Table(this, "StateTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key cannot be shared with another account: a table the network accounts'
      // connect handlers read is encrypted with the AWS owned key instead.
      encryption: shared ? dynamodb.TableEncryption.DEFAULT : dynamodb.TableEncryption.AWS_MANAGED,
      resourcePolicy: shared ? quarantineReaders(this, props.targetAccountIds ?? []) : undefined,
      // Retained: it holds who is kept out, security state that deleting the stack or replacing
      // the table must not silently drop.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The function's role: Describe anywhere, Terminate on this account's endpoints (or the listed ones). */
  private functionRole(props: ClientVpnTerminatorProps): iam.Role {
    // An explicit role: no managed policies, every statement scoped as tightly as EC2 allows.
    const stack = Stack.of(this);
    const role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: "DescribeClientVpn",
        actions: ["ec2:DescribeClientVpnEndpoints", "ec2:DescribeClientVpnConnections"],
        resources: ["*"], // these actions support no resource-level permissions
      }),
    );
    // With targets, this account's endpoints in every Region (a REGION entry acts here).
    const endpointArn = (endpoint: string) =>
      stack.formatArn({
        service: "ec2",
        region: props.targets?.length || props.organization ? "*" : undefined,
        resource: "client-vpn-endpoint",
        resourceName: endpoint,
      });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: "TerminateClientVpnConnections",
        actions: ["ec2:TerminateClientVpnConnections"],
        resources: props.endpointIds?.length ? props.endpointIds.map(endpointArn) : [endpointArn("*")],
      }),
    );
    return role;
  }

  private mainFunction(
    props: ClientVpnTerminatorProps,
    role: iam.Role,
    logGroup: logs.LogGroup,
    environment: Record<string, string>,
  ): lambda.Function {
    return new lambda.Function(this, "Function", {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: "bootstrap",
      code: codeFrom(props),
      codeSigningConfig: props.codeSigningConfig,
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
      environment,
    });
  }

  /** How a person answers a request for approval: chat buttons, a signed Function URL. */
  private addAnswering(
    props: ClientVpnTerminatorProps,
    parts: SideFunctionParts,
  ): { chat?: ChatButtons; answers?: AnswersUrl } {
    let chat: ChatButtons | undefined;
    let answers: AnswersUrl | undefined;
    if (props.chatApprovalButtons) {
      const bus = props.outcomeBus ?? "default";
      if (bus === "" || !asksFirst(props) || (props.approvalsRequired ?? 1) !== 1) {
        throw new Error(
          "chatApprovalButtons answers requests for approval: it needs outcomeBus, askBelowSeverity, askUsers or askOverCap, and approvalsRequired 1 (a chat approval is said, not verified)",
        );
      }
      chat = addChatButtons(this, bus, { ...parts, memorySize: props.memorySize, timeout: props.timeout });
    }
    if (props.approvalUrl) {
      if (!asksFirst(props)) {
        throw new Error("approvalUrl answers requests for approval: set askBelowSeverity, askUsers or askOverCap");
      }
      answers = addAnswersUrl(this, {
        ...parts,
        memorySize: props.memorySize,
        timeout: props.timeout,
      });
    }
    return { chat, answers };
  }

  private suppressFindings(role: iam.Role): void {
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason:
            "DescribeClientVpnEndpoints and DescribeClientVpnConnections support no resource-level permissions; " +
            "Terminate is limited to this account's Client VPN endpoints in this Region (or the listed ones); " +
            "with targets, in this account's other Regions too (its REGION entries), never another account's.",
          appliesTo: [
            "Resource::*",
            { regex: "/^Resource::arn:<AWS::Partition>:ec2:.+:client-vpn-endpoint\\/(\\*|cvpn-endpoint-[0-9a-f]+)$/" },
          ],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(this.failureQueue, [
      { id: "AwsSolutions-SQS3", reason: "This queue is itself the function's on-failure destination." },
    ]);
  }

  /**
   * The client connect handler (`buildConnectHandler`), called through a `live` alias. Client VPN
   * invokes it through its service-linked role (AWSServiceRoleForClientVPNConnections allows
   * lambda:InvokeFunction on function:AWSClientVPN-* only), so the function needs no
   * resource-based permission.
   */
  private addConnectHandler(
    props: ClientVpnTerminatorProps,
    table: dynamodb.Table,
    code: lambda.Code,
  ): { alias: lambda.Alias; alarm: cloudwatch.Alarm } {
    const stack = Stack.of(this);
    const { handler, alarm } = buildConnectHandler(this, props, {
      defaultName: `AWSClientVPN-${stack.stackName}`,
      table: table.tableName,
      tableArn: table.tableArn,
      code,
      alarmDescription:
        "The connect handler could not read the quarantine (or a user's connections) in time; connectOnError decided",
    });
    const alias = new lambda.Alias(this, "ConnectHandlerLive", {
      aliasName: "live",
      version: handler.currentVersion,
      provisionedConcurrentExecutions: props.connectHandlerProvisionedConcurrency || undefined,
    });
    const ids = props.endpointIds?.length
      ? props.endpointIds.join(" ")
      : "$(aws ec2 describe-client-vpn-endpoints --query 'ClientVpnEndpoints[].ClientVpnEndpointId' --output text)";
    new CfnOutput(this, "ConnectHandlerArn", {
      description: "The connect handler every endpoint must call for the quarantine to hold",
      value: alias.functionArn,
    });
    new CfnOutput(this, "WireConnectHandler", {
      description:
        "Run once (with ec2:ModifyClientVpnEndpoint and, the first time, iam:CreateServiceLinkedRole); " +
        "`cvpn-terminator check` shows which endpoints call the handler",
      value: `for id in ${ids}; do aws ec2 modify-client-vpn-endpoint --client-vpn-endpoint-id $id --client-connect-options Enabled=true,LambdaFunctionArn=${alias.functionArn} --region ${stack.region}; done`,
    });
    return { alias, alarm };
  }
}
