"""The checks of template.yaml's sweep split by place (SweepFanOut): the state machine and its
definition (statemachine/sweep.asl.json, which asl-validator checks as a file), the input the
schedule gives it, its roles, the table it needs and its alarm. Called by check-template.py with
what it loaded; `definition_uri` is the state machine's DefinitionUri before it was replaced."""
import json
import pathlib
import re

# Lambda's own transient failures, retried with backoff (AWS's recommended set for lambda:invoke).
TRANSIENT = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
             "Lambda.TooManyRequestsException"}
# The fields of the execution's input the definition reads, and the parameter behind each.
SETTINGS = {"concurrency": "SweepConcurrency", "toleratedFailurePercentage": "SweepToleratedFailurePercentage",
            "placesPerChild": "SweepPlacesPerChild"}


def tasks(states):
    """Every Task of a definition, inside Map states too, by name."""
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        if state["Type"] == "Map":
            yield from tasks(state["ItemProcessor"]["States"])


def definition_checks(check, definition):
    """What the definition does with the function, whatever the template around it says."""
    states = definition["States"]
    lister = states[definition["StartAt"]]
    [sweep] = [s for s in states.values() if s["Type"] == "Map"]
    processor = sweep["ItemProcessor"]
    child = processor["States"][processor["StartAt"]]
    check("sweep definition: every task invokes the function, and only it, by its substituted ARN",
          all(t["Resource"] == "arn:aws:states:::lambda:invoke" and t["Parameters"]["FunctionName"] == "${FunctionArn}"
              for _, t in tasks(states)) and "${" not in json.dumps(definition).replace("${FunctionArn}", ""))
    check("sweep definition: the lister gets the tick's time and its places feed the Map",
          lister["Parameters"]["Payload"] == {"Places": {"Time.$": "$.time"}} and lister["Next"] in states
          and lister["ResultSelector"] == {"Time.$": "$.Payload.places.time", "Places.$": "$.Payload.places.targets",
                                           "Refused.$": "$.Payload.places.refused"}
          and sweep["ItemsPath"] == f"{lister['ResultPath']}.Places"
          and sweep["ItemBatcher"]["BatchInput"] == {"Time.$": f"{lister['ResultPath']}.Time"})
    check("sweep definition: a Distributed Map of STANDARD children (a sweep may outlast Express's five minutes)",
          processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    check("sweep definition: each child sweeps its batch of places at the tick's time, its answer dropped",
          child["Parameters"]["Payload"] == {"Sweep": {"Time.$": "$.BatchInput.Time", "Targets.$": "$.Items"}}
          and child.get("End") is True and "OutputPath" in child and child["OutputPath"] is None)
    paths = {"MaxConcurrencyPath": "concurrency", "ToleratedFailurePercentagePath": "toleratedFailurePercentage"}
    check("sweep definition: concurrency, tolerated failures and places per child come from the execution's input",
          all(sweep[k] == f"$.{v}" for k, v in paths.items())
          and sweep["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.placesPerChild"
          and not {"MaxConcurrency", "ToleratedFailurePercentage"} & sweep.keys()
          and "MaxItemsPerBatch" not in sweep["ItemBatcher"])
    for name, task in [("lister", lister), ("child", child)]:
        transient = [r for r in task["Retry"] if set(r["ErrorEquals"]) == TRANSIENT]
        check(f"sweep definition: the {name} retries Lambda's transient errors first, with backoff",
              transient and task["Retry"][0] is transient[0]
              and transient[0]["BackoffRate"] > 1 and transient[0]["MaxAttempts"] >= 3)
    failed = [r for r in child["Retry"] if "Incomplete" in r["ErrorEquals"]]
    check("sweep definition: a child that could not sweep all its places is retried at most twice, with backoff; "
          "a refused request (BadEvent) never",
          len(failed) == 1 and not any("BadEvent" in r["ErrorEquals"] or "States.TaskFailed" in r["ErrorEquals"]
                                       for r in child["Retry"]) and 1 <= failed[0]["MaxAttempts"] <= 2 and failed[0]["BackoffRate"] > 1
          and not any("States.ALL" in r["ErrorEquals"] for _, t in tasks(states) for r in t.get("Retry", [])))
    after = states.get(sweep.get("Next"), {})
    check("sweep definition: a tick with places the function could not list fails once its children are done",
          after.get("Type") == "Choice"
          and after["Choices"] == [{"Variable": f"{lister['ResultPath']}.Refused", "NumericGreaterThan": 0,
                                    "Next": after["Choices"][0]["Next"]}]
          and states[after["Choices"][0]["Next"]]["Type"] == "Fail"
          and states[after["Default"]]["Type"] == "Succeed")
    return sweep["Label"]


def input_checks(check, template, raw):
    """The schedule starts the state machine, with an input the definition can read."""
    params = template["Parameters"]
    target = raw["ScheduleRule"]["Properties"]["Targets"][0]["Fn::If"]
    fanned = target[1]
    check("schedule: the state machine, started through its own role, when SweepFanOut is on; else the function",
          target[0] == "FansOutSweeps" and fanned["Arn"] == {"Ref": "SweepStateMachine"}
          and fanned["RoleArn"] == {"Fn::GetAtt": ["ScheduleRole", "Arn"]}
          and target[2] == {"Id": "sweep", "Arn": {"Fn::GetAtt": ["Function", "Arn"]}}
          and raw["ScheduleInvoke"]["Condition"] == "SchedulesFunction"
          and raw["ScheduleRole"]["Condition"] == "SchedulesFanOut")
    # The transformer on a real scheduled event, with the parameters' defaults, as EventBridge would.
    transformer = fanned["InputTransformer"]
    event = json.loads(pathlib.Path("events/scheduled-event.json").read_text())
    text = re.sub(r"\$\{(\w+)\}", lambda m: str(params[m.group(1)]["Default"]), transformer["InputTemplate"]["Fn::Sub"])
    for name, path in transformer["InputPathsMap"].items():
        text = text.replace(f"<{name}>", json.dumps(event[path.removeprefix("$.")]))
    try:
        given = json.loads(text)
    except ValueError:
        given = None
    check("schedule: the state machine's input is the tick's time and the three settings, as numbers",
          given is not None and given.get("time") == event["time"]
          and set(given) == {"time", *SETTINGS}
          and all(isinstance(given[k], int) and f"${{{p}}}" in transformer["InputTemplate"]["Fn::Sub"]
                  for k, p in SETTINGS.items()))
    bounded = {p: (params[p].get("MinValue"), params[p].get("MaxValue")) for p in SETTINGS.values()}
    check("schedule: the settings are bounded numbers (no concurrency 0, which a Map reads as no limit)",
          all(params[p]["Type"] == "Number" and lo is not None and hi is not None for p, (lo, hi) in bounded.items())
          and bounded["SweepConcurrency"][0] >= 1 and bounded["SweepPlacesPerChild"][0] >= 1
          and bounded["SweepToleratedFailurePercentage"] == (0, 100)
          and params["SweepFanOut"]["Default"] == "false")
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    check("schedule: the split's parameters have a group of their own",
          any(g["Parameters"] == ["SweepFanOut", *SETTINGS.values()] for g in groups))


def role_checks(check, res, label):
    """The state machine's roles: the function, its own child executions, its logs; nothing else."""
    trust = res["SweepRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    check("sweep role: trusted by Step Functions of this account only",
          [s["Principal"] for s in trust] == [{"Service": "states.amazonaws.com"}]
          and all(s["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}} for s in trust))
    stmts = [s for p in res["SweepRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    stmts += res["SweepChildren"]["Properties"]["PolicyDocument"]["Statement"]
    by_action = {}
    for s in stmts:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s["Resource"])
    check("sweep role: lambda:InvokeFunction on the function alone",
          by_action.get("lambda:InvokeFunction") == [{"Fn::GetAtt": ["Function", "Arn"]}])
    children = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
                           "${SweepStateMachine.Name}/" + label + ":*"}
    check("sweep role: starts its Map's children; follows, stops and redrives them only",
          by_action.get("states:StartExecution") == [{"Ref": "SweepStateMachine"}]
          and all(by_action.get(f"states:{a}") == [children]
                  for a in ("DescribeExecution", "StopExecution", "RedriveExecution"))
          and res["SweepChildren"]["Properties"]["RoleName"] == {"Ref": "SweepRole"})
    check("sweep role: only the log delivery and X-Ray actions, which have no resource scope, on *",
          all(a.startswith(("logs:", "xray:")) for a, rs in by_action.items() if "*" in rs)
          and not any("*" in a for a in by_action))
    schedule = res["ScheduleRole"]["Properties"]
    check("schedule role: EventBridge of this account may start the state machine, nothing else",
          [s["Principal"] for s in schedule["AssumeRolePolicyDocument"]["Statement"]] == [{"Service": "events.amazonaws.com"}]
          and [s for p in schedule["Policies"] for s in p["PolicyDocument"]["Statement"]]
          == [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": {"Ref": "SweepStateMachine"}}])


def run(check, template, raw, out, definition_uri):
    res = out["Resources"]
    machine = raw["SweepStateMachine"]
    props = machine["Properties"]
    check("sweep: a STANDARD state machine from statemachine/sweep.asl.json, the function's ARN substituted",
          machine["Condition"] == "FansOutSweeps" and props["Type"] == "STANDARD"
          and definition_uri == "statemachine/sweep.asl.json"
          and props["DefinitionSubstitutions"] == {"FunctionArn": {"Fn::GetAtt": ["Function", "Arn"]}}
          and props["Role"] == {"Fn::GetAtt": ["SweepRole", "Arn"]})
    check("sweep: every event logged with its data to its own log group (LogRetentionDays), traced",
          props["Logging"]["Level"] == "ALL" and props["Logging"]["IncludeExecutionData"] is True
          and props["Logging"]["Destinations"] == [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["SweepLogGroup", "Arn"]}}}]
          and raw["SweepLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
          and props["Tracing"] == {"Enabled": True})
    check("sweep: splitting brings the state table the children share the tick's ceiling through",
          {"Condition": "FansOutSweeps"} in template["Conditions"]["UsesStateTable"]["Fn::Or"])
    label = definition_checks(check, json.loads(pathlib.Path(definition_uri).read_text()))
    input_checks(check, template, raw)
    role_checks(check, res, label)
    alarm = res["SweepFailedAlarm"]["Properties"]
    check("sweep: an alarm on a failed run",
          alarm["Namespace"] == "AWS/States" and alarm["MetricName"] == "ExecutionsFailed"
          and alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "SweepStateMachine"}}])
    check("output SweepStateMachineArn", out["Outputs"]["SweepStateMachineArn"]["Condition"] == "FansOutSweeps")
