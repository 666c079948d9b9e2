"""moto's standalone S3 server on 127.0.0.1, speaking the real S3 HTTP API, with
authentication on: an IAM user's key works, a wrong secret is refused."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from _servers import HOST, free_port, listening_process

__all__ = ["S3Server", "s3_server"]

# The server lets this many requests in before it checks credentials: enough to create
# the IAM user, its policy and its key (below), and nothing else.
_SETUP_REQUESTS = 3


@dataclasses.dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def settings(self, *, secret: str | None = None) -> dict[str, object]:
        """``settings`` for a remote-file-system block that reaches this server."""
        return {
            "key": self.access_key,
            "secret": secret or self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
        }

    def make_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)


@contextlib.contextmanager
def s3_server(logs: Path) -> Iterator[S3Server]:
    import boto3

    port = free_port()
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or (
        "moto_server"
    )
    environment = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_REQUESTS)}
    command = [executable, "-H", HOST, "-p", str(port)]
    with listening_process(command, port, log=logs / "moto.log", env=environment):
        endpoint = f"http://{HOST}:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="shipway-tests")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="shipway-tests", PolicyName="all", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="shipway-tests")["AccessKey"]
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
