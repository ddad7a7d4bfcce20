"""The deployment files agree with the code (tests/deploy/checks.py), parse, and render; and the
checks find each kind of drift in a deliberately broken copy.

What cannot run on a machine without a Docker engine or a cluster (building the image, starting
compose, applying the manifests) is checked instead by the tools that work without one, where
installed: `docker compose config` / `docker-compose config`, `kubectl kustomize`, `nginx -t`,
`systemd-analyze verify`. Where a tool is missing its test is skipped and says so; the checks of
checks.py (and the by-hand kustomize) run everywhere.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import checks

ROOT = checks.ROOT
FILES = ("Dockerfile", ".dockerignore", "README.md", "docs/deploy.md", "deploy")


def test_every_environment_variable_the_files_set_is_a_setting():
    assert checks.check_env_names(ROOT) == []


def test_names_allowed_ahead_of_their_setting_are_not_settings_yet():
    landed = checks.PENDING_SETTINGS & checks.setting_names()
    assert not landed, f"{sorted(landed)} now in bot/settings.py: remove from checks.PENDING_SETTINGS"


def test_every_command_the_files_run_is_one_the_cli_takes():
    found = checks.tsunagu_commands(ROOT)
    assert {argv[0] for _, argv in found} >= {"serve", "work", "db"}, "the files were all read"
    assert checks.check_commands(ROOT) == []


def test_ports_paths_limits_and_grace_periods_match_the_service():
    assert checks.check_ports_and_paths(ROOT) == []


def test_the_image_installs_with_the_readmes_command():
    assert checks.readme_install(ROOT) == "python3 -m venv .venv && .venv/bin/pip install -q -e ."
    assert checks.check_install(ROOT) == []


def test_the_image_holds_no_key_and_runs_as_a_user_of_its_own():
    steps = checks.dockerfile(ROOT)
    users = [rest for word, rest in steps if word == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "the last USER is not root"
    copied = " ".join(rest for word, rest in steps if word in ("COPY", "ADD"))
    assert ".key" not in copied and ".env" not in copied
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignored[0] == "*", "the build context excludes everything not named"
    assert {"**/*.key", "**/*.db", "**/.env"} <= set(ignored)
    copied_dirs = {rest.split()[0] for word, rest in steps if word == "COPY"}
    for name in copied_dirs - {"pyproject.toml", "README.md"}:
        assert f"!{name}/" in ignored, f"{name} is copied but not let into the build context"
    base = next(rest for word, rest in steps if word == "FROM")
    assert base.startswith("python:") and base.split(":")[1][0].isdigit() and "slim" in base, base


def test_compose_parses_with_the_migration_first():
    doc = checks.compose(ROOT)
    services = doc["services"]
    assert services["postgres"]["healthcheck"]["test"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web1", "web2", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"pgdata", "keystore"} <= set(doc["volumes"])


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_file(tmp_path):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: compose was only parsed as YAML")
    folder = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", folder)
    shutil.copy(folder / ".env.example", folder / ".env")
    (folder / "secrets").mkdir()
    (folder / "secrets" / "tsunagu.key").write_text("{}")
    done = subprocess.run([*cli, "-f", str(folder / "compose.yaml"), "--project-directory", str(folder), "config"],
                          capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr
    rendered = checks.yaml_load(done.stdout)
    assert rendered["services"]["web1"]["environment"]["TSUNAGU_PUBLIC_URL"] == "https://tsunagu.example.org"


def test_kustomize_renders_the_manifests():
    by_hand = checks.kustomize_by_hand(ROOT)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in by_hand}
    assert {("Deployment", "tsunagu-web"), ("Deployment", "tsunagu-worker"), ("Service", "tsunagu-web"),
            ("PodDisruptionBudget", "tsunagu-web"), ("Job", "tsunagu-migrate"),
            ("ConfigMap", "tsunagu-settings")} <= kinds
    for doc in by_hand:
        for container in checks.containers(doc, init=True):
            assert container["image"] == "registry.example.org/tsunagu:0.1.0"
    rendered = checks.kustomize_with_kubectl(ROOT)
    if rendered is None:
        pytest.skip("kubectl is not installed: the manifests were resolved by hand (checks.kustomize_by_hand)")
    assert {(d["kind"], d["metadata"]["name"]) for d in rendered} == kinds
    for doc in rendered:
        assert doc["metadata"].get("namespace", "tsunagu") == "tsunagu"


def test_the_key_file_comes_from_a_secret_and_settings_from_the_configmap():
    for doc in checks.kustomize_by_hand(ROOT):
        if doc["kind"] != "Deployment":
            continue
        spec = checks.pod_spec(doc)
        assert any(v.get("secret", {}).get("secretName") == "tsunagu-key" for v in spec["volumes"])
        for container in spec["containers"]:
            refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
            assert refs == {"tsunagu-settings", "tsunagu-env"}
            assert container["resources"]["requests"]["memory"]


def _certificate(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tsunagu.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))


def test_nginx_accepts_the_proxy_configuration(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        pytest.skip("nginx is not installed: deploy/nginx.conf was checked by tests/deploy/checks.py only")
    _certificate(tmp_path)
    # The compose service names do not resolve here; the certificate is a test one.
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("server web1:", "server 127.0.0.1:").replace("server web2:", "server 127.0.0.2:")
    text = text.replace("/etc/nginx/tls", str(tmp_path))
    (tmp_path / "nginx.conf").write_text(text)
    done = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", [Path(p).name for p in checks.UNITS])
def test_systemd_accepts_the_units(tmp_path, name):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units were checked by tests/deploy/checks.py only")
    tsunagu = Path(sys.executable).with_name("tsunagu")
    if not tsunagu.exists():
        pytest.skip(f"{tsunagu} is not installed")
    text = (ROOT / "deploy" / name).read_text().replace("/opt/tsunagu/.venv/bin/tsunagu", str(tsunagu))
    (tmp_path / name).write_text(text)
    done = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


# -- the checks find drift ----------------------------------------------------------------------

BREAKS = [
    # (file, text, replaced by, the problem reported, the check)
    ("deploy/compose.yaml", "TSUNAGU_LOG_LEVEL: ${TSUNAGU_LOG_LEVEL:-INFO}", "TSUNAGU_LOGLEVEL: INFO",
     "TSUNAGU_LOGLEVEL is not a setting", checks.check_env_names),
    ("deploy/k8s/configmap.yaml", "TSUNAGU_LOG_LEVEL: INFO", "TSUNAGU_LOG: INFO",
     "ConfigMap tsunagu-settings: TSUNAGU_LOG is not a setting", checks.check_env_names),
    ("deploy/tsunagu-web.service", "Environment=TSUNAGU_SHUTDOWN_GRACE_SECONDS=20", "Environment=TSUNAGU_GRACE=20",
     "TSUNAGU_GRACE is not a setting", checks.check_env_names),
    ("deploy/.env.example", "TSUNAGU_LOG_LEVEL=INFO", "TSUNAGU_LOG_LEVEL=INFO\nUNUSED_THING=1",
     "UNUSED_THING is not used", checks.check_env_names),
    ("docs/deploy.md", "--from-literal=SLACK_BOT_TOKEN=", "--from-literal=SLACK_TOKEN=",
     "SLACK_TOKEN is not a setting", checks.check_env_names),
    ("deploy/compose.yaml", 'command: ["work", "--health-port", "8081"]', 'command: ["worker"]',
     "`tsunagu worker` is not a command", checks.check_commands),
    ("deploy/tsunagu-web.service", "bin/tsunagu db upgrade", "bin/tsunagu db migrate",
     "`tsunagu db migrate` is not a command", checks.check_commands),
    ("docs/deploy.md", "tsunagu db create-key", "tsunagu db make-key", "no command 'make-key'", checks.check_commands),
    ("Dockerfile", "EXPOSE 8080", "EXPOSE 8000", "Dockerfile EXPOSE: [8000]", checks.check_ports_and_paths),
    ("Dockerfile", "127.0.0.1:8080/healthz", "127.0.0.1:8080/health", "HEALTHCHECK: [(8080, '/health')]",
     checks.check_ports_and_paths),
    ("deploy/compose.yaml", "urlopen('http://127.0.0.1:8081/healthz'", "urlopen('http://127.0.0.1:8082/healthz'",
     "worker healthcheck: (8082, '/healthz')", checks.check_ports_and_paths),
    ("deploy/nginx.conf", "client_max_body_size  1m;", "client_max_body_size  10m;",
     "client_max_body_size: 10485760", checks.check_ports_and_paths),
    ("deploy/k8s/ingress.yaml", "proxy-body-size: 1m", "proxy-body-size: 8m", "proxy-body-size: 8388608",
     checks.check_ports_and_paths),
    ("deploy/k8s/ingress.yaml", "name: tsunagu-web", "name: tsunagu", "backend", checks.check_ports_and_paths),
    ("deploy/nginx.conf", "server web2:8080", "server web3:8080", "nginx.conf upstream", checks.check_ports_and_paths),
    ("deploy/k8s/web-deployment.yaml", "path: /healthz", "path: /ready", "/ready is not a path",
     checks.check_ports_and_paths),
    ("deploy/k8s/worker-deployment.yaml", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 10",
     "tsunagu-worker: terminationGracePeriodSeconds", checks.check_ports_and_paths),
    ("deploy/k8s/worker-deployment.yaml", 'value: "0.0.0.0:9109"', 'value: "0.0.0.0:9110"',
     "tsunagu-worker livenessProbe: (9109, '/healthz')", checks.check_ports_and_paths),
    ("deploy/tsunagu-worker.service", "UMask=0077", "UMask=0022", "UMask: '0022'", checks.check_ports_and_paths),
    ("Dockerfile", "RUN python3 -m venv .venv && .venv/bin/pip install -q -e .",
     "RUN python3 -m venv .venv && .venv/bin/pip install -q .", "the README with", checks.check_install),
]


@pytest.mark.parametrize(("file", "old", "new", "problem", "check"), BREAKS,
                         ids=[f"{b[0]}:{b[2][:30]}" for b in BREAKS])
def test_the_checks_find_a_broken_copy(tmp_path, file, old, new, problem, check):
    for name in FILES:
        source = ROOT / name
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    assert check(tmp_path) == [], "the unbroken copy passes"
    text = (tmp_path / file).read_text()
    assert old in text, f"{file} no longer has {old!r}: update this test"
    (tmp_path / file).write_text(text.replace(old, new, 1))
    found = check(tmp_path)
    assert any(problem in p for p in found), found
