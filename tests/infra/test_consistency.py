"""The templates agree with the code they deploy and with each other: each fact has one source.

* each table equals its PynamoDB model (keys, indexes, projections);
* each task definition sets only variables its service reads, and every one it requires;
* the API stacks deploy the very OpenAPI files the gateway stand-in serves;
* every handler a template names is importable;
* every import names an export of an earlier stack, every parameter without a default is given
  by the deploy order (`mysfits_deploy.stacks`);
* the two service stacks have the same shape;
* every mysfitId in the API definitions follows the shared id rule (`mysfits_shared.ids`);
* each schema of the API definition says what its marshmallow schema says (`mysfits_shared.schemas`),
  the list's query parameters and filter names included; the site's filters (`web/js/api.js`) and
  the enricher's field list agree with them.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from marshmallow import Schema, fields
from marshmallow.validate import Length, OneOf, Range

from adoption.settings import AdoptionSettings
from catalog.settings import CatalogSettings
from mysfits_deploy import stacks, templates
from mysfits_deploy.stacks import BY_NAME, UNITS
from mysfits_local.infra import LocalInfra
from mysfits_shared import gunicorn_conf, ids, models
from mysfits_shared.schemas import ListQuerySchema, MysfitSchema, validate_mysfit_id
from mysfits_shared.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"catalog": CatalogSettings, "adoption": AdoptionSettings}  # unit -> its settings class


def _template(unit: str) -> dict:
    return templates.load(BY_NAME[unit].template_path)


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


# -- tables -------------------------------------------------------------------------------


def _keys(keys: list[dict]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in keys}


def _model_table(model) -> dict:
    schema = model._get_schema()
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]),
        "keys": _keys(schema["key_schema"]),
        "indexes": {
            i["index_name"]: (_keys(i["key_schema"]), i["projection"]) for i in schema["global_secondary_indexes"]
        },
    }


def _template_table(properties: dict) -> dict:
    return {
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]),
        "keys": _keys(properties["KeySchema"]),
        "indexes": {
            i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"])
            for i in properties.get("GlobalSecondaryIndexes", [])
        },
    }


def test_each_table_of_the_data_stack_equals_its_model():
    """Keys, attribute types, every GSI with its keys and projection; the outputs name them."""
    template = _template("data")
    tables = _resources(template, "AWS::DynamoDB::Table")
    by_output = {"MysfitsTableName": models.Mysfit, "LikesTableName": models.MysfitLike}
    assert len(tables) == len(by_output) == len(models.MODELS)
    for output, model in by_output.items():
        logical_id = template["Outputs"][output]["Value"]["Ref"]
        assert _template_table(tables[logical_id]["Properties"]) == _model_table(model), output


# -- task definitions ---------------------------------------------------------------------


class _Recording(Mapping):
    """An environment that remembers every name read from it."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.read: set[str] = set()

    def __getitem__(self, name):
        self.read.add(name)
        return self.values[name]

    def get(self, name, default=None):
        self.read.add(name)
        return self.values.get(name, default)

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def _read_by_service(kind: type[Settings]) -> tuple[set[str], set[str]]:
    """(every variable the service's settings and gunicorn read, those it requires)."""
    empty = _Recording({})
    with pytest.raises(ConfigError) as missing:
        kind.from_env("check", empty)
    required = set(re.findall(r"(\w+)(?: or \w+)* is required", str(missing.value)))
    gunicorn = {
        node.args[0].value
        for node in ast.walk(ast.parse(Path(gunicorn_conf.__file__).read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get" and node.args
        if isinstance(node.args[0], ast.Constant)
    }
    return empty.read | gunicorn, required


@pytest.mark.parametrize("unit", list(SERVICES))
def test_each_task_definition_sets_what_its_service_reads(unit):
    read, required = _read_by_service(SERVICES[unit])
    (task,) = _resources(_template(unit), "AWS::ECS::TaskDefinition").values()
    service = next(c for c in task["Properties"]["ContainerDefinitions"] if c.get("PortMappings"))
    names = {variable["Name"] for variable in service.get("Environment", [])}
    assert names <= read, f"{unit} sets variables its code never reads: {sorted(names - read)}"
    assert required <= names, f"{unit} misses required variables: {sorted(required - names)}"


def test_the_service_stacks_have_the_same_shape():
    catalog, adoption = _template("catalog"), _template("adoption")
    shape = lambda t: [(i, r["Type"]) for i, r in t["Resources"].items()]  # noqa: E731
    assert shape(catalog) == shape(adoption)
    # The catalog alone answers image URIs, so it alone is told where the images are published.
    assert [name for name in catalog["Parameters"] if name != "AssetBaseUrl"] == list(adoption["Parameters"])
    assert list(catalog["Outputs"]) == list(adoption["Outputs"])


# -- APIs and handlers --------------------------------------------------------------------


def _definition_uris() -> dict[str, Path]:
    found = {}
    for unit in UNITS:
        for name, path in templates.local_artifacts(templates.load(unit.template_path)).values():
            if name == "DefinitionUri":
                found[unit.name] = (unit.template_path.parent / path).resolve()
    return found


def test_the_api_stacks_deploy_the_definitions_the_gateway_serves():
    """The gateway stand-in is given the files the API stacks' DefinitionUri name, and no other."""
    uris = _definition_uris()
    assert set(uris) == {"api", "clicks"}
    assert all(path.is_file() for path in uris.values())
    assert LocalInfra.definitions() == [uris["api"], uris["clicks"]]


@pytest.mark.parametrize("unit", ["api", "clicks"])
def test_each_definition_variable_is_given_by_the_deploy_order(unit):
    uses = templates.definition_variables(_definition_uris()[unit])
    pseudo = {name for name in uses if name.startswith("AWS::")}  # filled like Fn::Sub fills them
    assert uses - pseudo == set(BY_NAME[unit].definition_variables)
    assert pseudo <= set(stacks.definition_values(BY_NAME[unit], {"identity": {"UserPoolArn": "a"}}, "1"))


def test_every_function_handler_is_importable():
    handlers = []
    for unit in UNITS:
        template = templates.plain(unit.template_path)
        for resource in _resources(template, "AWS::Lambda::Function").values():
            handlers.append(resource["Properties"]["Handler"])
    assert handlers, "no function found"
    for handler in handlers:
        module, name = handler.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), handler


# -- wiring -------------------------------------------------------------------------------

_IMPORT = re.compile(r"^\$\{(\w+)\}-(\w+)$")


def _exports(template: dict) -> set[str]:
    return {
        name
        for name, output in template.get("Outputs", {}).items()
        if output.get("Export", {}).get("Name") == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}
    }


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_every_import_names_an_export_of_an_earlier_stack(unit):
    template = _template(unit)
    order = [u.name for u in UNITS]
    by_stack = {u.stack_name: u.name for u in UNITS}
    for imported in templates.imports(template["Resources"]):
        found = _IMPORT.match(imported)
        assert found, f"{unit}: import {imported!r} is not ${{<Stack parameter>}}-<Output>"
        parameter, output = found.groups()
        producer = by_stack[template["Parameters"][parameter]["Default"]]
        assert order.index(producer) < order.index(unit), f"{unit} imports from {producer}, deployed later"
        assert output in _exports(_template(producer)), f"{unit} imports {output}, which {producer} does not export"


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_every_parameter_without_a_default_is_given_by_the_deploy_order(unit):
    parameters = _template(unit).get("Parameters", {})
    required = {name for name, p in parameters.items() if "Default" not in p}
    assert required <= set(BY_NAME[unit].parameters), (
        f"{unit}: nothing gives {required - set(BY_NAME[unit].parameters)}"
    )
    assert set(BY_NAME[unit].parameters) <= set(parameters), "the deploy order gives a parameter the template lacks"
    order = [u.name for u in UNITS]
    for source in BY_NAME[unit].parameters.values():
        if isinstance(source, stacks.FromOutput):
            assert order.index(source.unit) < order.index(unit)
            assert source.output in _template(source.unit)["Outputs"]


@pytest.mark.parametrize("unit", list(SERVICES))
def test_a_failing_image_rolls_back_by_itself(unit):
    """The ECS deployment circuit breaker is on, with rollback: a new image whose tasks fail their
    health checks returns to the previous task definition without anyone acting."""
    (service,) = _resources(_template(unit), "AWS::ECS::Service").values()
    configuration = service["Properties"]["DeploymentConfiguration"]
    assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert configuration["MinimumHealthyPercent"] == 100
    (task,) = _resources(_template(unit), "AWS::ECS::TaskDefinition").values()
    service_container = next(c for c in task["Properties"]["ContainerDefinitions"] if c.get("PortMappings"))
    assert "/health" in json.dumps(service_container["HealthCheck"])


def _mysfit_id_schemas(node, found: list[dict]) -> list[dict]:
    """Every schema of a `mysfitId` (a path parameter or a model property) in a definition."""
    if isinstance(node, dict):
        if node.get("name") == "mysfitId" and "schema" in node:
            found.append(node["schema"])
        if isinstance(node.get("properties"), dict) and "mysfitId" in node["properties"]:
            found.append(node["properties"]["mysfitId"])
        for value in node.values():
            _mysfit_id_schemas(value, found)
    elif isinstance(node, list):
        for value in node:
            _mysfit_id_schemas(value, found)
    return found


# The shared id rule in a definition's words.
_ID_RULE = {
    "minLength": next(n for n in range(ids.MAX_LENGTH + 1) if ids.is_mysfit_id("a" * n)),
    "maxLength": ids.MAX_LENGTH,
    "pattern": ids.PATTERN,
}


@pytest.mark.parametrize("path", ["cfn/api/mysfits-api.yaml", "click-ingest/clicks-api.yaml"])
def test_every_mysfit_id_in_the_definitions_is_the_shared_id_rule(path):
    # The schemas that state a rule; those of answers built by hand only say it is a string.
    schemas = [s for s in _mysfit_id_schemas(templates.load(ROOT / path), []) if "maxLength" in s or "pattern" in s]
    assert schemas, f"{path} states no mysfitId rule"
    for schema in schemas:
        # Path parameters leave the characters out: the services answer 404 for them, not 400.
        assert {key: schema.get(key, ids.PATTERN) for key in _ID_RULE} == _ID_RULE


# -- the API definition and the site against the shared schemas ---------------------------

_DEFINITION = yaml.safe_load((ROOT / "cfn/api/mysfits-api.yaml").read_text(encoding="utf-8"))
_OPENAPI_TYPES = {fields.String: "string", fields.Integer: "integer", fields.Boolean: "boolean"}
# What the definition can say about a property that a marshmallow field says too.
_COMPARED = ("type", "enum", "minLength", "maxLength", "pattern", "minimum", "maximum")
# The definition's component schemas with the marshmallow schema that states each; the others
# are shapes the services build by hand: the definition is their one statement, and the contract
# tests (tests/integration/test_contract.py) check the services' answers against it.
_DESCRIBED_BY = {"Mysfit": MysfitSchema}
_BUILT_BY_HAND = {"MysfitList", "VisitorMysfit", "Visitor", "Error"}


def _as_openapi(field: fields.Field) -> dict:
    """What a marshmallow field states, in the definition's words."""
    stated = {"type": _OPENAPI_TYPES[type(field)]}
    for validator in field.validators:
        if isinstance(validator, OneOf):
            stated["enum"] = list(validator.choices)
        elif isinstance(validator, Length):
            stated |= {"minLength": validator.min, "maxLength": validator.max}
        elif isinstance(validator, Range):
            stated |= {"minimum": validator.min, "maximum": validator.max}
        elif validator is validate_mysfit_id:
            stated |= _ID_RULE
        else:
            pytest.fail(f"no definition keyword for the validator {validator!r}: teach _as_openapi it")
    return {key: value for key, value in stated.items() if value is not None}


def _stated(schema: dict) -> dict:
    return {key: schema[key] for key in _COMPARED if key in schema}


def _fields(schema: Schema) -> dict[str, dict]:
    return {field.data_key or name: _as_openapi(field) for name, field in schema.fields.items()}


def _required(schema: Schema) -> set[str]:
    return {field.data_key or name for name, field in schema.fields.items() if field.required}


def test_every_schema_of_the_definition_is_stated_by_a_marshmallow_schema_or_by_the_definition_alone():
    assert set(_DEFINITION["components"]["schemas"]) == set(_DESCRIBED_BY) | _BUILT_BY_HAND


@pytest.mark.parametrize("name", list(_DESCRIBED_BY))
def test_each_schema_of_the_definition_says_what_its_marshmallow_schema_says(name):
    """Names, types, required, enums, lengths and ranges, property by property."""
    component, schema = _DEFINITION["components"]["schemas"][name], _DESCRIBED_BY[name]()
    assert {key: _stated(value) for key, value in component["properties"].items()} == _fields(schema)
    assert set(component["required"]) == _required(schema)


def test_the_list_query_parameters_are_the_list_query_schema():
    """GET /mysfits's parameters, the filter names' enum included, as the catalog loads them."""
    parameters = [p for p in _DEFINITION["paths"]["/mysfits"]["get"]["parameters"] if p["in"] == "query"]
    schema = ListQuerySchema()
    assert {p["name"]: _stated(p["schema"]) for p in parameters} == _fields(schema)
    assert {p["name"] for p in parameters if p.get("required")} == _required(schema)
    assert _stated(next(p for p in parameters if p["name"] == "filter")["schema"])["enum"] == list(
        models.FILTER_INDEXES
    )


def _js_object(source: str, name: str) -> dict:
    """The literal `export const NAME = {...};` of a site module, as data (its comments dropped)."""
    found = re.search(rf"^export const {name} = (\{{.*?\}});$", source, re.MULTILINE | re.DOTALL)
    assert found, f"no `export const {name} = {{...}};` found"
    literal = re.sub(r"//[^\n]*", "", found.group(1)).replace("'", '"')
    return json.loads(re.sub(r"(\w+):", r'"\1":', re.sub(r",(\s*\})", r"\1", literal)))


def test_the_sites_filters_are_the_catalogs():
    """web/js/api.js names each filter, its query parameter and, for a fixed field, its values."""
    source = (ROOT / "web/js/api.js").read_text(encoding="utf-8")
    public = MysfitSchema().fields
    values = {
        name: next((list(v.choices) for v in public[parameter].validators if isinstance(v, OneOf)), None)
        for parameter, name in models.FILTER_PARAMETERS.items()
    }
    assert list(_js_object(source, "FILTERS").items()) == [(name, values[name]) for name in models.FILTER_INDEXES]
    assert _js_object(source, "FILTER_PARAMS") == {name: p for p, name in models.FILTER_PARAMETERS.items()}


def test_the_facts_a_click_is_enriched_with_are_fields_every_mysfit_has():
    """The enricher's zip carries no marshmallow, so its field list is checked against the schema."""
    from enricher.catalog import FIELDS

    public = MysfitSchema().fields
    assert set(FIELDS) <= set(public)
    assert all(public[name].required for name in FIELDS)
