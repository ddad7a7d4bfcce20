"""What keeps the deployment files honest, as functions of a checkout's root, so that the tests
can run them on the real files and on deliberately broken copies.

Each check returns a list of problems (empty: fine). What the files must agree with comes from
the code itself: the settings' environment names from bot/settings.py, the commands from the CLI's
argparse parser, the paths from the app's router, the port and limits from their defaults.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.app import create_app
from bot.cli import build_parser
from bot.settings import ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]

# Names the deployment files may set before bot/settings.py knows them. Each goes when it lands.
PENDING_SETTINGS: set[str] = set()  # names the deploy files may use before the settings have them
# The interpreter's and pip's own variables, set in the image; not Tsunagu settings.
RUNTIME_ENV = re.compile(r"^(PATH|PYTHON[A-Z_]*|PIP_[A-Z_]+)$")
# Files in which a TSUNAGU_* name may only be a real setting.
PROSE = ("README.md", "docs/deploy.md", "deploy/README.md")
COMPOSE = "deploy/compose.yaml"
K8S = "deploy/k8s"
UNITS = ("deploy/tsunagu.service", "deploy/tsunagu-web.service", "deploy/tsunagu-worker.service")
ENV_FILES = ("deploy/.env.example", "deploy/tsunagu.env.example")


# -- what the code says -------------------------------------------------------------------------

def setting_names() -> set[str]:
    """Every environment variable Settings reads: ENV_NAMES, and the names `from_env` reads
    itself (TSUNAGU_CONFIG), found in its source."""
    names = set(ENV_NAMES)
    tree = ast.parse((ROOT / "bot" / "settings.py").read_text())
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env":
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "env" and node.args):
            key = node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


def allowed_names() -> set[str]:
    return setting_names() | PENDING_SETTINGS


def routes() -> set[str]:
    settings = Settings(line_channel_secret="s", line_channel_access_token="t",
                        slack_signing_secret="s", slack_bot_token="t")
    return {r.resource.canonical for r in create_app(settings).router.routes() if r.resource is not None}


def default_port() -> int:
    return int(build_parser().parse_args(["serve"]).port)


def grace_seconds(env: dict[str, str] | None = None) -> float:
    return float((env or {}).get("TSUNAGU_SHUTDOWN_GRACE_SECONDS") or Settings().shutdown_grace_seconds)


def parse_command(argv: list[str]) -> tuple[Any, str | None]:
    """(namespace, None), or (None, why not) when the CLI does not take `argv`."""
    err = io.StringIO()
    try:
        import contextlib

        with contextlib.redirect_stderr(err):
            return build_parser().parse_args(argv), None
    except SystemExit:
        return None, " ".join(err.getvalue().split()[-12:]) or "rejected"


def command_path_problem(words: list[str]) -> str | None:
    """Whether `tsunagu <words...>` names a command (and action) the CLI has; options not read."""
    parser = build_parser()
    import argparse

    for word in words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return None
        if word not in subs[0].choices:
            return f"no command {word!r} (have {', '.join(sorted(subs[0].choices))})"
        parser = subs[0].choices[word]
    return None


# -- reading the files --------------------------------------------------------------------------

def yaml_load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def yaml_load_all(text: str) -> list[Any]:
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


def dockerfile(root: Path) -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in (root / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        lines.append((word.upper(), rest.strip()))
    return lines


def dockerfile_env(root: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile(root):
        if word == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def json_or_shell(rest: str) -> list[str]:
    import json

    return list(json.loads(rest)) if rest.startswith("[") else shlex.split(rest)


def image_command(root: Path) -> list[str]:
    """The image's default command line: ENTRYPOINT + CMD."""
    entry: list[str] = []
    cmd: list[str] = []
    for word, rest in dockerfile(root):
        if word == "ENTRYPOINT":
            entry = json_or_shell(rest)
        elif word == "CMD":
            cmd = json_or_shell(rest)
    return entry + cmd


def compose(root: Path) -> dict[str, Any]:
    return yaml_load((root / COMPOSE).read_text())


def tsunagu_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in doc["services"].items()
            if "build" in svc or str(svc.get("image", "")).startswith("tsunagu")}


def env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def unit(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


def unit_env(path: Path) -> dict[str, str]:
    env = {}
    for key, value in unit(path):
        if key == "Environment":
            for item in shlex.split(value):
                name, _, val = item.partition("=")
                env[name] = val
    return env


def kustomize_with_kubectl(root: Path) -> list[dict[str, Any]] | None:
    """`kubectl kustomize` if kubectl is here (None if not); raises if it fails to render."""
    if shutil.which("kubectl") is None:
        return None
    done = subprocess.run(["kubectl", "kustomize", str(root / K8S)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ValueError(f"kubectl kustomize failed: {done.stderr.strip()}")
    return yaml_load_all(done.stdout)


def kustomize_by_hand(root: Path) -> list[dict[str, Any]]:
    """The base's resources with its namespace, labels and images applied: the part of kustomize
    this base uses, for machines without kubectl. Anything else in the kustomization is refused,
    so that this never silently renders less than kustomize would."""
    folder = root / K8S
    kust = yaml_load((folder / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}
    if set(kust) - known:
        raise ValueError(f"kustomization.yaml uses {sorted(set(kust) - known)}: render it with kubectl kustomize")
    docs: list[dict[str, Any]] = []
    for name in kust["resources"]:
        docs += yaml_load_all((folder / name).read_text())
    for doc in docs:
        if kust.get("namespace") and doc["kind"] != "Namespace":
            doc["metadata"]["namespace"] = kust["namespace"]
        for group in kust.get("labels", []):
            doc["metadata"].setdefault("labels", {}).update(group["pairs"])
        for container in containers(doc, init=True):
            for image in kust.get("images", []):
                if container.get("image") == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return docs


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return doc["spec"]["template"]["spec"]
    return None


def containers(doc: dict[str, Any], *, init: bool = False) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    if spec is None:
        return []
    return list(spec.get("containers", [])) + (list(spec.get("initContainers", [])) if init else [])


# -- the checks ---------------------------------------------------------------------------------

def check_env_names(root: Path) -> list[str]:
    allowed = allowed_names()
    problems = []

    def need(where: str, names: Iterator[str] | list[str] | set[str]) -> None:
        for name in names:
            if name not in allowed:
                problems.append(f"{where}: {name} is not a setting of bot/settings.py")

    need("Dockerfile ENV", [n for n in dockerfile_env(root) if not RUNTIME_ENV.match(n)])
    doc = compose(root)
    for name, svc in tsunagu_services(doc).items():
        need(f"{COMPOSE} service {name}", list(svc.get("environment", {})))
    compose_text = (root / COMPOSE).read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text))
    env_example = env_file(root / ENV_FILES[0])
    for name in env_example:
        if name.startswith(("TSUNAGU_", "LINE_", "SLACK_")):
            need(ENV_FILES[0], [name])
        if name not in interpolated:
            problems.append(f"{ENV_FILES[0]}: {name} is not used by {COMPOSE}")
    for name in interpolated:
        if name not in env_example and not re.search(r"\$\{" + name + r":-", compose_text):
            problems.append(f"{COMPOSE}: ${{{name}}} has no default and is not in {ENV_FILES[0]}")
    need(ENV_FILES[1], list(env_file(root / ENV_FILES[1])))
    for doc in kustomize_by_hand(root):
        if doc["kind"] == "ConfigMap":
            need(f"{K8S} ConfigMap {doc['metadata']['name']}", list(doc.get("data", {})))
        for container in containers(doc, init=True):
            need(f"{K8S} container {container['name']}", [e["name"] for e in container.get("env", [])])
    for path in UNITS:
        need(path, list(unit_env(root / path)))
    for path in PROSE:
        for name in set(re.findall(r"\b(TSUNAGU_[A-Z0-9_]+\*?)", (root / path).read_text())):
            if name.endswith("*"):  # a family of settings, "TSUNAGU_CHAT_*"
                if not any(n.startswith(name[:-1]) for n in allowed):
                    problems.append(f"{path}: no setting is named {name}")
            else:
                need(path, [name])
    # Secrets the docs tell the operator to create for Kubernetes.
    need("docs/deploy.md secret", re.findall(r"--from-literal=([A-Z_0-9]+)=", (root / "docs/deploy.md").read_text()))
    fields = set(Settings.__dataclass_fields__)
    toml = yaml_free_toml(root / "deploy" / "tsunagu.example.toml")
    for key in toml:
        if key not in fields:
            problems.append(f"deploy/tsunagu.example.toml: {key} is not a setting")
    return problems


def yaml_free_toml(path: Path) -> list[str]:
    """Every key in the example TOML, commented-out ones too (they document settings)."""
    keys = []
    for line in path.read_text().splitlines():
        m = re.match(r"^#?\s*([a-z_]+)\s*=", line.strip())
        if m:
            keys.append(m.group(1))
    return keys


def tsunagu_commands(root: Path) -> list[tuple[str, list[str]]]:
    """(where, argv after `tsunagu`) of every tsunagu command the deployment files run."""
    found: list[tuple[str, list[str]]] = []
    image = image_command(root)
    if image[:1] == ["tsunagu"]:
        found.append(("Dockerfile CMD", image[1:]))
    for name, svc in tsunagu_services(compose(root)).items():
        command = svc.get("command", image[1:])
        found.append((f"{COMPOSE} {name}", shlex.split(command) if isinstance(command, str) else list(command)))
    for doc in kustomize_by_hand(root):
        for container in containers(doc, init=True):
            if "command" in container:
                if Path(container["command"][0]).name == "tsunagu":
                    found.append((f"{K8S} {container['name']}", container["command"][1:] + container.get("args", [])))
            elif container.get("image", "").split(":")[0].endswith("tsunagu"):
                found.append((f"{K8S} {container['name']}", list(container.get("args", image[1:]))))
    for path in UNITS:
        for key, value in unit(root / path):
            if key.startswith("Exec"):
                argv = shlex.split(value.lstrip("-@+!"))
                if argv and Path(argv[0]).name == "tsunagu":
                    found.append((f"{path} {key}", argv[1:]))
    return found


def check_commands(root: Path) -> list[str]:
    problems = []
    for where, argv in tsunagu_commands(root):
        _, why = parse_command(argv)
        if why is not None:
            problems.append(f"{where}: `tsunagu {' '.join(argv)}` is not a command the CLI takes ({why})")
    for path in ("docs/deploy.md", "deploy/README.md", "README.md"):
        text = (root / path).read_text()
        for m in re.finditer(r"(?:bin/tsunagu|`tsunagu|tsunagu(?::[\w.]+)?)\s+((?:[a-z][a-z-]*)(?:\s+[a-z][a-z-]*)?)",
                             text):
            words = m.group(1).split()
            if words[0] not in {"serve", "work", "db", "desk", "flows", "routing", "stats", "export"}:
                continue  # prose ("tsunagu is ...") or an image name
            why = command_path_problem(words[:2] if words[0] in {"db", "desk", "flows", "routing", "stats",
                                                                  "export"} else words[:1])
            if why is not None:
                problems.append(f"{path}: `tsunagu {' '.join(words)}`: {why}")
    return problems


def url_port_path(text: str) -> tuple[int, str] | None:
    m = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", text)
    return (int(m.group(1)), m.group(2)) if m else None


def check_ports_and_paths(root: Path) -> list[str]:  # noqa: C901  # one list of agreements
    problems = []
    port, paths = default_port(), routes()

    def same(where: str, found: object, expected: object) -> None:
        if found != expected:
            problems.append(f"{where}: {found!r}, the service's is {expected!r}")

    def route(where: str, path: str) -> None:
        if path not in paths:
            problems.append(f"{where}: {path} is not a path of the service")

    def serve_port(where: str, argv: list[str]) -> int | None:
        args, _ = parse_command(argv)
        return getattr(args, "port", None) if args is not None and args.command == "serve" else None

    # The image
    steps = dockerfile(root)
    exposed = [int(p.split("/")[0]) for w, rest in steps if w == "EXPOSE" for p in rest.split()]
    same("Dockerfile EXPOSE", exposed, [port])
    same("Dockerfile CMD port", serve_port("Dockerfile", image_command(root)[1:]), port)
    health = [url_port_path(rest) for w, rest in steps if w == "HEALTHCHECK"]
    same("Dockerfile HEALTHCHECK", health, [(port, "/healthz")])
    route("Dockerfile HEALTHCHECK", "/healthz")

    # Compose
    doc = compose(root)
    services = tsunagu_services(doc)
    web = []
    for name, svc in services.items():
        argv = svc.get("command", image_command(root)[1:])
        args, _ = parse_command(list(argv))
        if args is None:
            continue
        grace = grace_seconds({k: str(v) for k, v in svc.get("environment", {}).items()})
        stop = svc.get("stop_grace_period")
        if args.command in ("serve", "work") and (stop is None or _seconds(stop) <= grace):
            problems.append(f"{COMPOSE} {name}: stop_grace_period {stop} is not above the grace ({grace:.0f} s)")
        if args.command == "serve":
            web.append(name)
            same(f"{COMPOSE} {name} port", args.port, port)
            if not args.no_worker:
                problems.append(f"{COMPOSE} {name}: serve without --no-worker beside a worker service")
        if args.command == "work":
            check = " ".join(svc.get("healthcheck", {}).get("test", []))
            same(f"{COMPOSE} {name} healthcheck", url_port_path(check), (args.health_port, "/healthz"))
        key = svc.get("environment", {}).get("TSUNAGU_KEY_FILE", "")
        targets = [f"/run/secrets/{s['target']}" for s in svc.get("secrets", []) if isinstance(s, dict)]
        if key not in targets:
            problems.append(f"{COMPOSE} {name}: TSUNAGU_KEY_FILE {key} is not its mounted secret {targets}")
        store = svc.get("environment", {}).get("TSUNAGU_KEY_STORE")
        mounts = [v.split(":")[1] for v in svc.get("volumes", [])]
        if store and str(Path(store).parent) not in mounts:
            problems.append(f"{COMPOSE} {name}: TSUNAGU_KEY_STORE {store} is not on a volume {mounts}")
    nginx = (root / "deploy" / "nginx.conf").read_text()
    upstream = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", nginx, re.M)
    same("deploy/nginx.conf upstream", sorted(upstream), sorted((name, str(port)) for name in web))
    for path in re.findall(r"^\s*location\s+(?:=\s*)?(/\S*)\s*\{", nginx, re.M):
        if path != "/":
            route("deploy/nginx.conf location", path)
    m = re.search(r"client_max_body_size\s+(\S+);", nginx)
    same("deploy/nginx.conf client_max_body_size", _bytes(m.group(1)) if m else None, Settings().max_body_bytes)
    proxy_ip = doc["services"].get("proxy", {}).get("networks", {}).get("tsunagu", {}).get("ipv4_address")
    for name in web:
        same(f"{COMPOSE} {name} TSUNAGU_TRUSTED_PROXIES", services[name]["environment"].get("TSUNAGU_TRUSTED_PROXIES"),
             proxy_ip)

    # Kubernetes
    docs = kustomize_by_hand(root)
    config = {k: str(v) for d in docs if d["kind"] == "ConfigMap" for k, v in d.get("data", {}).items()}
    grace = grace_seconds(config)
    service_ports = {p["name"]: p for d in docs if d["kind"] == "Service" for p in d["spec"]["ports"]}
    for doc in docs:
        if doc["kind"] == "Ingress":
            where = f"{K8S} Ingress {doc['metadata']['name']}"
            body = doc["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/proxy-body-size")
            same(f"{where} proxy-body-size", _bytes(body) if body else None, Settings().max_body_bytes)
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
                    if backend["name"] not in names or backend["port"].get("name") not in service_ports:
                        problems.append(f"{where}: backend {backend} is not the Service's")
        spec = pod_spec(doc)
        if spec is None or doc["kind"] != "Deployment":
            continue
        where = f"{K8S} {doc['metadata']['name']}"
        if spec.get("terminationGracePeriodSeconds", 30) <= grace:
            problems.append(f"{where}: terminationGracePeriodSeconds is not above the grace ({grace:.0f} s)")
        mounts = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        for name in ("TSUNAGU_KEY_FILE", "TSUNAGU_KEY_STORE"):
            if name in config and str(Path(config[name]).parent) not in mounts:
                problems.append(f"{where}: {name} {config[name]} is not on a mounted volume")
        for container in spec["containers"]:
            args, _ = parse_command(list(container.get("args", [])))
            if args is None:
                continue
            named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            if args.command == "serve":
                same(f"{where} --port", args.port, port)
                same(f"{where} containerPort", sorted(named.values()), [port])
                for probe in ("readinessProbe", "livenessProbe"):
                    get = container.get(probe, {}).get("httpGet")
                    if get is None:
                        problems.append(f"{where}: no {probe} on HTTP")
                        continue
                    route(f"{where} {probe}", get["path"])
                    same(f"{where} {probe} port", named.get(get["port"], get["port"]), port)
                for service_port in service_ports.values():
                    if service_port["targetPort"] not in named and service_port["targetPort"] != port:
                        problems.append(f"{K8S} Service targetPort {service_port['targetPort']} is not the web port")
            if args.command == "work":
                get = container.get("livenessProbe", {}).get("httpGet")
                if get is not None:  # on the worker's own listen address (TSUNAGU_WORKER_METRICS_LISTEN)
                    env = {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}
                    listen = env.get("TSUNAGU_WORKER_METRICS_LISTEN") or str(config.get("TSUNAGU_WORKER_METRICS_LISTEN", ""))
                    tail = listen.rpartition(":")[2]
                    same(f"{where} livenessProbe", (named.get(get["port"], get["port"]), get["path"]),
                         (int(tail) if tail.isdigit() else None, "/healthz"))
                    continue
                probe = " ".join(container.get("livenessProbe", {}).get("exec", {}).get("command", []))
                same(f"{where} livenessProbe", url_port_path(probe), (args.health_port, "/healthz"))

    # systemd
    for path in UNITS:
        pairs = dict(unit(root / path))
        stop = pairs.get("TimeoutStopSec")
        grace = grace_seconds(unit_env(root / path))
        if stop is None or _seconds(stop) <= grace:
            problems.append(f"{path}: TimeoutStopSec {stop} is not above the grace ({grace:.0f} s)")
        for key, value in unit(root / path):
            if key == "ExecStart":
                args, _ = parse_command(shlex.split(value)[1:])
                if args is not None and args.command == "serve":
                    same(f"{path} --port", args.port, port)
        for key in ("UMask", "NoNewPrivileges", "ProtectSystem"):
            want = {"UMask": "0077", "NoNewPrivileges": "true", "ProtectSystem": "strict"}[key]
            same(f"{path} {key}", pairs.get(key), want)
    return problems


def _bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def _seconds(value: object) -> float:
    text = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m|min)?", text)
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * {None: 1, "s": 1, "ms": 0.001, "m": 60, "min": 60}[m.group(2)]


def readme_install(root: Path) -> str:
    """The README's install command: its first shell line with `pip install`, up to the install."""
    for line in (root / "README.md").read_text().splitlines():
        if "pip install" in line and "[test]" not in line:
            parts = line.strip().split(" && ")
            last = max(i for i, p in enumerate(parts) if "pip install" in p)
            return " && ".join(parts[: last + 1])
    raise ValueError("README.md has no install command")


def check_install(root: Path) -> list[str]:
    expected = readme_install(root)
    runs = [rest for word, rest in dockerfile(root) if word == "RUN" and "pip install" in rest]
    if not runs:
        return ["Dockerfile: no pip install step"]
    problems = []
    for rest in runs:
        steps = rest.split(" && ")
        start = next((i for i, s in enumerate(steps) if s.startswith("python3 -m venv")), None)
        found = " && ".join(steps[start:]) if start is not None else rest
        if found != expected:
            problems.append(f"Dockerfile: RUN installs with `{found}`, the README with `{expected}`")
    return problems
