// One network account and Region, acted on by the main deployment (ClientVpnTerminator with
// `targets`): the role its function assumes here, and the connect handler that keeps quarantined
// users out, reading the central state table. The same resources as target.yaml.
import * as path from "path";
import { CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { alarmOnLogEvent } from "./alarms";
import {
  CONNECT_ROLE_PREFIX,
  DEFAULT_TARGET_ROLE_NAME,
  ROLE_NAME,
  suppressConnectRoleWildcard,
} from "./many-targets";

/** The connect handler's settings, shared with the main construct. */
export interface ConnectSettings {
  /** Must begin with AWSClientVPN- (Client VPN calls no other). */
  readonly connectHandlerName?: string;
  /** What a quarantined user's VPN client shows (at most 255 characters). Default: the function's. */
  readonly denyMessage?: string;
  /** When the quarantine cannot be read in time. Default: allow (an outage locks nobody out). */
  readonly connectOnError?: "allow" | "deny";
  /** How long the connect handler waits for the quarantine. Default: 2 seconds. */
  readonly connectTimeout?: Duration;
  /** Refuse a user's connection beyond this many active ones. Default: no limit. */
  readonly maxConnectionsPerUser?: number;
}

/** Refuses at synth what the handler would refuse; returns its name and timeout in milliseconds. */
export function checkConnectSettings(props: ConnectSettings, defaultName: string): { name: string; timeout: number } {
  const name = props.connectHandlerName ?? defaultName;
  if (!/^AWSClientVPN-[A-Za-z0-9_-]{1,51}$/.test(name)) {
    throw new Error(
      `connect handler name ${name} must begin with AWSClientVPN- and fit Lambda's 64 characters; ` +
        "set connectHandlerName",
    );
  }
  // The function refuses what Client VPN cannot show; catching it here keeps a bad value from
  // reaching the handler at all.
  if (props.denyMessage !== undefined && (Buffer.byteLength(props.denyMessage) > 255 || /[\x00-\x1f\x7f-\x9f]/.test(props.denyMessage))) {
    throw new Error("denyMessage must be one line of at most 255 bytes");
  }
  const timeout = (props.connectTimeout ?? Duration.seconds(2)).toMilliseconds();
  if (timeout < 50 || timeout > 25000) {
    throw new Error(`connectTimeout ${timeout} ms is not from 50 ms to 25 s (Client VPN waits 30 s)`);
  }
  const perUser = props.maxConnectionsPerUser;
  if (perUser !== undefined && (!Number.isInteger(perUser) || perUser < 1 || perUser > 1000)) {
    throw new Error(`maxConnectionsPerUser ${perUser} is not a whole number from 1 to 1000`);
  }
  return { name, timeout };
}

export interface ClientVpnTerminatorTargetProps extends ConnectSettings {
  /** Lambda deploys only code its signing profiles signed (the connect handler). Default: none. */
  readonly codeSigningConfig?: lambda.ICodeSigningConfig;
  /** The main construct's function role ARN: the only principal the target role trusts. */
  readonly mainFunctionRoleArn: string;
  /** When set, assuming the target role requires this sts:ExternalId (the main construct's externalId). */
  readonly externalId?: string;
  /** The main construct's targetRoleName. Default: cvpn-terminator-target. */
  readonly targetRoleName?: string;
  /**
   * IAM is global: create the target role in one Region of the account only. It acts on the
   * account's endpoints in every Region. Default: true.
   */
  readonly createTargetRole?: boolean;
  /** Endpoints (of any Region of this account) the role may terminate on. Default: every endpoint of this account. */
  readonly endpointIds?: string[];
  /** The connect handler refusing quarantined users. Default: true (needs stateTableArn). */
  readonly connectHandler?: boolean;
  /** The main construct's state table ARN (in any Region); the connect handler reads its quarantine# items. */
  readonly stateTableArn?: string;
  /** Directory holding `bootstrap`, as `cargo lambda build --release --arm64` leaves it. */
  readonly codePath?: string;
  /** The main construct's protectedUsers: never refused. */
  readonly protectedUsers?: string[];
  readonly usernameCase?: "insensitive" | "sensitive";
  /** TRACE, DEBUG or INFO (default). */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /** Default: one year. */
  readonly logRetention?: logs.RetentionDays;
  /** Notified when the connect handler cannot read the quarantine. */
  readonly alarmTopic?: sns.ITopic;
}

export class ClientVpnTerminatorTarget extends Construct {
  /** The role the main function assumes, when created here. */
  public readonly targetRole?: iam.Role;
  /** The role's ARN, whether created here or in another Region of the account. */
  public readonly targetRoleArn: string;
  /** `ROLE_ARN@REGION`: this account and Region's entry in the main construct's targets. */
  public readonly target: string;
  /** The function every endpoint here must call for the quarantine to hold. */
  public readonly connectHandler?: lambda.Function;
  public readonly quarantineCheckAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ClientVpnTerminatorTargetProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const roleName = props.targetRoleName ?? DEFAULT_TARGET_ROLE_NAME;
    if (!ROLE_NAME.test(roleName)) {
      throw new Error(`targetRoleName ${roleName} is not an IAM role name`);
    }
    this.targetRoleArn = `arn:${stack.partition}:iam::${stack.account}:role/${roleName}`;
    this.target = `${this.targetRoleArn}@${stack.region}`;

    if (props.createTargetRole ?? true) {
      this.targetRole = new iam.Role(this, "TargetRole", {
        roleName,
        description: "cvpn-terminator's main function ends Client VPN sessions in this account through this role.",
        assumedBy: new iam.ArnPrincipal(props.mainFunctionRoleArn),
        externalIds: props.externalId ? [props.externalId] : undefined,
      });
      this.targetRole.addToPolicy(
        new iam.PolicyStatement({
          sid: "DescribeClientVpn",
          actions: ["ec2:DescribeClientVpnEndpoints", "ec2:DescribeClientVpnConnections"],
          resources: ["*"], // these actions support no resource-level permissions
        }),
      );
      // This account's endpoints in every Region (the role is global), or the listed ones.
      const endpointArn = (endpoint: string) =>
        stack.formatArn({ service: "ec2", region: "*", resource: "client-vpn-endpoint", resourceName: endpoint });
      this.targetRole.addToPolicy(
        new iam.PolicyStatement({
          sid: "TerminateClientVpnConnections",
          actions: ["ec2:TerminateClientVpnConnections"],
          resources: props.endpointIds?.length ? props.endpointIds.map(endpointArn) : [endpointArn("*")],
        }),
      );
      NagSuppressions.addResourceSuppressions(
        this.targetRole,
        [
          {
            id: "AwsSolutions-IAM5",
            reason:
              "DescribeClientVpnEndpoints and DescribeClientVpnConnections support no resource-level permissions; " +
              "Terminate is limited to this account's Client VPN endpoints in every Region (the role is global), or the listed ones.",
            appliesTo: [
              "Resource::*",
              { regex: "/^Resource::arn:<AWS::Partition>:ec2:\\*:.+:client-vpn-endpoint\\/(\\*|cvpn-endpoint-[0-9a-f]+)$/" },
            ],
          },
        ],
        true,
      );
    }
    new CfnOutput(this, "Target", {
      description: "The entry to add to the main deployment's targets for this account and Region",
      value: this.target,
    });

    if (props.connectHandler ?? true) {
      if (!props.stateTableArn) {
        throw new Error("the connect handler needs stateTableArn (the main construct's state table); or set connectHandler: false");
      }
      const { handler, alarm } = this.addConnectHandler(props, props.stateTableArn);
      this.connectHandler = handler;
      this.quarantineCheckAlarm = alarm;
    }
  }

  private addConnectHandler(
    props: ClientVpnTerminatorTargetProps,
    tableArn: string,
  ): { handler: lambda.Function; alarm: cloudwatch.Alarm } {
    const stack = Stack.of(this);
    const quiet = [lambda.ApplicationLogLevel.WARN, lambda.ApplicationLogLevel.ERROR, lambda.ApplicationLogLevel.FATAL];
    if (props.logLevel !== undefined && quiet.includes(props.logLevel)) {
      throw new Error(`logLevel ${props.logLevel} would drop the handler's decision lines; use INFO or lower`);
    }
    const { handler, alarm } = buildConnectHandler(this, props, {
      defaultName: "AWSClientVPN-cvpn-terminator",
      // Named per Region (IAM is global): the central table's resource policy admits these names only.
      roleName: `${CONNECT_ROLE_PREFIX}${stack.region}`,
      // An ARN: the function reads the table in the ARN's Region, in the security account.
      table: tableArn,
      tableArn,
      code: lambda.Code.fromAsset(props.codePath ?? path.join(__dirname, "../../../target/lambda/cvpn-terminator")),
      description: "cvpn-terminator connect handler, refusing users the central quarantine holds",
      alarmDescription:
        "The connect handler could not read the central quarantine (or a user's connections) in time; connectOnError decided",
    });
    new CfnOutput(this, "ConnectHandlerArn", {
      description: "The connect handler every endpoint in this account and Region must call for the quarantine to hold",
      value: handler.functionArn,
    });
    return { handler, alarm };
  }
}

/** The settings of a connect handler beside its own, which both constructs take. */
export interface HandlerContext extends ConnectSettings {
  readonly protectedUsers?: string[];
  readonly usernameCase?: "insensitive" | "sensitive";
  readonly logLevel?: lambda.ApplicationLogLevel;
  readonly logRetention?: logs.RetentionDays;
  readonly alarmTopic?: sns.ITopic;
  /** Lambda deploys only code its signing profiles signed. Default: none. */
  readonly codeSigningConfig?: lambda.ICodeSigningConfig;
}

/** What differs between the main stack's connect handler and a target's. */
export interface HandlerPlace {
  readonly defaultName: string;
  readonly roleName?: string;
  /** CVPN_STATE_TABLE: the table's name, or its ARN in another account. */
  readonly table: string;
  /** What the handler's role may read. */
  readonly tableArn: string;
  readonly code: lambda.Code;
  readonly description?: string;
  readonly alarmDescription: string;
}

/**
 * A connect handler: the same code, answering Client VPN before every new connection from the
 * quarantine, which its role may read (quarantine# keys only) but not change; its log group and
 * the alarm on quarantine_check_failed.
 */
export function buildConnectHandler(
  scope: Construct,
  props: HandlerContext,
  at: HandlerPlace,
): { handler: lambda.Function; alarm: cloudwatch.Alarm } {
  const { name, timeout } = checkConnectSettings(props, at.defaultName);
  const logGroup = new logs.LogGroup(scope, "ConnectHandlerLogs", {
    retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, "ConnectHandlerRole", {
    roleName: at.roleName,
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ["dynamodb:BatchGetItem"],
      resources: [at.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["quarantine#*"] } },
    }),
  );
  if (props.maxConnectionsPerUser !== undefined) {
    role.addToPolicy(new iam.PolicyStatement({ actions: ["ec2:DescribeClientVpnConnections"], resources: ["*"] }));
  }
  logGroup.grantWrite(role);
  const handler = new lambda.Function(scope, "ConnectHandler", {
    codeSigningConfig: props.codeSigningConfig,
    functionName: name,
    description: at.description,
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: lambda.Architecture.ARM_64,
    handler: "bootstrap",
    code: at.code,
    memorySize: 128,
    // Client VPN waits 30 s; the handler answers within its connect timeout.
    timeout: Duration.seconds(29),
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: props.logLevel ?? lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    environment: {
      CVPN_STATE_TABLE: at.table,
      CVPN_PROTECTED_USERS: (props.protectedUsers ?? []).join(","),
      CVPN_USERNAME_CASE: props.usernameCase ?? "insensitive",
      CVPN_DENY_MESSAGE: props.denyMessage ?? "",
      CVPN_CONNECT_ON_ERROR: props.connectOnError ?? "allow",
      CVPN_CONNECT_TIMEOUT_MS: String(timeout),
      CVPN_MAX_CONNECTIONS_PER_USER: props.maxConnectionsPerUser === undefined ? "" : String(props.maxConnectionsPerUser),
    },
  });
  const alarm = alarmOnLogEvent(
    scope,
    logGroup,
    "quarantine_check_failed",
    "QuarantineCheckFailed",
    { filter: "QuarantineCheckFailed", alarm: "QuarantineCheckAlarm" },
    Duration.minutes(1),
    at.alarmDescription,
    props.alarmTopic,
  );
  suppressConnectRoleWildcard(role);
  return { handler, alarm };
}
