"""Every stack is created in moto's CloudFormation (what moto supports, and the types the
embedded AWS adds), in deploy order, with the parameters and imports the deploy order gives."""

from __future__ import annotations

import json

import pytest
from moto.cloudformation.parsing import get_model_map

from mysfits_deploy import stacks
from mysfits_local import cfn_types

UNITS = [unit.name for unit in stacks.UNITS]


def _resources(infra, unit: str) -> dict[str, dict]:
    summaries = infra.cloudformation.list_stack_resources(StackName=stacks.BY_NAME[unit].stack_name)
    return {r["LogicalResourceId"]: r for r in summaries["StackResourceSummaries"]}


def _deployed_template(infra, unit: str) -> dict:
    """The template the stack was deployed from (packaged and transformed)."""
    body = infra.cloudformation.get_template(StackName=stacks.BY_NAME[unit].stack_name)["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else body


@pytest.mark.parametrize("unit", UNITS)
def test_the_stack_is_created_with_every_resource_moto_can_make(deployed, unit):
    stack = deployed.cloudformation.describe_stacks(StackName=stacks.BY_NAME[unit].stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    template = _deployed_template(deployed, unit)
    creatable = set(get_model_map()) | set(cfn_types.ADDED_TYPES)
    resources = _resources(deployed, unit)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Condition"):
            continue  # created or not by the parameters: checked where they are set
        if resource["Type"] in creatable:
            assert resources[logical_id].get("PhysicalResourceId"), f"{logical_id} ({resource['Type']}) not created"


def test_the_local_units_create_every_resource_they_declare(deployed):
    """What `make up` deploys is wholly created: nothing it needs is skipped."""
    from mysfits_local.infra import LOCAL_UNITS

    for unit in LOCAL_UNITS:
        template = _deployed_template(deployed, unit)
        resources = _resources(deployed, unit)
        creatable = set(get_model_map()) | set(cfn_types.ADDED_TYPES)
        needed = {i for i, r in template["Resources"].items() if r["Type"] in creatable and not r.get("Condition")}
        assert needed <= {i for i, r in resources.items() if r.get("PhysicalResourceId")}, unit
