"""The container and Elastic Beanstalk configuration: Dockerrun.aws.json against the version 1
schema, the .ebextensions, and that the pieces agree with each other and with the Dockerfile."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

DOCKERRUN = ROOT / "Dockerrun.aws.json"
SCHEMA = ROOT / "schemas" / "dockerrun-v1.schema.json"
DOCKERFILE = ROOT / "Dockerfile"


def needs(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed (run tools/deps-shipping)")


def check_jsonschema(document, tmp_path):
    path = tmp_path / "Dockerrun.aws.json"
    path.write_text(json.dumps(document))
    return subprocess.run(["check-jsonschema", "--schemafile", str(SCHEMA), str(path)], capture_output=True, text=True)


def ebextensions():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (run tools/deps-shipping)")
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted((ROOT / ".ebextensions").glob("*.config"))}


def test_dockerrun_is_valid_version_1():
    needs("check-jsonschema")

    result = subprocess.run(["check-jsonschema", "--schemafile", str(SCHEMA), str(DOCKERRUN)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("breakage", [
    pytest.param(lambda d: d.update(AWSEBDockerrunVersion="2"), id="version-2"),
    pytest.param(lambda d: d.update(Portz=d.pop("Ports")), id="misspelt-key"),
    pytest.param(lambda d: d["Ports"][0].update(ContainerPort="http"), id="port-not-a-number"),
    pytest.param(lambda d: d["Volumes"][0].pop("ContainerDirectory"), id="volume-without-container-directory"),
    pytest.param(lambda d: d["Image"].pop("Name"), id="image-without-name"),
    pytest.param(lambda d: d.update(Logging="var/log/segd"), id="relative-logging-path"),
])
def test_broken_dockerrun_fails_validation(breakage, tmp_path):
    needs("check-jsonschema")
    document = json.loads(DOCKERRUN.read_text())
    breakage(document)

    result = check_jsonschema(document, tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr


def test_dockerrun_agrees_with_the_dockerfile():
    dockerrun = json.loads(DOCKERRUN.read_text())
    dockerfile = DOCKERFILE.read_text()

    assert re.search(r"^EXPOSE 3000$", dockerfile, re.MULTILINE)
    assert dockerrun["Ports"][0]["ContainerPort"] == "3000"
    data_dir = re.search(r"SEGD_DATA_DIR=(\S+)", dockerfile).group(1)
    assert {"HostDirectory": data_dir, "ContainerDirectory": data_dir} in dockerrun["Volumes"]
    assert f'VOLUME ["{data_dir}"]' in dockerfile
    assert re.search(r"install -d -o segd -g segd -m 0755 " + re.escape(dockerrun["Logging"]), dockerfile)


def test_ebextensions_run_ship_segments_hourly_from_cron():
    files = {name: spec for config in ebextensions().values() for name, spec in config.get("files", {}).items()}
    cron = files["/etc/cron.d/segd-ship"]

    jobs = [line.split(None, 6) for line in cron["content"].splitlines() if line.strip() and not line.startswith("#")
            and "=" not in line.split()[0]]

    assert len(jobs) == 1
    minute, hour, day, month, weekday, user, command = jobs[0]
    assert minute.isdigit() and 0 <= int(minute) < 60
    assert (hour, day, month, weekday, user) == ("*", "*", "*", "*", "root")
    assert command.startswith("/usr/local/bin/segd-ship")
    assert cron["mode"] == "000644" and cron["content"].endswith("\n")  # cron skips a last line without one
    assert "exec /usr/local/bin/ship-segments" in files["/usr/local/bin/segd-ship"]["content"]


def test_ebextensions_install_ship_segments_from_the_bundle():
    commands = {name: spec["command"] for config in ebextensions().values()
                for name, spec in config.get("container_commands", {}).items()}

    assert any("tools/ship-segments /usr/local/bin/ship-segments" in c for c in commands.values())
    assert "!/tools/ship-segments" in (ROOT / ".ebignore").read_text().splitlines()


def test_ebextensions_environment_matches_the_container():
    settings = {}
    for config in ebextensions().values():
        settings.update(config.get("option_settings", {}).get("aws:elasticbeanstalk:application:environment", {}))
    dockerrun = json.loads(DOCKERRUN.read_text())
    dockerfile = DOCKERFILE.read_text()

    assert settings["SEGD_DATA_DIR"] == dockerrun["Volumes"][0]["ContainerDirectory"]
    assert settings["SEGD_PORT"] == dockerrun["Ports"][0]["ContainerPort"]
    assert settings["SEG_PREFIX"]
    assert "SEGD_NODE_ID" not in settings  # the container's host name
    data_dir_commands = " ".join(spec["command"] for config in ebextensions().values()
                                 for spec in config.get("commands", {}).values())
    uid = re.search(r"USER (\d+):(\d+)", dockerfile)
    assert f"chown {uid.group(1)}:{uid.group(2)} {settings['SEGD_DATA_DIR']}" in data_dir_commands


def test_container_lint_is_clean():
    needs("hadolint")
    needs("check-jsonschema")

    result = subprocess.run([str(ROOT / "tools" / "lint-container")], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok -- validation done") >= 1
