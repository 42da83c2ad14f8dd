"""CloudFormation types moto 5.2.5 does not create, added to the embedded AWS.

moto's CloudFormation skips the types it has no model for, so a template's user pool, app client
and delivery stream would simply not exist on one machine. These models create them from the
template's own properties through the same APIs a client would call: the user pool and client
through moto's Cognito backend (this process: calling its HTTP API from inside a stack operation
would wait on the embedded AWS's one-request-at-a-time lock), the delivery stream through the
Firehose stand-in's CreateDeliveryStream (`AWS_ENDPOINT_URL_FIREHOSE`), and the API's VPC link
through moto's API Gateway backend. Properties are checked and typed against the botocore model
of the API they go to, so a template property the API does not take fails the stack loudly.

moto finds CloudFormation models as the direct subclasses of `CloudFormationModel`, listed once
and cached: `register()` clears that cache after this module has defined them. It also mends gaps
the templates run into:

* a stack made by executing a change set sees no other stack's exports (`Fn::ImportValue` fails)
  and keeps the outputs and exports of the empty template it was created with: imports are given
  to it before, outputs and exports recomputed after each execution;
* moto's REST API ignores `Body`/`BodyS3Location`, so the deployment SAM adds fails on an API
  without methods: the definition's paths and methods are imported into it (moto keeps them; the
  gateway stand-in is what serves them);
* moto's load balancer ignores `Type: network` and makes an application load balancer, which
  refuses the TCP listeners of the services' stacks;
* an output that uses `Fn::GetAtt` on a resource moto skipped fails the whole stack, where one
  that uses `Ref` is left out: both are left out;
* an API deployment has no physical id (its `Ref`), so it looked as if it had not been created;
* a table's `PointInTimeRecoverySpecification`, a bucket's `PublicAccessBlockConfiguration` and
  `VersioningConfiguration`, a function's `TracingConfig` are left out: they are applied;
* deleting a stack leaves its route tables, VPC endpoints, internet gateway, ECS cluster and REST
  APIs behind: they are deleted through their backends' own calls;
* updating a stack drops from it every resource whose type moto cannot update (a log group, ...),
  so deleting the stack later leaves them behind: they are kept as they were.

A test pins moto's version and these behaviours, so an upgrade that changes them fails loudly.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

import boto3
import botocore.session
from moto.apigateway.models import Deployment, RestAPI, apigateway_backends
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cognitoidp.models import cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.ec2.models import ec2_backends
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ecs.models import Cluster, ecs_backends
from moto.elbv2.models import FakeLoadBalancer, elbv2_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

# CloudFormation property name -> API parameter name, where the two differ.
_RENAMED = {
    ("cognito-idp", "CreateUserPool"): {"UserPoolName": "PoolName"},
}
_service_models: dict[str, Any] = {}


def api_parameters(service: str, operation: str, properties: dict) -> dict:
    """A resource's properties as `operation`'s parameters, typed by the botocore model.

    CloudFormation hands parameter values over as strings ("1", "true"); the API wants numbers
    and booleans. Raises ValueError naming a property the API does not take.
    """
    if service not in _service_models:
        _service_models[service] = botocore.session.get_session().get_service_model(service)
    shape = _service_models[service].operation_model(operation).input_shape
    renamed = _RENAMED.get((service, operation), {})
    return _typed({renamed.get(k, k): v for k, v in properties.items()}, shape, f"{service} {operation}")


def _typed(value: Any, shape, where: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {value!r}")
        unknown = set(value) - set(shape.members)
        if unknown:
            raise ValueError(f"{where}: {', '.join(sorted(unknown))} is not a parameter of the API")
        return {name: _typed(item, shape.members[name], f"{where}.{name}") for name, item in value.items()}
    if kind == "list":
        return [_typed(item, shape.member, f"{where}[]") for item in value]
    if kind == "map":
        return {key: _typed(item, shape.value, f"{where}.{key}") for key, item in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


class _Added:
    """What the added models share. A mixin, not a `CloudFormationModel`: moto only finds that
    class's direct subclasses, so each model below names it itself."""

    TYPE = ""
    NAME_PROPERTY = ""
    ATTRIBUTES: ClassVar[dict[str, str]] = {}  # Fn::GetAtt name -> attribute of the instance

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return getattr(self, self.ATTRIBUTES[attribute_name])

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass  # moto deletes through the instance (`delete`)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        """A stack update keeps the resource (without this, moto would drop it from the stack)."""
        original_resource.update(cloudformation_json.get("Properties", {}), account_id, region_name)
        return original_resource

    def update(self, properties: dict, account_id: str, region_name: str) -> None:
        """Apply changed properties; those of the kinds whose API cannot change them are kept."""


class UserPool(_Added, CloudFormationModel):
    """AWS::Cognito::UserPool, through moto's Cognito backend."""

    TYPE = "AWS::Cognito::UserPool"
    NAME_PROPERTY = "UserPoolName"
    ATTRIBUTES: ClassVar[dict[str, str]] = {
        "Arn": "arn",
        "UserPoolId": "physical_resource_id",
        "ProviderName": "provider",
        "ProviderURL": "url",
    }

    def __init__(self, pool):
        self.pool = pool
        self.arn = pool.arn
        self.provider = f"cognito-idp.{pool.region}.amazonaws.com/{pool.id}"
        self.url = f"https://{self.provider}"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = {"UserPoolName": resource_name, **cloudformation_json["Properties"]}
        parameters = api_parameters("cognito-idp", "CreateUserPool", properties)
        backend = cognitoidp_backends[account_id][region_name]
        return cls(backend.create_user_pool(parameters.pop("PoolName"), parameters))

    def update(self, properties: dict, account_id: str, region_name: str) -> None:
        parameters = api_parameters("cognito-idp", "CreateUserPool", {"UserPoolName": self.pool.name, **properties})
        parameters.pop("PoolName")
        cognitoidp_backends[account_id][region_name].update_user_pool(self.pool.id, parameters)

    def delete(self, account_id: str, region_name: str) -> None:
        cognitoidp_backends[account_id][region_name].delete_user_pool(self.pool.id)

    @property
    def physical_resource_id(self) -> str:
        return self.pool.id


class UserPoolClient(_Added, CloudFormationModel):
    """AWS::Cognito::UserPoolClient, through moto's Cognito backend."""

    TYPE = "AWS::Cognito::UserPoolClient"
    NAME_PROPERTY = "ClientName"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"ClientId": "physical_resource_id", "Name": "name"}

    def __init__(self, pool_id: str, client):
        self.pool_id = pool_id
        self.client = client
        self.name = client.extended_config.get("ClientName")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = {"ClientName": resource_name, **cloudformation_json["Properties"]}
        parameters = api_parameters("cognito-idp", "CreateUserPoolClient", properties)
        pool_id = parameters.pop("UserPoolId")
        backend = cognitoidp_backends[account_id][region_name]
        secret = parameters.pop("GenerateSecret", False)
        return cls(pool_id, backend.create_user_pool_client(pool_id, secret, parameters))

    def update(self, properties: dict, account_id: str, region_name: str) -> None:
        parameters = api_parameters("cognito-idp", "CreateUserPoolClient", {"ClientName": self.name, **properties})
        for fixed in ("UserPoolId", "GenerateSecret"):
            parameters.pop(fixed, None)
        backend = cognitoidp_backends[account_id][region_name]
        self.client = backend.update_user_pool_client(self.pool_id, self.client.id, parameters)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = cognitoidp_backends[account_id][region_name]
        if self.pool_id in backend.user_pools:  # deleting the pool takes its clients with it
            backend.delete_user_pool_client(self.pool_id, self.client.id)

    @property
    def physical_resource_id(self) -> str:
        return self.client.id


class DeliveryStream(_Added, CloudFormationModel):
    """AWS::KinesisFirehose::DeliveryStream, through the Firehose stand-in's API."""

    TYPE = "AWS::KinesisFirehose::DeliveryStream"
    NAME_PROPERTY = "DeliveryStreamName"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"Arn": "arn"}

    def __init__(self, name: str, arn: str):
        self.name = name
        self.arn = arn

    @staticmethod
    def _client(region_name: str):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_FIREHOSE")
        if not endpoint:
            raise ValueError("a delivery stream needs the Firehose stand-in: set AWS_ENDPOINT_URL_FIREHOSE")
        # The stand-in takes any credentials, as moto does.
        return boto3.client(
            "firehose",
            region_name=region_name,
            endpoint_url=endpoint,
            aws_access_key_id="embedded",
            aws_secret_access_key="embedded",  # noqa: S106 - not a secret: the stand-in checks none
        )

    # While the embedded AWS replays its kept state, the stand-in is not running yet; it restores
    # its streams from its own journal, so the stream is only named here.
    restoring = False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = {"DeliveryStreamName": resource_name, **cloudformation_json["Properties"]}
        parameters = api_parameters("firehose", "CreateDeliveryStream", properties)
        name = parameters["DeliveryStreamName"]
        if cls.restoring:
            return cls(name, f"arn:aws:firehose:{region_name}:{account_id}:deliverystream/{name}")
        arn = cls._client(region_name).create_delivery_stream(**parameters)["DeliveryStreamARN"]
        return cls(name, arn)

    def delete(self, account_id: str, region_name: str) -> None:
        if not self.restoring:
            self._client(region_name).delete_delivery_stream(DeliveryStreamName=self.name)

    @property
    def physical_resource_id(self) -> str:
        return self.name


class VpcLink(_Added, CloudFormationModel):
    """AWS::ApiGateway::VpcLink (REST API VPC link), through moto's API Gateway backend."""

    TYPE = "AWS::ApiGateway::VpcLink"
    NAME_PROPERTY = "Name"
    ATTRIBUTES: ClassVar[dict[str, str]] = {"VpcLinkId": "physical_resource_id"}

    def __init__(self, link):
        self.link = link

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = apigateway_backends[account_id][region_name]
        link = backend.create_vpc_link(
            properties.get("Name", resource_name),
            properties.get("Description", ""),
            properties["TargetArns"],
            {tag["Key"]: tag["Value"] for tag in properties.get("Tags") or []},  # the API's map
        )
        return cls(link)

    def delete(self, account_id: str, region_name: str) -> None:
        apigateway_backends[account_id][region_name].delete_vpc_link(self.link.id)

    @property
    def physical_resource_id(self) -> str:
        return self.link.id


ADDED_TYPES = {model.cloudformation_type(): model for model in (UserPool, UserPoolClient, DeliveryStream, VpcLink)}


def register() -> None:
    """Make moto's CloudFormation see the models above (its model list is cached once built),
    and give stacks made or changed by change sets their outputs and exports."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    missing = set(ADDED_TYPES) - set(parsing.get_model_map())
    if missing:
        raise RuntimeError(f"moto's CloudFormation did not take the added types {sorted(missing)}")
    global _mended
    if not _mended:
        CloudFormationBackend.execute_change_set = _with_outputs(CloudFormationBackend.execute_change_set)
        RestAPI.create_from_cloudformation_json = _with_body(RestAPI.create_from_cloudformation_json)
        FakeLoadBalancer.create_from_cloudformation_json = classmethod(_load_balancer)
        parsing.parse_output = _without_skipped(parsing.parse_output)
        Deployment.physical_resource_id = property(lambda deployment: deployment.id)
        Table.create_from_cloudformation_json = _then(Table.create_from_cloudformation_json, _table_settings)
        FakeBucket.create_from_cloudformation_json = _then(FakeBucket.create_from_cloudformation_json, _bucket_settings)
        LambdaFunction.create_from_cloudformation_json = _then(
            LambdaFunction.create_from_cloudformation_json, _function_settings
        )
        RouteTable.delete = lambda table, account, region: ec2_backends[account][region].delete_route_table(table.id)
        VPCEndPoint.delete = _delete_endpoint
        InternetGateway.delete = _delete_internet_gateway
        Cluster.delete = lambda cluster, account, region: ecs_backends[account][region].delete_cluster(cluster.name)
        RestAPI.delete = lambda api, account, region: apigateway_backends[account][region].delete_rest_api(api.id)
        parsing.parse_and_update_resource = _keeping(parsing.parse_and_update_resource)
        _mended = True


_mended = False


def _with_outputs(execute_change_set):
    def execute(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            c for c in self.change_sets.values() if c.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
        execute_change_set(self, change_set_name, stack_name)
        for export in stack.exports:
            self.exports.pop(export.name, None)
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    return execute


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}


def _with_body(create_rest_api):
    def create(resource_name, cloudformation_json, account_id, region_name, **kwargs):
        api = create_rest_api(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json["Properties"]
        body = properties.get("Body")
        location = properties.get("BodyS3Location")
        if location:
            s3 = s3_backends[account_id][get_partition(region_name)]
            stored = s3.get_object(location["Bucket"], location["Key"])
            body = json.loads(stored.value)
        if body:
            backend = apigateway_backends[account_id][region_name]
            backend.put_rest_api(api.id, _methods_only(body), fail_on_warnings=False, mode="overwrite")
        return api

    return classmethod(lambda _cls, *args, **kwargs: create(*args, **kwargs))


def _without_skipped(parse_output):
    def parse(output_logical_id, output_json, resources_map):
        try:
            return parse_output(output_logical_id, output_json, resources_map)
        except ValidationError as error:
            if "references undefined resource" not in str(error):
                raise
            return None

    return parse


def _then(create, apply):
    """moto's creation of a resource, then `apply(resource, properties, account, region)`."""

    def create_and_apply(_cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        resource = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    return classmethod(create_and_apply)


def _table_settings(table, properties: dict, account_id: str, region_name: str) -> None:
    recovery = properties.get("PointInTimeRecoverySpecification") or {}
    if str(recovery.get("PointInTimeRecoveryEnabled", "")).lower() == "true":
        dynamodb_backends[account_id][region_name].update_continuous_backups(
            table.name, {"PointInTimeRecoveryEnabled": True}
        )


def _function_settings(function, properties: dict, account_id: str, region_name: str) -> None:
    if properties.get("TracingConfig"):
        function.tracing_config = properties["TracingConfig"]


def _bucket_settings(bucket, properties: dict, account_id: str, region_name: str) -> None:
    s3 = s3_backends[account_id][get_partition(region_name)]
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(bucket.name, {k: str(v).lower() for k, v in block.items()})
    versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        s3.put_bucket_versioning(bucket.name, versioning)


def _keeping(parse_and_update_resource):
    def update(logical_id, resource_json, resources_map, account_id, region_name):
        updated = parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is None and parsing.resource_class_from_type(resource_json["Type"]) is not None:
            return resources_map[logical_id]  # a type moto cannot update stays as it was
        return updated

    return update


def _delete_endpoint(endpoint, account_id: str, region_name: str) -> None:
    ec2 = ec2_backends[account_id][region_name]
    # A gateway endpoint takes its routes out of its route tables: of those still there.
    endpoint.route_table_ids = [t for t in endpoint.route_table_ids or [] if t in ec2.route_tables]
    ec2.delete_vpc_endpoints([endpoint.id])


def _delete_internet_gateway(gateway, account_id: str, region_name: str) -> None:
    ec2 = ec2_backends[account_id][region_name]
    if gateway.vpc:
        ec2.detach_internet_gateway(gateway.id, gateway.vpc.id)
    ec2.delete_internet_gateway(gateway.id)


def _load_balancer(_cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """moto's own creation, with the `Type` it leaves out (network, application or gateway)."""
    properties = cloudformation_json["Properties"]
    return elbv2_backends[account_id][region_name].create_load_balancer(
        resource_name,
        properties.get("SecurityGroups"),
        properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type", "application"),
    )


def _methods_only(definition: dict) -> dict:
    """What moto's importer can take: only HTTP methods under each path (not path-level
    `parameters`), and every integration with the `uri` and `httpMethod` it insists on (a mock
    integration has neither)."""
    paths = {}
    for path, item in definition.get("paths", {}).items():
        methods = {}
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            operation = dict(operation)
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                operation["x-amazon-apigateway-integration"] = {"uri": "", "httpMethod": method.upper(), **integration}
            methods[method] = operation
        paths[path] = methods
    return {**definition, "paths": paths}
