"""Deploying one stack through a change set, and reading stacks' outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from botocore.exceptions import ClientError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}


class DeployError(RuntimeError):
    """A stack that did not reach a complete state, with the failing resources' reasons."""


def outputs(cloudformation, stack_name: str) -> dict[str, str] | None:
    """A stack's outputs by key, or None when the stack does not exist."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    if stack["StackStatus"] not in _DONE:
        return None
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy(
    cloudformation,
    stack_name: str,
    template: dict,
    parameters: dict[str, str],
    timeout: float = 900,
    on_plan: Callable[[list[dict]], None] | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> dict:
    """Create or update `stack_name` through a change set; its outputs once complete.

    `on_plan` sees the change set's changes before it runs; `on_event` each new stack event
    (a resource starting, completing or failing) while it runs.
    """
    exists = outputs(cloudformation, stack_name) is not None
    change_set = f"{stack_name}-{time.time_ns()}"
    cloudformation.create_change_set(
        StackName=stack_name,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
    )
    while True:
        described = cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=change_set)
        if described["Status"] == "FAILED":
            cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=change_set)
            if "didn't contain changes" in described.get("StatusReason", "") or "No updates" in described.get(
                "StatusReason", ""
            ):
                return outputs(cloudformation, stack_name) or {}
            raise DeployError(f"stack {stack_name}: change set failed: {described.get('StatusReason')}")
        if described["Status"] == "CREATE_COMPLETE":
            break
        time.sleep(0.5)
    if on_plan:
        on_plan(described.get("Changes", []))
    seen = {e["EventId"] for e in cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]}
    try:
        cloudformation.execute_change_set(StackName=stack_name, ChangeSetName=change_set)
    except ClientError as error:  # moto creates the resources inside this call
        raise DeployError(f"stack {stack_name}: {error}") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        for event in reversed([e for e in events if e["EventId"] not in seen]):
            seen.add(event["EventId"])
            if on_event and event.get("LogicalResourceId") != stack_name:
                on_event(event)
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in _DONE:
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if status.endswith("FAILED") or "ROLLBACK" in status:
            raise DeployError(f"stack {stack_name} ended {status}: {failures(cloudformation, stack_name)}")
        time.sleep(0.2)
    raise DeployError(f"stack {stack_name} did not complete in {timeout:.0f}s")


def failures(cloudformation, stack_name: str) -> str:
    """The resources that failed, with their reasons."""
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    failed = [
        f"{e['LogicalResourceId']} ({e.get('ResourceType', '?')}): {e.get('ResourceStatusReason', 'no reason given')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ]
    return "; ".join(failed) or events[0].get("ResourceStatusReason", "no reason given") if events else "no events"
