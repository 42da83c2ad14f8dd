"""The embedded AWS: the stack's own signing key, cheap transactions, state kept, and its server."""

from __future__ import annotations

import http.client
import inspect
import json
import os
import socket
import stat
import uuid

import boto3
import psutil
import pytest
import requests
from joserfc import jwk
from joserfc import jwt as jose_jwt
from moto.utilities.utils import load_resource

from mysfits_local import aws
from mysfits_shared.auth import InvalidToken, TokenVerifier, issuer_for
from mysfits_testkit.services import start_service


def _signed_for(service: str) -> str:
    """An Authorization header moto routes by (it reads the service and region, not the signature)."""
    return f"AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


SIGNED_FOR_DYNAMODB, SIGNED_FOR_S3 = _signed_for("dynamodb"), _signed_for("s3")


def _start(tmp_path, key_file, *more: str):
    return start_service(
        "mysfits_local.aws", ["--signing-key", str(key_file), *more], tmp_path / f"aws-{uuid.uuid4().hex}.log",
        ready_path="/moto-api/",
    )  # fmt: skip


def _pool_and_token(url: str) -> tuple[str, str, str]:
    """A user pool, its app client and an ID token of a confirmed visitor, from the embedded AWS."""
    client = boto3.client(
        "cognito-idp", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    pool = client.create_user_pool(PoolName="p")["UserPool"]["Id"]
    app = client.create_user_pool_client(UserPoolId=pool, ClientName="site", ExplicitAuthFlows=["USER_PASSWORD_AUTH"])
    client_id = app["UserPoolClient"]["ClientId"]
    client.sign_up(ClientId=client_id, Username="v@example.com", Password="Passw0rd!long")
    client.admin_confirm_sign_up(UserPoolId=pool, Username="v@example.com")
    answer = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "v@example.com", "PASSWORD": "Passw0rd!long"},
    )
    return pool, client_id, answer["AuthenticationResult"]["IdToken"]


def test_tokens_are_signed_with_the_stacks_key_kept_private_and_across_restarts(tmp_path):
    key_file = tmp_path / "run" / "cognito-signing-key.json"
    aws = _start(tmp_path, key_file)
    try:
        pool, client_id, token = _pool_and_token(aws.url)
        jwks = requests.get(f"{aws.url}/{pool}/.well-known/jwks.json", timeout=5).json()
        verifier = TokenVerifier(
            issuer_for("us-east-1", pool), client_id, jwks_url=f"{aws.url}/{pool}/.well-known/jwks.json"
        )
        claims = verifier.verify(token)
        assert claims["cognito:username"] == "v@example.com"

        # The same claims signed with the key that ships inside moto: refused.
        bundled = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
        forged = jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, {**claims, "sub": "someone-else"}, bundled)
        with pytest.raises(InvalidToken, match="signature"):
            verifier.verify(forged)
    finally:
        aws.stop()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["d"]  # the private half, only here

    again = _start(tmp_path, key_file)
    try:
        pool, _, _ = _pool_and_token(again.url)
        assert requests.get(f"{again.url}/{pool}/.well-known/jwks.json", timeout=5).json() == jwks
    finally:
        again.stop()


# -- transactions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    service = _start(tmp_path_factory.mktemp("embedded"), tmp_path_factory.mktemp("key") / "key.json")
    yield service
    service.stop()


def _dynamodb(url: str | None):
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _likes_table(client) -> str:
    """A mysfit table with a likes counter, and a likes table keyed by (mysfit, visitor)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=name, Item={"pk": {"S": "m"}, "sk": {"S": "mysfit"}, "likes": {"N": "0"}})
    return name


def _like(client, table: str, visitor: str, undo: bool = False) -> None:
    """A like (or its undoing) as the adoption service writes it: the like and the count, together."""
    key = {"pk": {"S": "m"}, "sk": {"S": f"like#{visitor}"}}
    change = (
        {"Delete": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}}
        if undo
        else {"Put": {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(pk)"}}
    )
    count = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "m"}, "sk": {"S": "mysfit"}},
            "UpdateExpression": "ADD likes :d",
            "ExpressionAttributeValues": {":d": {"N": "-1" if undo else "1"}},
        }
    }
    client.transact_write_items(TransactItems=[change, count])


def _likes(client, table: str) -> int:
    item = client.get_item(TableName=table, Key={"pk": {"S": "m"}, "sk": {"S": "mysfit"}})["Item"]
    return int(item["likes"]["N"])


def test_a_cancelled_transaction_leaves_every_item_as_it_was(embedded):
    client = _dynamodb(embedded.url)
    table = _likes_table(client)
    _like(client, table, "v1")
    with pytest.raises(client.exceptions.TransactionCanceledException):
        _like(client, table, "v1")  # the like exists: its Put is refused, so the count's Update is undone
    with pytest.raises(client.exceptions.TransactionCanceledException):
        _like(client, table, "v2", undo=True)  # no such like: the Delete fails after nothing
    assert _likes(client, table) == 1
    items = client.scan(TableName=table)["Items"]
    assert sorted(i["sk"]["S"] for i in items) == ["like#v1", "mysfit"]
    # A new item written by a cancelled transaction is gone again.
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "m"}, "sk": {"S": "like#v3"}}}},
                {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "m"}, "sk": {"S": "mysfit"}},
                                    "ConditionExpression": "likes > :n",
                                    "ExpressionAttributeValues": {":n": {"N": "5"}}}},
            ]
        )  # fmt: skip
    assert client.get_item(TableName=table, Key={"pk": {"S": "m"}, "sk": {"S": "like#v3"}}).get("Item") is None


def test_transactions_copy_no_table_so_memory_stays_flat_as_likes_grow(embedded):
    client = _dynamodb(embedded.url)
    table = _likes_table(client)
    server = psutil.Process(embedded.pid)
    for n in range(500):  # warm: every code path has run, caches are full
        _like(client, table, f"warm-{n}")
    before = server.memory_info().rss
    for n in range(1500):  # 1,500 more likes, 1,000 kept: each transaction names a growing table
        _like(client, table, f"v-{n}")
        if n % 3 == 0:
            _like(client, table, f"v-{n}", undo=True)
    grown = server.memory_info().rss - before
    assert _likes(client, table) == 500 + 1000
    # Copying the tables, moto grew by gigabytes over as many transactions.
    assert grown < 20 * 1024 * 1024, f"the embedded AWS grew {grown / 1e6:.0f} MB over 2,000 transactions"


def test_likes_undone_again_and_again_keep_nothing(embedded):
    """moto kept every item object it ever made (each update copies the item): memory grew with
    every like even when the likes were undone."""
    client = _dynamodb(embedded.url)
    table = _likes_table(client)
    profile = {f"attribute{n}": {"S": f"value {n}"} for n in range(12)}  # a mysfit's dozen attributes
    client.put_item(TableName=table, Item={"pk": {"S": "m"}, "sk": {"S": "mysfit"}, "likes": {"N": "0"}, **profile})
    server = psutil.Process(embedded.pid)
    for _ in range(500):  # warm
        _like(client, table, "v")
        _like(client, table, "v", undo=True)
    before = server.memory_info().rss
    for _ in range(3000):
        _like(client, table, "v")
        _like(client, table, "v", undo=True)
    grown = server.memory_info().rss - before
    assert _likes(client, table) == 0
    # Keeping every object moto made, these 6,000 transactions kept 10 MB.
    assert grown < 2 * 1024 * 1024, f"the embedded AWS grew {grown / 1e6:.1f} MB over 6,000 transactions"


def test_the_model_tracking_it_turns_off_is_the_one_it_was_written_for():
    """If moto stops listing every object it makes (or lists them elsewhere), the mend must be re-read."""
    from moto.core.common_models import BaseModel

    assert "cls.instances_tracked.append(instance)" in inspect.getsource(BaseModel.__new__)


def test_the_transaction_code_it_mends_is_the_one_it_was_written_for():
    """If moto stops copying whole tables (or copies differently), the mend must be re-read."""
    from moto.dynamodb.models import DynamoDBBackend

    source = inspect.getsource(DynamoDBBackend.transact_write_items)
    assert "original_table_state[table_name] = copy.deepcopy(\n                    self.tables[table_name]" in source
    assert "self.tables[table_name] = original_table_state[table_name]" in source


def test_the_backends_and_handler_methods_are_listed_once_not_on_every_request(monkeypatch):
    """moto routes each request by listing and stat-ing its package directory, and finds the
    action's method by listing its handler's members; the embedded AWS lists both once. If moto
    stops routing through these lists, the mend must be re-read."""
    from moto import backends
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    assert "in backends.list_of_moto_modules()" in inspect.getsource(DomainDispatcherApplication.get_backend_for_host)
    assert "method_names_from_class(self.__class__)" in inspect.getsource(responses.BaseResponse.call_action)
    listed = set(backends.list_of_moto_modules())
    methods = set(responses.method_names_from_class(DynamoHandler))
    for module, name in ((backends, "list_of_moto_modules"), (responses, "method_names_from_class")):
        monkeypatch.setattr(module, name, getattr(module, name))  # put back after the test
    aws.look_up_once()
    assert set(responses.method_names_from_class(DynamoHandler)) == methods

    def no_listing(*args):
        raise AssertionError(f"{args[0]} listed again")

    monkeypatch.setattr(os, "listdir", no_listing)
    monkeypatch.setattr(inspect, "getmembers", no_listing)
    assert DomainDispatcherApplication(create_backend_app).get_backend_for_host("dynamodb") == "dynamodb"
    assert set(backends.list_of_moto_modules()) == listed
    assert "transact_write_items" in responses.method_names_from_class(DynamoHandler)


def test_item_answers_written_directly_are_the_ones_moto_writes(monkeypatch):
    """Every DynamoDB answer of a run over every item operation, every attribute type and the
    options the services use: written directly where it may be, and the same as moto's own."""
    from moto import mock_aws
    from moto.core.responses import ActionResult

    monkeypatch.setattr(ActionResult, "execute_result", ActionResult.execute_result)  # put back after the test
    moto_writes = ActionResult.execute_result
    aws.answer_items_directly()
    written = ActionResult.execute_result
    direct = []

    def both(result, context):
        status, headers, body = written(result, context)
        expected_status, expected_headers, expected_body = moto_writes(result, context)
        assert (status, headers["Content-Type"]) == (expected_status, expected_headers["Content-Type"])
        assert json.loads(body) == json.loads(expected_body), context.operation_model.name
        if context.service_model.service_name == "dynamodb" and aws._plain_json(result.result):
            direct.append((context.operation_model.name, *result.result))
        return status, headers, body

    monkeypatch.setattr(ActionResult, "execute_result", both)
    with mock_aws():
        client = _dynamodb(None)
        table = _likes_table(client)
        client.update_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "kind", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": "KindIndex",
                        "Projection": {"ProjectionType": "ALL"},
                        "KeySchema": [
                            {"AttributeName": "kind", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                    }
                }
            ],
        )
        every_type = {
            "kind": {"S": "creature"}, "age": {"N": "43"}, "ratio": {"N": "-0.5"}, "adopted": {"BOOL": False},
            "nothing": {"NULL": True}, "picture": {"B": b"\x00\xffpng"}, "tags": {"SS": ["a", "b"]},
            "numbers": {"NS": ["1", "2.5"]}, "blobs": {"BS": [b"x", b"y"]},
            "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"BOOL": True}}}]},
            "map": {"M": {"name": {"S": "Blue"}, "empty": {"L": []}}},
        }  # fmt: skip
        plain = {key: value for key, value in every_type.items() if key not in ("picture", "blobs")}
        capacity = {"ReturnConsumedCapacity": "TOTAL"}
        key = {"pk": {"S": "m"}, "sk": {"S": "mysfit"}}
        # Binary values are not plain JSON (moto's walk encodes them): that item has its own partition and kind.
        client.put_item(
            TableName=table, Item={"pk": {"S": "bin"}, "sk": {"S": "0"}, **every_type, "kind": {"S": "bin"}}
        )
        for n in range(3):
            client.put_item(TableName=table, Item={"pk": {"S": "m"}, "sk": {"S": f"item-{n}"}, **plain}, **capacity)
        client.put_item(TableName=table, Item={**key, "likes": {"N": "1"}}, ReturnValues="ALL_OLD", **capacity)
        client.get_item(TableName=table, Key=key, ConsistentRead=True, **capacity)
        client.get_item(TableName=table, Key={"pk": {"S": "m"}, "sk": {"S": "item-1"}})
        client.get_item(TableName=table, Key={"pk": {"S": "bin"}, "sk": {"S": "0"}})
        client.get_item(TableName=table, Key={"pk": {"S": "none"}, "sk": {"S": "none"}})
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="ADD likes :d",
            ExpressionAttributeValues={":d": {"N": "1"}},
            ReturnValues="ALL_NEW",
            **capacity,
        )
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #n = :n",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":n": {"S": "Blue"}},
            ReturnValues="UPDATED_OLD",
        )
        for index in ({}, {"IndexName": "KindIndex"}):
            condition = "kind = :k" if index else "pk = :k"
            value = {":k": {"S": "creature" if index else "m"}}
            page = client.query(
                TableName=table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=value,
                Limit=1,
                **index,
                **capacity,
            )
            client.query(
                TableName=table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=value,
                ExclusiveStartKey=page["LastEvaluatedKey"],
                Select="COUNT",
                **index,
            )
        client.scan(
            TableName=table,
            Limit=2,
            FilterExpression="pk <> :b",
            ExpressionAttributeValues={":b": {"S": "bin"}},
            **capacity,
        )
        client.scan(
            TableName=table,
            FilterExpression="attribute_exists(age)",
            ProjectionExpression="pk, age, #m.#n",
            ExpressionAttributeNames={"#m": "map", "#n": "name"},
        )
        client.batch_get_item(
            RequestItems={table: {"Keys": [key, {"pk": {"S": "m"}, "sk": {"S": "item-2"}}]}}, **capacity
        )
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}}]})
        client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}}], **capacity)
        _like(client, table, "v1")
        client.transact_write_items(
            TransactItems=[{"Delete": {"TableName": table, "Key": {"pk": {"S": "m"}, "sk": {"S": "like#v1"}}}}],
            ReturnConsumedCapacity="INDEXES",
        )
        client.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD", **capacity)
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.delete_item(TableName=table, Key=key, ConditionExpression="attribute_exists(pk)")
    assert {operation for operation, *_ in direct} == aws._ITEM_OPERATIONS
    for operation, member in (("Query", "LastEvaluatedKey"), ("Scan", "LastEvaluatedKey"), ("GetItem", "Item"),
                              ("TransactWriteItems", "ConsumedCapacity"), ("UpdateItem", "Attributes")):  # fmt: skip
        assert any(found[0] == operation and member in found for found in direct), (operation, member)


def test_the_state_outlives_a_kill_with_the_same_ids_and_a_half_written_entry_is_ignored(tmp_path):
    key_file, state = tmp_path / "key.json", tmp_path / "state" / "aws.jsonl"
    aws = _start(tmp_path, key_file, "--state", str(state))
    try:
        pool, client_id, token = _pool_and_token(aws.url)
        dynamodb = _dynamodb(aws.url)
        table = _likes_table(dynamodb)
        _like(dynamodb, table, "v-1")
        _like(dynamodb, table, "v-2")
        _like(dynamodb, table, "v-2", undo=True)
        reads = len(state.read_text().splitlines())
        dynamodb.scan(TableName=table)  # reads are not kept
        assert len(state.read_text().splitlines()) == reads
    finally:
        aws.popen.kill()  # as a crash: nothing is written on the way out
        aws.popen.wait(10)
    with state.open("ab") as journal:
        journal.write(b'{"seed": 1, "environ": {"REQUEST_ME')  # killed while writing an entry

    again = _start(tmp_path, key_file, "--state", str(state))
    try:
        cognito = boto3.client("cognito-idp", endpoint_url=again.url, region_name="us-east-1",
                               aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        assert cognito.describe_user_pool_client(UserPoolId=pool, ClientId=client_id)["UserPoolClient"]
        user = cognito.admin_get_user(UserPoolId=pool, Username="v@example.com")
        verifier = TokenVerifier(
            issuer_for("us-east-1", pool), client_id, jwks_url=f"{again.url}/{pool}/.well-known/jwks.json"
        )
        claims = verifier.verify(token)  # the token from before the kill: same pool, client, key
        assert claims["sub"] == next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
        assert _likes(_dynamodb(again.url), table) == 1
        _like(_dynamodb(again.url), table, "v-3")  # kept after the torn entry was dropped
    finally:
        again.stop()

    third = _start(tmp_path, key_file, "--state", str(state))
    try:
        assert _likes(_dynamodb(third.url), table) == 2
    finally:
        third.stop()


def test_clients_keep_their_connection(embedded):
    """One connection serves request after request (the services' clients keep theirs)."""
    host, port = embedded.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    target = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    sockets = []
    for _ in range(3):
        connection.request("POST", "/", body=b"{}", headers={**target, "Authorization": SIGNED_FOR_DYNAMODB})
        response = connection.getresponse()
        assert response.status == 200
        assert "TableNames" in json.loads(response.read())
        assert response.getheader("Connection", "").lower() != "close"
        sockets.append(connection.sock)
    assert sockets[0] is not None
    assert sockets == [sockets[0]] * 3
    connection.close()


def test_a_client_that_expects_100_continue_gets_it_before_sending_its_body(embedded):
    host, port = embedded.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(
            b"PUT /expect-bucket HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Authorization: " + SIGNED_FOR_S3.encode() + b"\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n"
        )
        assert client.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")


def test_s3_answers_as_boto3_expects_it(embedded):
    """HEAD gives the size it does not send; metadata keys keep their underscores; a body larger
    than boto3's 100-continue threshold goes through."""
    s3 = boto3.client(
        "s3", endpoint_url=embedded.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket="answers-bucket")
    body = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="answers-bucket", Key="a b/c.bin", Body=body, Metadata={"my_key": "1", "other-key": "2"})
    head = s3.head_object(Bucket="answers-bucket", Key="a b/c.bin")
    assert head["ContentLength"] == len(body)
    assert head["Metadata"] == {"my_key": "1", "other-key": "2"}
    assert s3.get_object(Bucket="answers-bucket", Key="a b/c.bin")["Body"].read() == body
    with pytest.raises(s3.exceptions.ClientError) as missing:
        s3.head_object(Bucket="answers-bucket", Key="missing")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
