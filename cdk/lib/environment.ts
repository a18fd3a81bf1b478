import type { ClientVpnTerminatorProps } from "./props";
import { askEnvironment } from "./asking";
import { idpEnvironment } from "./idp";

const optional = (value: number | undefined) => (value === undefined ? "" : String(value));
const list = (values?: string[]) => (values ?? []).join(",");

/** What the construct built that the function's settings name. */
export interface EnvironmentParts {
  readonly reach: Record<string, string>;
  readonly table?: string;
  readonly quarantineMinutes: number;
  readonly connectHandlerArn?: string;
  readonly notifications: Record<string, string>;
}

/**
 * The function's environment (docs/configuration.md): the props as the settings, with the
 * defaults template.yaml's parameters have. The Function URL's function takes the same.
 */
export function functionEnvironment(props: ClientVpnTerminatorProps, parts: EnvironmentParts): Record<string, string> {
  return {
    CVPN_ENDPOINT_IDS: list(props.endpointIds),
    ...parts.reach,
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
    CVPN_STATE_TABLE: parts.table ?? "",
    CVPN_CONCURRENCY: String(props.concurrency ?? 8),
    CVPN_PLACE_CONCURRENCY: String(props.placeConcurrency ?? 32),
    CVPN_MAX_ATTEMPTS: String(props.maxAttempts ?? 5),
    CVPN_QUARANTINE_MINUTES: String(parts.quarantineMinutes),
    CVPN_HOLD_COMMON_NAMES: props.holdCommonNames ?? "auto",
    // Incidents warn when an endpoint in scope does not call this handler.
    CVPN_CONNECT_HANDLER_ARN: parts.connectHandlerArn ?? "",
    ...idpEnvironment(props),
    ...askEnvironment(props),
    ...parts.notifications,
  };
}
