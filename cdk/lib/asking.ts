/** Asking a person first (docs/approvals.md): what the team wants a person to decide. */
export interface AskingProps {
  /** Findings from minSeverity up to (not including) this ask first (CVPN_ASK_BELOW_SEVERITY). Default: none. */
  readonly askBelowSeverity?: number;
  /** People whose sessions are only ended on approval (CVPN_ASK_USERS). Default: none. */
  readonly askUsers?: string[];
  /** An incident over maxTerminations asks instead of failing (CVPN_ASK_OVER_CAP). Default: false. */
  readonly askOverCap?: boolean;
  /** How long a request waits for its answer (CVPN_ASK_MINUTES). Default: 60. */
  readonly askMinutes?: number;
  /** Approvals from distinct verified identities a request needs (CVPN_APPROVALS_REQUIRED). Default: 1. */
  readonly approvalsRequired?: number;
  /**
   * Each request also goes to a chat topic as an AWS Chatbot custom notification with an Approve
   * button, run by a function that takes only approvals; link the ChatTopicArn and ChatActionArn
   * outputs to your Chatbot channel and let its role invoke ChatFunctionArn only. Needs outcome
   * events, something that asks and approvalsRequired 1. Default: false.
   */
  readonly chatApprovalButtons?: boolean;
  /**
   * A function of its own whose Function URL (AuthType AWS_IAM) takes answers signed with SigV4
   * (POST /approvals), each signer a verified identity; attach the ApproverPolicyArn output to the
   * people who may approve. Needs something that asks. Default: false.
   */
  readonly approvalUrl?: boolean;
}

/** Whether anything asks: requests wait in the state table, which is then created. */
export function asksFirst(props: AskingProps): boolean {
  return props.askBelowSeverity !== undefined || (props.askUsers ?? []).length > 0 || (props.askOverCap ?? false);
}

/** The asking settings, as template.yaml's parameters set them. */
export function askEnvironment(props: AskingProps): Record<string, string> {
  return {
    CVPN_ASK_BELOW_SEVERITY: props.askBelowSeverity === undefined ? "" : String(props.askBelowSeverity),
    CVPN_ASK_USERS: (props.askUsers ?? []).join(","),
    CVPN_ASK_OVER_CAP: String(props.askOverCap ?? false),
    CVPN_ASK_MINUTES: String(props.askMinutes ?? 60),
    CVPN_APPROVALS_REQUIRED: String(props.approvalsRequired ?? 1),
  };
}
