"""segcat finds AWS credentials as the AWS CLI does (environment, profile files, the ECS container
endpoint, EC2 instance metadata with IMDSv2 tokens) and signs with them: checked by what reaches S3
through a recording proxy, and by moto verifying SigV4 signatures against IAM users it holds."""
import json
import subprocess

import pytest

from conftest import PREFIX, MotoServer, tool_missing
from s3_fakes import FakeContainerEndpoint, FakeMetadata, FaultProxy
from test_s3_query import archive, segcat_run  # noqa: F401  (the module's shipped archive fixture)

TEMPORARY = {"AccessKeyId": "ASIATEMPORARYKEY", "SecretAccessKey": "temporary-secret", "Token": "temporary-session-token"}


def bare_env(world, tmp_path):
    """The world's environment without credentials, and no instance metadata unless a test adds it."""
    env = {k: v for k, v in world.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    return env


def signed_with(proxy):
    """The access key ids and session tokens of the requests that reached S3."""
    keys = {r["headers"]["authorization"].split("Credential=")[1].split("/")[0] for r in proxy.requests}
    tokens = {r["headers"].get("x-amz-security-token") for r in proxy.requests}
    return keys, tokens


def query(world, proxy, env):
    result = subprocess.run([world.segcat, world.url, "--count", "--format", "csv", "--no-cache"], env={**env, "AWS_ENDPOINT_URL": proxy.url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "count\n1190\n"


@pytest.fixture
def proxy(archive):
    p = FaultProxy(archive.moto.url)
    yield p
    p.stop()


def test_environment_variables(archive, proxy, tmp_path):
    env = {**bare_env(archive, tmp_path), "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "env-token"}
    query(archive, proxy, env)
    assert signed_with(proxy) == ({"AKIAENVIRONMENT"}, {"env-token"})


def test_a_named_profile_in_the_shared_files(archive, proxy, tmp_path):
    env = bare_env(archive, tmp_path)
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n")
    (tmp_path / "config").write_text("[profile analyst]\naws_access_key_id = AKIAANALYST\naws_secret_access_key = a\nregion = us-east-1\n")
    query(archive, proxy, {**env, "AWS_PROFILE": "analyst"})
    assert signed_with(proxy)[0] == {"AKIAANALYST"}
    proxy.clear()
    query(archive, proxy, env)
    assert signed_with(proxy)[0] == {"AKIADEFAULT"}


def test_the_ecs_container_endpoint(archive, proxy, tmp_path):
    endpoint = FakeContainerEndpoint(TEMPORARY)
    try:
        env = {**bare_env(archive, tmp_path), "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": FakeContainerEndpoint.AUTHORIZATION}
        query(archive, proxy, env)
        assert signed_with(proxy) == ({"ASIATEMPORARYKEY"}, {"temporary-session-token"})
        # Fetched once for the whole command, not per request.
        assert len(endpoint.requests) == 1
    finally:
        endpoint.stop()


def test_instance_metadata_with_imdsv2_tokens(archive, proxy, tmp_path):
    metadata = FakeMetadata(TEMPORARY)
    try:
        env = {**bare_env(archive, tmp_path), "AWS_EC2_METADATA_SERVICE_ENDPOINT": metadata.url}
        del env["AWS_EC2_METADATA_DISABLED"]
        query(archive, proxy, env)
        assert signed_with(proxy) == ({"ASIATEMPORARYKEY"}, {"temporary-session-token"})
        methods = [(m, p) for m, p, _ in metadata.requests]
        assert methods == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                           ("GET", "/latest/meta-data/iam/security-credentials/segcat-reader")]
    finally:
        metadata.stop()


def test_no_credentials_anywhere_is_a_clear_exit_2(archive, tmp_path):
    result = subprocess.run([archive.segcat, archive.url, "--count", "--no-cache"], env=bare_env(archive, tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no AWS credentials" in result.stderr and "instance metadata is disabled" in result.stderr


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory, archive):
    """A moto that checks every signature against its IAM users, after its first requests (unchecked)
    made two users with a key and a policy each (6), a bucket (1), and a copy of the archive."""
    reason = tool_missing()
    if reason:
        pytest.skip(reason)
    import botocore.session

    keys = archive.s3.keys(archive.bucket, PREFIX)
    server = MotoServer(tmp_path_factory.mktemp("moto-iam"), auth=True, free_actions=7 + len(keys))
    session = botocore.session.get_session()
    anyone = {"endpoint_url": server.url, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    iam = session.create_client("iam", **anyone)
    server.keys = {}
    for user, actions in (("reader", ["s3:*"]), ("lister", ["s3:ListBucket"])):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        server.keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    s3 = session.create_client("s3", **anyone)
    s3.create_bucket(Bucket="signed")
    # Flat keys: moto's verifier also mis-handles a '=' in the path (it accepts botocore's signature of such
    # a request but not the identical one segcat sends; tested equal against botocore's own signer).
    for key in keys:
        s3.put_object(Bucket="signed", Key="flat/" + key.rsplit("/", 1)[1], Body=archive.s3.read(archive.bucket, key))
    yield server
    server.stop()


def test_signatures_are_verified_by_a_real_s3_and_a_wrong_secret_is_refused(iam_moto, archive, tmp_path):
    """Ranged GETs signed by segcat, checked by moto against the user's secret. (Listings are not
    checked here: moto's verifier refuses any signed query value that holds a '/', botocore's own
    list_objects_v2(Prefix="a/") included, so segcat's listings are tested against the moto above.)"""
    reader, lister = iam_moto.keys["reader"], iam_moto.keys["lister"]
    key = "flat/" + archive.s3.keys(archive.bucket, f"{PREFIX}/acme")[0].rsplit("/", 1)[1]

    def run(user, secret, *args):
        env = {**bare_env(archive, tmp_path), "AWS_ENDPOINT_URL": iam_moto.url, "AWS_ACCESS_KEY_ID": user["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": secret or user["SecretAccessKey"]}
        return subprocess.run([archive.segcat, *args, f"s3://signed/{key}", "--no-cache"], env=env, capture_output=True, text=True, timeout=120)

    ok = run(reader, None, "cat", "--count", "--format", "csv", "--where", "status >= 200")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "count\n200\n"
    info = run(reader, None, "info")
    assert info.returncode == 0 and "rows:      200 in 4 blocks" in info.stdout, info.stderr
    wrong = run(reader, "not-the-secret", "cat", "--count")
    assert wrong.returncode == 2 and "SignatureDoesNotMatch" in wrong.stderr, wrong.stderr
    denied = run(lister, None, "cat", "--count")
    assert denied.returncode == 2 and "access denied" in denied.stderr, denied.stderr
