// Acting in several accounts and Regions from one deployment: the main function assumes the role
// ClientVpnTerminatorTarget creates in each network account, and the connect handlers there read
// the quarantine in the central table through its resource policy.
import { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";

export interface ManyTargetsProps {
  /**
   * Where to act (CVPN_TARGETS): `REGION` (this account, that Region) or `ROLE_ARN@REGION` (another
   * account, through its ClientVpnTerminatorTarget role, named targetRoleName without a path).
   * Default: this account and Region only; once set, only the places listed (list this Region to
   * keep acting here).
   */
  readonly targets?: string[];
  /**
   * Instead of targets, for an organization: every active account of the organization (or of
   * `units`, ou-... or r-..., at any depth), in each of `regions`, through its
   * ClientVpnTerminatorTarget role (targetRoleName). The accounts are listed through AWS
   * Organizations (through `readerRoleArn`, in the management or a delegated administrator account,
   * when given; otherwise by the function's own role) and kept in the state table, which this
   * brings.
   */
  readonly organization?: OrganizationProps;
  /**
   * An AWS Config aggregator that records AWS::EC2::ClientVpnEndpoint across the targets
   * (CVPN_CONFIG_AGGREGATOR*): where no sweep has lately said where endpoints are, an incident asks
   * it (two advanced queries and its sources' status) and spares the places where a recorder
   * records Client VPN endpoints, its sources succeeded, and it shows none. Default: none;
   * incidents list every place until a sweep has run.
   */
  readonly configAggregator?: ConfigAggregatorProps;
  /** Passed when assuming the target roles (CVPN_EXTERNAL_ID); the targets' externalId. */
  readonly externalId?: string;
  /** The target roles' name; the function may assume roles of this name only. Default: cvpn-terminator-target. */
  readonly targetRoleName?: string;
  /**
   * Network accounts whose connect handlers (roles cvpn-terminator-connect-REGION) may read the
   * quarantine in the state table. Default: none.
   */
  readonly targetAccountIds?: string[];
}

export interface OrganizationProps {
  readonly regions: string[];
  readonly units?: string[];
  /** Accounts that are no targets, such as the management account where a service-managed StackSet puts no role. */
  readonly excludedAccounts?: string[];
  readonly readerRoleArn?: string;
}

export interface ConfigAggregatorProps {
  readonly name: string;
  /** The aggregator's Region. Default: the function's. */
  readonly region?: string;
  /** A role in the aggregator's account that may ask it. Default: the function's own role asks (it is in this account). */
  readonly readerRoleArn?: string;
}

export const DEFAULT_TARGET_ROLE_NAME = "cvpn-terminator-target";
const AGGREGATOR_NAME = /^[A-Za-z0-9_-]{1,256}$/;
// AWS's Region grammar, as the function checks it (src/domain/targets.rs is_region).
const REGION =
  /^([a-z]{2}(-(gov|iso|isob|isoe|isof))?|eusc-de)-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]\d?$/;
const UNIT = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;

/** Refuses at synth what the function would refuse at start of an organization's settings. */
function checkOrganization(props: ManyTargetsProps): void {
  const org = props.organization;
  if (!org) return;
  if (props.targets?.length) {
    throw new Error("organization and targets are one or the other: the organization's accounts are the targets");
  }
  if (org.regions.length === 0 || org.regions.some((r) => !REGION.test(r))) {
    throw new Error(`organization.regions ${org.regions.join(",")}: Region names, at least one`);
  }
  if (new Set(org.regions).size !== org.regions.length) {
    throw new Error(`organization.regions ${org.regions.join(",")}: a Region is named twice`);
  }
  const account = (org.excludedAccounts ?? []).find((a) => !/^\d{12}$/.test(a));
  if (account !== undefined) {
    throw new Error(`organization.excludedAccounts: ${account} is not an account ID`);
  }
  const unit = (org.units ?? []).find((u) => !UNIT.test(u));
  if (unit !== undefined) {
    throw new Error(`organization.units: ${unit} is not an organizational unit's ID (ou-...-...) or the root's (r-...)`);
  }
  if (org.readerRoleArn !== undefined && !ROLE_ARN.test(org.readerRoleArn)) {
    throw new Error(`organization.readerRoleArn ${org.readerRoleArn} is not a role ARN`);
  }
}
/** The connect handlers' roles in the network accounts are named this, then their Region (IAM is global). */
export const CONNECT_ROLE_PREFIX = "cvpn-terminator-connect-";
export const ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
const ENTRY = /^([a-z]{2}(-[a-z]+)+-\d|arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+@[a-z]{2}(-[a-z]+)+-\d)$/;

/** Refuses at synth what the function would refuse at start. */
export function checkManyTargets(props: ManyTargetsProps): void {
  const roleName = props.targetRoleName ?? DEFAULT_TARGET_ROLE_NAME;
  const places = new Set<string>();
  for (const entry of props.targets ?? []) {
    if (!ENTRY.test(entry)) {
      throw new Error(`target ${entry} is neither REGION nor ROLE_ARN@REGION`);
    }
    const at = entry.lastIndexOf("@");
    const [arn, region] = at < 0 ? [undefined, entry] : [entry.slice(0, at), entry.slice(at + 1)];
    // The function may assume roles named targetRoleName only, and without a path.
    if (arn !== undefined && !arn.endsWith(`:role/${roleName}`)) {
      throw new Error(`target ${entry}: the function may assume only roles named ${roleName} (without a path)`);
    }
    const place = `${arn?.split(":")[4] ?? "this account"}/${region}`;
    if (places.has(place)) {
      throw new Error(`target ${entry}: ${place} is named twice`);
    }
    places.add(place);
  }
  checkOrganization(props);
  checkAggregator(props.configAggregator);
  if (props.externalId && !props.organization && !(props.targets ?? []).some((t) => t.includes("@"))) {
    throw new Error("externalId is set, but targets name no role to assume with it");
  }
  if (props.targetRoleName !== undefined && !ROLE_NAME.test(props.targetRoleName)) {
    throw new Error(`targetRoleName ${props.targetRoleName} is not an IAM role name`);
  }
  for (const account of props.targetAccountIds ?? []) {
    if (!/^\d{12}$/.test(account)) {
      throw new Error(`targetAccountIds: ${account} is not an AWS account ID`);
    }
  }
}

/** Refuses at synth what the function would refuse at start of the aggregator's settings. */
function checkAggregator(aggregator?: ConfigAggregatorProps): void {
  if (aggregator === undefined) {
    return;
  }
  if (!AGGREGATOR_NAME.test(aggregator.name)) {
    throw new Error(`configAggregator.name ${aggregator.name} is not an aggregator's name (letters, digits, _ or -)`);
  }
  if (aggregator.region !== undefined && !REGION.test(aggregator.region)) {
    throw new Error(`configAggregator.region ${aggregator.region} is not a Region`);
  }
  if (aggregator.readerRoleArn !== undefined && !ROLE_ARN.test(aggregator.readerRoleArn)) {
    throw new Error(`configAggregator.readerRoleArn ${aggregator.readerRoleArn} is not a role ARN`);
  }
}

/** Whether the table is shared with the network accounts' connect handlers. */
export function sharesQuarantine(props: ManyTargetsProps, quarantine: boolean): boolean {
  return quarantine && (props.targetAccountIds?.length ?? 0) > 0;
}

/**
 * The table's resource policy: the network accounts' connect handlers may BatchGetItem quarantine#
 * keys, nothing else. In a table's own policy `*` is that table (its ARN would be a circular
 * reference).
 */
export function quarantineReaders(scope: Construct, accounts: string[]): iam.PolicyDocument {
  const stack = Stack.of(scope);
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: "NetworkAccountsReadQuarantine",
        principals: accounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ["dynamodb:BatchGetItem"],
        resources: ["*"],
        conditions: {
          ArnLike: { "aws:PrincipalArn": `arn:${stack.partition}:iam::*:role/${CONNECT_ROLE_PREFIX}*` },
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["quarantine#*"] },
        },
      }),
    ],
  });
}

/** The function's side: AssumeRole on the target role name only, and its environment. */
export function reachTargets(scope: Construct, props: ManyTargetsProps, role: iam.IRole): Record<string, string> {
  const stack = Stack.of(scope);
  const org = props.organization;
  if (props.targets?.length || org) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "AssumeTargetRoles",
        actions: ["sts:AssumeRole"],
        resources: [`arn:${stack.partition}:iam::*:role/${props.targetRoleName ?? DEFAULT_TARGET_ROLE_NAME}`],
      }),
    );
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason:
            "The network accounts are named in targets, which the function reads at run time; the role name is fixed, " +
            "and each target role trusts this function's role only.",
          appliesTo: [{ regex: "/^Resource::arn:<AWS::Partition>:iam::\\*:role\\/[^*]+$/" }],
        },
      ],
      true,
    );
  }
  if (org?.readerRoleArn) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: "AssumeOrganizationReader", actions: ["sts:AssumeRole"], resources: [org.readerRoleArn] }),
    );
  } else if (org) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ListOrganization",
        actions: ["organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListChildren"],
        resources: ["*"],
      }),
    );
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason: "ListAccounts and ListChildren support no resource-level permissions; the three actions only read.",
          appliesTo: ["Resource::*"],
        },
      ],
      true,
    );
  }
  const aggregator = props.configAggregator;
  // Asked only where there is more than one place to spare listing.
  if (props.targets?.length || org) {
    askAggregator(scope, aggregator, role);
  }
  return {
    CVPN_TARGETS: (props.targets ?? []).join(","),
    CVPN_EXTERNAL_ID: props.externalId ?? "",
    CVPN_ORGANIZATION_REGIONS: (org?.regions ?? []).join(","),
    CVPN_ORGANIZATION_UNITS: (org?.units ?? []).join(","),
    CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS: (org?.excludedAccounts ?? []).join(","),
    CVPN_ORGANIZATION_ROLE: org?.readerRoleArn ?? "",
    CVPN_TARGET_ROLE_NAME: props.targetRoleName ?? DEFAULT_TARGET_ROLE_NAME,
    CVPN_CONFIG_AGGREGATOR: aggregator ? aggregator.name + (aggregator.region ? `@${aggregator.region}` : "") : "",
    CVPN_CONFIG_AGGREGATOR_ROLE: aggregator?.readerRoleArn ?? "",
  };
}

/** AWS Config's aggregator: asked through its reader role, or here on this account's aggregators. */
function askAggregator(scope: Construct, aggregator: ConfigAggregatorProps | undefined, role: iam.IRole): void {
  if (aggregator?.readerRoleArn) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: "AssumeAggregatorReader", actions: ["sts:AssumeRole"], resources: [aggregator.readerRoleArn] }),
    );
  } else if (aggregator) {
    const stack = Stack.of(scope);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "AskConfigAggregator",
        // The advanced query, and whether each source's data came through.
        actions: ["config:SelectAggregateResourceConfig", "config:DescribeConfigurationAggregatorSourcesStatus"],
        resources: [`arn:${stack.partition}:config:*:${stack.account}:config-aggregator/*`],
      }),
    );
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason: "An aggregator's ARN carries an ID Config assigns, not its name: this account's aggregators, read only.",
          appliesTo: [{ regex: "/^Resource::arn:<AWS::Partition>:config:\\*:[^:*]+:config-aggregator\\/\\*$/" }],
        },
      ],
      true,
    );
  }
}

/** The connect handler's role: the one wildcard cdk-nag flags, and why it stays. */
export function suppressConnectRoleWildcard(role: Construct): void {
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "DescribeClientVpnConnections supports no resource-level permissions (only with a per-user limit); " +
          "the table is read only for quarantine# keys.",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
}
