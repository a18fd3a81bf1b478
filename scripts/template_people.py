"""The checks of template.yaml's ways for people to answer, of its organization mode and of its
dashboard: the chat button, signed answers over a URL, an organization's accounts as the targets,
what the dashboard reads. Called by check-template.py with what it loaded."""
import json
import pathlib
import re


def run(check, template, raw, out, env, branches, permissions):
    res = out["Resources"]
    # The chat buttons: the transformer turns a real request's outcome event (the sample the Rust tests
    # keep in step) into a Chatbot custom notification, and each button's command, with the variables
    # Chatbot reads from that notification, is an answer the function decodes, within Chatbot's limits.
    chat = res["ChatRule"]["Properties"]
    check("chat: every outcome event that made a request for approval, from the outcome bus",
          chat["EventPattern"]["detail"] == {"approval_requests": {"id": [{"exists": True}]}}
          and "detail-type" not in chat["EventPattern"]
          and chat["EventBusName"] == {"Ref": "OutcomeBus"} and res["ChatRule"]["Condition"] == "ChatButtons")
    chat_publish = res["ChatTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    check("chat: only its rule may publish to its encrypted topic, and nobody else",
          [s["Condition"] for s in chat_publish if s["Effect"] == "Allow"]
          == [{"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ChatRule", "Arn"]}}}]
          and {"ArnNotEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ChatRule", "Arn"]}}}
          in [s["Condition"] for s in chat_publish if s["Effect"] == "Deny"]
          and res["ChatTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationKey"}
          and res["NotificationKey"]["Condition"] == "UsesNotificationKey")
    chat_rule_text = json.dumps(template["Rules"]["ChatButtonsNeedRequests"])
    check("chat: the button needs requests, outcome events and one approval (a rule says so)",
          "OutcomeBus" in chat_rule_text and "AskOverCap" in chat_rule_text
          and '{"Fn::Equals": [{"Ref": "ApprovalsRequired"}, 1]}' in chat_rule_text)
    chat_env = res["ChatFunction"]["Properties"]["Environment"]["Variables"]
    check("chat: the button's function acts as the main one and takes only approvals",
          {k: v for k, v in chat_env.items() if k != "CVPN_TAKES"} == env
          and chat_env["CVPN_TAKES"] == "chat-approvals" and "FunctionUrlConfig" not in raw["ChatFunction"]["Properties"])
    check("chat: one button, Approve (a denial is for a known identity)",
          sorted(k for k, v in res.items() if v["Type"] == "AWS::Chatbot::CustomAction") == ["ApproveChatAction"])
    asked = json.loads(pathlib.Path("events/outcomes/approval-requested.json").read_text())
    chat_target = chat["Targets"][0]
    transformer = chat_target["InputTransformer"]
    chat_template = transformer["InputTemplate"]["Fn::Sub"].replace("${ChatFunction}", "cvpn-ChatFunction-1A2B3C")
    try:
        for name, path in transformer["InputPathsMap"].items():
            value = asked
            for part in re.findall(r"[^.\[\]]+", path.removeprefix("$.")):
                value = value[int(part)] if part.isdigit() else value[part]
            # An unquoted placeholder takes the value as JSON, as EventBridge inserts it.
            chat_template = chat_template.replace(f"<{name}>", json.dumps(value))
        notification = json.loads(chat_template)
    except (KeyError, IndexError, ValueError) as e:
        print(f"# chat transformer: {e!r}")
        notification = None
    request_id = asked["detail"]["approval_requests"][0]["id"]
    check("chat: the notification is a Chatbot custom notification of the request",
          notification is not None and notification["version"] == "1.0" and notification["source"] == "custom"
          and notification["content"]["description"] == asked["detail"]["summary"]
          and notification["metadata"]["enableCustomActions"] is True
          and notification["metadata"]["additionalContext"]["requestId"] == request_id)
    for action, answer in [("ApproveChatAction", "Approve")]:
        props = res[action]["Properties"]
        command = props["Definition"]["CommandText"]
        [attachment] = props["Attachments"]
        variables = {}
        for name, path in attachment["Variables"].items():
            value = notification
            for part in path.removeprefix("event.").split("."):
                value = value.get(part) if isinstance(value, dict) else None
            variables[name] = value
        shown = all(
            (c["Operator"] == "HAS_VALUE" and variables.get(c["VariableName"]))
            or (c["Operator"] == "EQUALS" and variables.get(c["VariableName"]) == c["Value"])
            for c in attachment["Criteria"])
        ran = command
        for name in sorted(variables, key=len, reverse=True):
            ran = ran.replace(f"${name}", str(variables[name]))
        words = ran.split(" ", 5)
        try:
            payload = json.loads(ran.split("--payload ", 1)[1])
        except (IndexError, ValueError):
            payload = None
        check(f"chat: {answer} is a button on the request's notification, within Chatbot's limits",
              res[action]["Type"] == "AWS::Chatbot::CustomAction" and attachment["NotificationType"] == "Custom"
              and len(command) <= 100 and len(attachment["ButtonText"]) <= 50 and shown)
        check(f"chat: {answer} invokes this function with an answer to that request",
              words[:4] == ["lambda", "invoke", "--function-name", "cvpn-ChatFunction-1A2B3C"]
              and payload == {answer: {"Request": request_id, "RequestedBy": "chat"}} and "$" not in ran)
    for output in ["ChatTopicArn", "ChatActionArn", "ChatFunctionArn"]:
        check(f"output {output}", out["Outputs"][output]["Condition"] == "ChatButtons")

    # Answers signed with SigV4: a function of its own behind an AWS_IAM URL, configured as the main
    # one, whose direct invocation the approvers' policy never grants.
    answer_fn = res["AnswerFunction"]["Properties"]
    answer_env = answer_fn["Environment"]["Variables"]
    check("answers: the answers' function acts as the main one, and takes only signed answers",
          {k: v for k, v in answer_env.items() if k != "CVPN_TAKES"} == env
          and answer_env["CVPN_TAKES"] == "signed-answers" and res["AnswerFunction"]["Condition"] == "AnswersOverUrl"
          and "CVPN_TAKES" not in env)
    check("answers: its URL is AWS_IAM (Lambda checks the SigV4 signature and names the caller)",
          res["AnswerFunctionUrl"]["Properties"]["AuthType"] == "AWS_IAM")
    approver = res["ApproverPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    invoke = [s for s in approver if s["Action"] == "lambda:InvokeFunction"]
    check("answers: approvers may invoke the function only through the URL",
          invoke and all(s.get("Condition") == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}} for s in invoke)
          and all(s["Resource"] == {"Fn::GetAtt": ["AnswerFunction", "Arn"]} for s in approver))
    check("answers: no resource policy lets anyone invoke it directly",
          not [p for p in permissions.values()
               if json.dumps(p["Properties"]["FunctionName"]).find("AnswerFunction") >= 0])
    check("answers: a rule says ApprovalUrl needs something that asks", "ApprovalUrlNeedsRequests" in template["Rules"])
    for output in ["AnswersUrl", "ApproverPolicyArn"]:
        check(f"output {output}", out["Outputs"][output]["Condition"] == "AnswersOverUrl")

    # An organization's accounts as the targets: listed through the reader role or here, kept in the
    # table, and reached through the same target role as Targets' entries.
    org_policy = [p["Fn::If"] for p in res["FunctionRole"]["Properties"]["Policies"]
                  if "Fn::If" in p and p["Fn::If"][1]["PolicyName"] == "list-organization"]
    org_statements = branches(org_policy[0][1]["PolicyDocument"]["Statement"][0]) if org_policy else []
    check("organization: listed through OrganizationRoleArn, or here with the three List actions only",
          org_policy and org_policy[0][0] == "OrganizationOn"
          and {"Action": "sts:AssumeRole", "Resource": {"Ref": "OrganizationRoleArn"}}.items() <= org_statements[0].items()
          and sorted(org_statements[1]["Action"]) == ["organizations:ListAccounts", "organizations:ListAccountsForParent",
                                                       "organizations:ListChildren"])
    check("organization: it brings the table and reaches accounts as Targets does",
          "OrganizationOn" in json.dumps(template["Conditions"]["UsesStateTable"])
          and template["Conditions"]["ManyPlaces"] == {"Fn::Or": [{"Condition": "HasTargets"}, {"Condition": "OrganizationOn"}]}
          and "OrganizationOrTargets" in template["Rules"])
    organization_env = {"CVPN_ORGANIZATION_REGIONS": {"Ref": "OrganizationRegions"}, "CVPN_ORGANIZATION_UNITS": {"Ref": "OrganizationUnits"},
                        "CVPN_ORGANIZATION_EXCLUDED_ACCOUNTS": {"Ref": "OrganizationExcludedAccounts"},
                        "CVPN_ORGANIZATION_ROLE": {"Ref": "OrganizationRoleArn"}, "CVPN_TARGET_ROLE_NAME": {"Ref": "TargetRoleName"}}
    check("organization: every function that acts is given the organization's settings",
          all(organization_env.items() <= res[f]["Properties"]["Environment"]["Variables"].items()
              for f in ["Function", "SignalFunction", "AnswerFunction", "ChatFunction"]))

    # AWS Config's aggregator: asked through its role, or here on this account's aggregators only.
    aggregator_policy = [p["Fn::If"] for p in res["FunctionRole"]["Properties"]["Policies"]
                         if "Fn::If" in p and p["Fn::If"][1]["PolicyName"] == "ask-config-aggregator"]
    aggregator_statements = branches(aggregator_policy[0][1]["PolicyDocument"]["Statement"][0]) if aggregator_policy else []
    check("aggregator: asked through ConfigAggregatorRoleArn, or here with its two read actions on this account's aggregators",
          aggregator_policy and aggregator_policy[0][0] == "AsksAggregator"
          and "ManyPlaces" in json.dumps(template["Conditions"]["AsksAggregator"])
          and {"Action": "sts:AssumeRole", "Resource": {"Ref": "ConfigAggregatorRoleArn"}}.items() <= aggregator_statements[0].items()
          and sorted(aggregator_statements[1]["Action"]) == ["config:DescribeConfigurationAggregatorSourcesStatus",
                                                              "config:SelectAggregateResourceConfig"]
          and aggregator_statements[1]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:config:*:${AWS::AccountId}:config-aggregator/*"})
    aggregator_env = {"CVPN_CONFIG_AGGREGATOR": {"Ref": "ConfigAggregator"},
                      "CVPN_CONFIG_AGGREGATOR_ROLE": {"Ref": "ConfigAggregatorRoleArn"}}
    check("aggregator: every function that acts is given it, and its role only with it",
          all(aggregator_env.items() <= res[f]["Properties"]["Environment"]["Variables"].items()
              for f in ["Function", "SignalFunction", "AnswerFunction", "ChatFunction"])
          and "AggregatorRoleNeedsAggregator" in template["Rules"])

    dashboard(check, template, res)


# The dashboard reads what the functions write into their own log lines (embedded metric format):
# namespace CvpnTerminator, one dimension, Function, the function's name. Each function's metrics:
SESSIONS = {"SessionsEnded", "SessionsDeferred", "SessionsFailed", "HoldsPlaced", "HoldsLifted",
            "NotificationFailures", "Errors"}
DASHBOARD_METRICS = {
    "Function": SESSIONS | {"SweepSessionsEnded", "SweepSessionsDeferred", "SweepDuration"},
    "ConnectHandler": {"ConnectAllowed", "ConnectRefused", "ConnectCheckFailed", "ConnectLatency", "Errors"},
    "SignalFunction": SESSIONS, "AnswerFunction": SESSIONS, "ChatFunction": SESSIONS,
}
# Every condition a function or an alarm of the stack has.
DASHBOARD_CONDITIONS = ["QuarantineOn", "SignalsOn", "AnswersOverUrl", "ChatButtons", "NotifiesPeople", "FansOutSweeps"]


def render(value, on, named):
    """The DashboardBody as CloudFormation would make it with the conditions `on`; each resource
    it names is added to `named`, and stands in the text as <LogicalId> (<LogicalId.Attr>)."""
    if isinstance(value, str):
        return value
    [(fn, arg)] = value.items()
    if fn == "Fn::Join":
        return arg[0].join(render(v, on, named) for v in arg[1])
    if fn == "Fn::If":
        return render(arg[1] if on[arg[0]] else arg[2], on, named)
    if fn == "Fn::Sub" and isinstance(arg, str):
        def name(match):
            ref = match.group(1)
            if ref.startswith("AWS::"):
                return {"AWS::Region": "eu-west-1", "AWS::StackName": "cvpn"}[ref]
            named.add(ref.split(".")[0])
            return f"<{ref}>"
        return re.sub(r"\$\{([^!}][^}]*)\}", name, arg)
    raise ValueError(f"{fn} in the dashboard's body")


def read_widgets(body):
    """{function: {metric: {stat, ...}}} and the alarms listed, from a rendered body."""
    seen, alarms, periods = {}, [], set()
    for widget in body["widgets"]:
        props = widget["properties"]
        alarms += props.get("alarms", [])
        for line in props.get("metrics", []):
            options = line[4] if len(line) == 5 else {}
            if line[0] != "CvpnTerminator" or line[2] != "Function" or len(line) not in (4, 5) \
                    or not re.fullmatch(r"<\w+>", line[3]):
                raise ValueError(f"not a CvpnTerminator metric by Function: {line}")
            stats = seen.setdefault(line[3][1:-1], {}).setdefault(line[1], set())
            stats.add(options.get("stat", props.get("stat", "Average")))  # CloudWatch's default
            periods.add(options.get("period", props.get("period")))
    return seen, alarms, periods


def dashboard(check, template, res):
    board = res.get("MetricsDashboard", {})
    check("dashboard: on unless Dashboard is false",
          board.get("Condition") == "DashboardOn" and template["Parameters"].get("Dashboard", {}).get("Default") == "true"
          and template["Conditions"].get("DashboardOn") == {"Fn::Equals": [{"Ref": "Dashboard"}, "true"]})
    exists = (lambda on, r: res[r].get("Condition") is None or on[res[r]["Condition"]])
    failures = []
    for bits in range(2 ** len(DASHBOARD_CONDITIONS)):
        on = {c: bool(bits >> i & 1) for i, c in enumerate(DASHBOARD_CONDITIONS)}
        named = set()
        try:
            body = json.loads(render(board["Properties"]["DashboardBody"], on, named))
            seen, alarms, periods = read_widgets(body)
            functions = {r for r, v in res.items() if v["Type"] == "AWS::Lambda::Function" and exists(on, r)}
            stack_alarms = {f"<{r}.Arn>" for r, v in res.items() if v["Type"] == "AWS::CloudWatch::Alarm" and exists(on, r)}
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as e:
            failures.append(f"{on}: {e!r}")
            continue
        wanted = {f: {m: {"Sum"} for m in DASHBOARD_METRICS[f]} for f in functions}
        for f, metric, stats in [("Function", "SweepDuration", {"Maximum", "Average"}),
                                 ("ConnectHandler", "ConnectLatency", {"p50", "p99"})]:
            if f in wanted:
                wanted[f][metric] = stats
        if absent := [r for r in named if r not in res or not exists(on, r)]:
            failures.append(f"{on}: names {absent}, absent")
        flat = (lambda reads: {(f, m, s) for f, metrics in reads.items() for m, stats in metrics.items() for s in stats})
        if flat(seen) != flat(wanted):
            failures.append(f"{on}: reads {sorted(flat(seen) - flat(wanted))}, not {sorted(flat(wanted) - flat(seen))}")
        if set(alarms) != stack_alarms or len(alarms) != len(stack_alarms) or periods != {300}:
            failures.append(f"{on}: alarms {alarms} (the stack's: {sorted(stack_alarms)}), periods {periods}")
    for failure in failures:
        print(f"# dashboard: {failure}")
    check(f"dashboard: in each of {2 ** len(DASHBOARD_CONDITIONS)} combinations of {', '.join(DASHBOARD_CONDITIONS)}, "
          "a JSON body that reads every function's metrics (namespace CvpnTerminator, dimension Function) as Sums "
          "per 5 minutes (the connect latency's p50 and p99, a sweep's longest and average), lists every alarm, "
          "and names no resource its condition leaves out", not failures)
    output = template["Outputs"].get("DashboardName", {})
    check("dashboard: an output names it",
          output.get("Condition") == "DashboardOn" and output.get("Value") == {"Ref": "MetricsDashboard"})
