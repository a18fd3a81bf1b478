import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { sideFunction, SideFunctionParts } from "./side-function";

/** The identity provider's word (docs/idp.md). */
export interface IdpProps {
  /**
   * Okta's log stream partner event bus, named as its partner event source
   * (`aws.partner/okta.com/ORG/STREAM`): a rule on it sends the events that act, and the function
   * trusts that source (CVPN_IDP_SOURCES). Default: none.
   */
  readonly oktaEventBusName?: string;
  /**
   * IAM Identity Center identity stores (`d-1234567890`) whose CloudTrail records act: a rule on
   * the default bus sends their DisableUser, DeleteUser and EnableUser calls, and the function may
   * DescribeUser there (CVPN_IDENTITY_STORE_IDS). Deploy where Identity Center's records arrive.
   * Default: none.
   */
  readonly identityStoreIds?: string[];
  /** The IdP's "back in" lifts the holds its own word alone placed. Default: false. */
  readonly idpReleaseOnReactivate?: boolean;
  /**
   * Turns on a Function URL (AuthType NONE: the IdP's signed token is the authentication) for
   * Global Token Revocation and Shared Signals push, on a function of its own. Default: none.
   */
  readonly signal?: { readonly jwksUrl: string; readonly issuer: string; readonly audience: string };
  /** The Function URL's function's reserved concurrency, so a flood cannot take the rest. Default: 5. */
  readonly signalReservedConcurrency?: number;
}

/** The System Log event types a rule on the partner bus sends: those that act, and "back in". */
export const OKTA_EVENT_TYPES = [
  "user.lifecycle.deactivate",
  "user.lifecycle.suspend",
  "user.lifecycle.delete.initiated",
  "user.lifecycle.delete.completed",
  "user.session.clear",
  "policy.entity_risk.action",
  "user.lifecycle.activate",
  "user.lifecycle.reactivate",
  "user.lifecycle.unsuspend",
];

// ORG and STREAM are literal: no slash, no wildcard.
const OKTA_BUS = new RegExp("^aws\\.partner/okta\\.com/[^/*]+/[^/*]+$");

const STORE_ID = /^[A-Za-z0-9-]{1,64}$/;

export function idpEnvironment(props: IdpProps): Record<string, string> {
  const bad = (props.identityStoreIds ?? []).find((id) => !STORE_ID.test(id));
  if (bad !== undefined) {
    throw new Error(`identityStoreIds: ${bad} is not an identity store ID (d-1234567890)`);
  }
  if (props.oktaEventBusName !== undefined && !OKTA_BUS.test(props.oktaEventBusName)) {
    throw new Error(`oktaEventBusName ${props.oktaEventBusName} is not aws.partner/okta.com/ORG/STREAM`);
  }
  if (props.signal && !/^https:\/\/[^/]+/.test(props.signal.jwksUrl)) {
    throw new Error(`signal.jwksUrl ${props.signal.jwksUrl} must be an https:// URL`);
  }
  return {
    CVPN_IDP_SOURCES: props.oktaEventBusName ?? "",
    CVPN_IDENTITY_STORE_IDS: (props.identityStoreIds ?? []).join(","),
    CVPN_IDP_RELEASE_ON_REACTIVATE: String(props.idpReleaseOnReactivate ?? false),
  };
}

/**
 * The rule for Identity Center's records on the default bus: the named stores' calls that say a
 * user is out or back, only those that happened; and DescribeUser in those stores, which names
 * the user the records name by ID.
 */
export function addIdentityCenterRule(scope: Construct, fn: lambda.IFunction, props: IdpProps): void {
  const stores = props.identityStoreIds ?? [];
  if (stores.length === 0) return;
  new events.Rule(scope, "IdentityCenterUsers", {
    description: "IAM Identity Center users disabled, deleted or enabled",
    eventPattern: {
      source: ["aws.sso-directory", "aws.identitystore"],
      detailType: ["AWS API Call via CloudTrail"],
      detail: {
        eventName: ["DisableUser", "DeleteUser", "EnableUser"],
        errorCode: [{ exists: false }],
        requestParameters: { identityStoreId: stores },
      },
    },
    targets: [new targets.LambdaFunction(fn)],
  });
  const partition = Stack.of(scope).partition;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      // DescribeUser names a record's user; GetUserId checks a remembered name is no one else's now.
      actions: ["identitystore:DescribeUser", "identitystore:GetUserId"],
      resources: [
        `arn:${partition}:identitystore:::user/*`,
        ...stores.map((id) => `arn:${partition}:identitystore::*:identitystore/${id}`),
      ],
    }),
  );
  if (fn.role) {
    NagSuppressions.addResourceSuppressions(
      fn.role,
      [
        {
          id: "AwsSolutions-IAM5",
          reason:
            "DescribeUser names a user of the named identity stores only: a user's ARN carries no store, " +
            "and a store's ARN no account (store IDs are unique).",
          appliesTo: [{ regex: "/^Resource::arn:<AWS::Partition>:identitystore::(:user\\/\\*|\\*:identitystore\\/.+)$/" }],
        },
      ],
      true,
    );
  }
}

/** The rule on Okta's partner bus: successful events of the types that act or say "back in". */
export function addOktaRule(scope: Construct, fn: lambda.IFunction, props: IdpProps): void {
  if (!props.oktaEventBusName) return;
  new events.Rule(scope, "OktaSystemLog", {
    description: "Okta System Log events that say a person is out, or back in",
    eventBus: events.EventBus.fromEventBusName(scope, "OktaBus", props.oktaEventBusName),
    eventPattern: {
      source: [props.oktaEventBusName],
      detailType: ["SystemLog"],
      detail: { eventType: OKTA_EVENT_TYPES, outcome: { result: ["SUCCESS"] } },
    },
    targets: [new targets.LambdaFunction(fn)],
  });
}

/** The Function URL's own function, with the incident settings and the IdP's. */
export function addSignalFunction(
  scope: Construct,
  props: IdpProps & { readonly memorySize?: number },
  parts: SideFunctionParts,
): { url: lambda.FunctionUrl; function: lambda.Function } | undefined {
  if (!props.signal) return undefined;
  const fn = sideFunction(scope, "SignalFunction", { ...parts, memorySize: props.memorySize }, {
    environment: {
      CVPN_SIGNAL_JWKS_URL: props.signal.jwksUrl,
      CVPN_SIGNAL_ISSUER: props.signal.issuer,
      CVPN_SIGNAL_AUDIENCE: props.signal.audience,
    },
    reservedConcurrency: props.signalReservedConcurrency ?? 5,
    // The IdP waits for the answer; the incident path ends sessions within one round trip.
    timeout: Duration.seconds(30),
  });
  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  new CfnOutput(scope, "SignalUrl", {
    description: "Give the IdP <url>global-token-revocation (Universal Logout) and <url>ssf/events (SSF push)",
    value: url.url,
  });
  return { url, function: fn };
}
