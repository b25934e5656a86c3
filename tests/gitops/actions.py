"""A small, strict, local stand-in for a GitHub Actions runner (act-like).

It runs the steps of a workflow job in order with bash, the way a hosted
runner does: the workflow's `defaults.run.shell`, the env layering (workflow,
job, step), `${{ }}` expressions, `if:` conditions with the implicit
`success()`, `GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH` and
`GITHUB_STEP_SUMMARY` files, workflow commands (`::error ...::`), and a failed
step failing the job while later steps run only if their condition lets them.

Composite actions (`runs.using: composite`, such as this repository's own
`action.yml`) are expanded and run step by step, as the runner does: their
`inputs` (defaults included), their own `steps` context and status functions,
`GITHUB_ACTION_PATH`, a `shell:` on every `run:` step, and `outputs` computed
from their steps. Which `uses:` references are composite actions, and where
their `action.yml` lies, is given by the caller (`actions`).

Other `uses:` steps cannot run here: each must be one the caller expects, and a
handler given by the caller stands in for it. Steps whose id is listed in
`skip_ids` (installing inkbox-sync, which the test environment already has)
are recorded as succeeding without running.

It is strict on purpose: a key or an expression it does not model is an error,
so the workflows cannot quietly grow something this test does not exercise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: What `shell:` means on a hosted Linux runner (and the default when it is unset).
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    None: ["bash", "-e"],
}
STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell"}
ACTION_KEYS = {"name", "description", "author", "branding", "inputs", "outputs", "runs"}
JOB_KEYS = {"runs-on", "timeout-minutes", "steps", "if", "env", "permissions"}
WORKFLOW_KEYS = {"name", "on", "permissions", "concurrency", "env", "defaults", "jobs"}
STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


def load_workflow(path: Path) -> dict[str, Any]:
    """The workflow as a mapping; PyYAML reads the bare key `on` as True, undone here."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    if True in data:
        data["on"] = data.pop(True)
    unknown = set(data) - WORKFLOW_KEYS
    assert not unknown, f"{path}: keys this runner does not model: {sorted(unknown)}"
    return data


# --- expressions -------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\)|\.)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    pass


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    """Recursive descent over the subset of the expression language the workflows use."""

    def __init__(self, text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def parse(self) -> Any:
        value = self._or()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"trailing input in {self.text!r}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, op: str) -> bool:
        token = self._peek()
        if token is not None and token == ("op", op):
            self.pos += 1
            return True
        return False

    def _or(self) -> Any:
        value = self._and()
        while self._take("||"):
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._not()
        while self._take("&&"):
            right = self._not()
            value = right if truthy(value) else value
        return value

    def _not(self) -> Any:
        if self._take("!"):
            return not truthy(self._not())
        return self._compare()

    def _compare(self) -> Any:
        left = self._primary()
        for op in ("==", "!="):
            if self._take(op):
                right = self._primary()
                equal = loose_equal(left, right)
                return equal if op == "==" else not equal
        return left

    def _primary(self) -> Any:
        token = self._peek()
        if token is None:
            raise ExpressionError(f"unexpected end of {self.text!r}")
        kind, text = token
        self.pos += 1
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if (kind, text) == ("op", "("):
            inner = self._or()
            if not self._take(")"):
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return inner
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._take("("):
            if not self._take(")"):
                raise ExpressionError(f"only argument-less functions are modelled: {self.text!r}")
            if text not in self.status:
                raise ExpressionError(f"function {text}() is not modelled")
            return self.status[text]
        if text not in self.contexts:
            raise ExpressionError(f"context {text!r} is not modelled ({self.text!r})")
        value: Any = self.contexts[text]
        while self._take("."):
            name = self._peek()
            if name is None or name[0] != "name":
                raise ExpressionError(f"expected a property name in {self.text!r}")
            self.pos += 1
            value = value.get(name[1]) if isinstance(value, Mapping) else None
        return value


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "")


def _as_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text == "":
        return 0.0
    try:
        return float(text)
    except ValueError:
        return float("nan")


def loose_equal(left: Any, right: Any) -> bool:
    """GitHub's `==`: strings compare ignoring case; other mixed types compare as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right):
        return bool(left == right)
    return _as_number(left) == _as_number(right)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def evaluate(text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> Any:
    return _Parser(text, contexts, status).parse()


def interpolate(text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> str:
    return _INTERPOLATION.sub(lambda m: to_text(evaluate(m.group(1), contexts, status)), text)


def condition(raw: Any, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """An `if:`: `${{ }}` optional, and `success() && (...)` unless it names a status function."""
    if raw is None:
        return status["success"]
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    if match:
        text = match.group(1)
    if not any(fn in text.replace(" ", "") for fn in STATUS_FUNCTIONS):
        text = f"success() && ({text})"
    return truthy(evaluate(text, contexts, status))


# --- the runner ----------------------------------------------------------------

_COMMAND = re.compile(r"^::(?P<cmd>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning | notice
    message: str
    props: dict[str, str]


@dataclass
class StepResult:
    id: str | None
    name: str
    outcome: str  # success | failure | skipped
    kind: str  # run | uses | simulated | composite
    uses: str | None = None
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)
    #: The steps of a composite action, as it ran them.
    steps: list[StepResult] = field(default_factory=list)

    def walk(self) -> list[StepResult]:
        """This step, then the steps of a composite action, depth first."""
        return [self, *(inner for step in self.steps for inner in step.walk())]


@dataclass
class JobResult:
    name: str
    conclusion: str  # success | failure | skipped
    steps: list[StepResult]
    summary: str
    workspace: Path
    temp: Path  # RUNNER_TEMP

    def step(self, key: str) -> StepResult:
        """A step by id, else by name, else by the action it uses (`actions/github-script`),
        searching the job's steps first, then the steps of the composite actions it ran."""
        everything = [inner for step in self.steps for inner in step.walk()]
        for step in sorted(everything, key=lambda s: s not in self.steps):
            if key in (step.id, step.name) or (step.uses or "").split("@")[0] == key:
                return step
        names = [s.name for s in everything]
        raise KeyError(f"no step {key!r} in job {self.name}: {names}")

    @property
    def annotations(self) -> list[Annotation]:
        return [a for step in self.steps for inner in step.walk() for a in inner.annotations]

    def log(self) -> str:
        """The job's log, to print when an assertion fails."""
        parts = []
        for step in self.steps:
            for inner in step.walk():
                parts.append(f"--- {inner.name} [{inner.outcome}, rc={inner.returncode}]")
                parts += [inner.stdout, inner.stderr]
        return "\n".join(parts)


#: Stands in for a `uses:` action: (its `with:`, the workspace, the step's env) -> success.
UsesHandler = Callable[[dict[str, str], Path, dict[str, str]], bool]


def parse_file_commands(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIM` ... `DELIM` blocks (GITHUB_OUTPUT / GITHUB_ENV)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                block.append(lines[i])
                i += 1
            assert i < len(lines), f"unterminated {name}<<{delimiter} block"
            i += 1
            values[name] = "\n".join(block)
        else:
            name, sep, value = line.partition("=")
            assert sep, f"not a file command: {line!r}"
            values[name] = value
    return values


def _unescape(text: str) -> str:
    """Undo the workflow-command escaping of @actions/core (`%25`, `%0A`, `%3A`, `%2C`...)."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_annotations(text: str) -> list[Annotation]:
    found = []
    for line in text.splitlines():
        match = _COMMAND.match(line)
        if match and match["cmd"] in ("error", "warning", "notice"):
            props = {}
            for prop in filter(None, (match["props"] or "").split(",")):
                key, _, value = prop.partition("=")
                props[key.strip()] = _unescape(value)
            found.append(Annotation(match["cmd"], _unescape(match["msg"]), props))
    return found


@dataclass
class _Scope:
    """What the steps of a job, or of one composite action, share while they run."""

    contexts: dict[str, Any]
    status: dict[str, bool]
    default_shell: str | None
    action_path: Path | None = None  # GITHUB_ACTION_PATH inside a composite action


@dataclass
class Runner:
    """Runs jobs of one workflow in `workspace` with the given contexts."""

    workflow: dict[str, Any]
    workspace: Path
    base_env: dict[str, str]
    github: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    uses: Mapping[str, UsesHandler] = field(default_factory=dict)
    #: `uses:` references that are composite actions, and the directory of each action.yml.
    actions: Mapping[str, Path] = field(default_factory=dict)
    skip_ids: frozenset[str] = frozenset({"install"})
    timeout: float = 120.0

    def run_job(self, name: str) -> JobResult:
        job = self.workflow["jobs"][name]
        unknown = set(job) - JOB_KEYS
        assert not unknown, f"job {name}: keys this runner does not model: {sorted(unknown)}"
        # RUNNER_TEMP starts empty for every job, as on a hosted runner.
        self._temp = self.workspace.parent / f"runner-temp-{name}"
        shutil.rmtree(self._temp, ignore_errors=True)
        self._temp.mkdir()
        self._env: dict[str, str] = {}  # the job's env, grown by GITHUB_ENV
        self._path: list[str] = []  # GITHUB_PATH entries, newest first
        self._summary: list[str] = []
        self._count = 0
        contexts: dict[str, Any] = {
            "github": self.github,
            "secrets": self.secrets,
            "vars": self.vars,
            "inputs": self.inputs,
            "steps": {},
            "env": self._env,
            "runner": {"os": "Linux", "temp": str(self._temp)},
        }
        status = {"success": True, "failure": False, "always": True, "cancelled": False}
        for layer in (self.workflow.get("env") or {}, job.get("env") or {}):
            for key, value in layer.items():
                self._env[key] = interpolate(to_text(value), contexts, status)
        if not condition(job.get("if"), contexts, status):
            return JobResult(name, "skipped", [], "", self.workspace, self._temp)
        default_shell = ((self.workflow.get("defaults") or {}).get("run") or {}).get("shell")
        scope = _Scope(contexts, status, default_shell)
        results = self._steps(job["steps"], scope)
        conclusion = "failure" if status["failure"] else "success"
        summary = "".join(self._summary)
        return JobResult(name, conclusion, results, summary, self.workspace, self._temp)

    def _steps(self, steps: list[dict[str, Any]], scope: _Scope) -> list[StepResult]:
        results: list[StepResult] = []
        for index, step in enumerate(steps):
            unknown = set(step) - STEP_KEYS
            assert not unknown, f"step {index}: keys this runner does not model: {sorted(unknown)}"
            assert ("run" in step) != ("uses" in step), f"step {index}: exactly one of run/uses"
            step_id = step.get("id")
            label = step.get("name") or step.get("uses") or f"step {index}"
            if not condition(step.get("if"), scope.contexts, scope.status):
                result = StepResult(step_id, label, "skipped", "run" if "run" in step else "uses")
                result.uses = step.get("uses")
            elif "uses" in step and step["uses"] in self.actions:
                result = self._composite(step, label, scope)
            elif "uses" in step:
                result = self._uses(step, label, scope)
            elif step_id in self.skip_ids:
                result = StepResult(step_id, label, "success", "simulated")
            else:
                result = self._run(step, label, scope)
            results.append(result)
            if step_id:
                scope.contexts["steps"][step_id] = {
                    "outcome": result.outcome,
                    "conclusion": result.outcome,
                    "outputs": result.outputs,
                }
            if result.outcome == "failure":
                scope.status["success"], scope.status["failure"] = False, True
        return results

    def _step_env(self, step: dict[str, Any], scope: _Scope) -> dict[str, str]:
        """What a step's process sees: the runner's, the job's, the step's own env."""
        step_env = {
            key: interpolate(to_text(value), scope.contexts, scope.status)
            for key, value in (step.get("env") or {}).items()
        }
        env = {**self.base_env, **self._env, **step_env}
        env["PATH"] = ":".join([*self._path, env.get("PATH", "")])
        env["GITHUB_WORKSPACE"] = str(self.workspace)
        env["RUNNER_TEMP"] = str(self._temp)
        if scope.action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(scope.action_path)
        return env

    def _with(self, step: dict[str, Any], scope: _Scope) -> dict[str, str]:
        return {
            key: interpolate(to_text(value), scope.contexts, scope.status)
            for key, value in (step.get("with") or {}).items()
        }

    def _composite(self, step: dict[str, Any], label: str, scope: _Scope) -> StepResult:
        """Expand a composite action: its steps run here, in their own scope."""
        action_dir = self.actions[step["uses"]]
        action = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
        unknown = set(action) - ACTION_KEYS
        assert not unknown, f"{action_dir}/action.yml: keys not modelled: {sorted(unknown)}"
        assert action["runs"]["using"] == "composite", "only composite actions are expanded"
        declared: dict[str, dict[str, Any]] = action.get("inputs") or {}
        given = self._with(step, scope)
        undeclared = set(given) - set(declared)
        assert not undeclared, f"{label}: inputs the action does not declare: {sorted(undeclared)}"
        # Inside the action: no secrets or vars, only what was passed in as inputs.
        outer = {k: v for k, v in scope.contexts.items() if k not in ("secrets", "vars")}
        inputs: dict[str, str] = {}
        for name, spec in declared.items():
            if name in given:
                inputs[name] = given[name]
            else:
                assert not spec.get("required"), f"{label}: required input {name!r} not given"
                inputs[name] = interpolate(to_text(spec.get("default", "")), outer, scope.status)
        inner = _Scope(
            {**outer, "inputs": inputs, "steps": {}},
            {"success": True, "failure": False, "always": True, "cancelled": False},
            default_shell=None,
            action_path=action_dir,
        )
        for inner_step in action["runs"]["steps"]:
            if "run" in inner_step:  # GitHub refuses a composite run step without one
                assert "shell" in inner_step, f"{action_dir}: a composite run step needs shell:"
        steps = self._steps(action["runs"]["steps"], inner)
        outputs = {
            name: interpolate(to_text(spec["value"]), inner.contexts, inner.status)
            for name, spec in (action.get("outputs") or {}).items()
        }
        outcome = "failure" if inner.status["failure"] else "success"
        result = StepResult(step.get("id"), label, outcome, "composite", step["uses"])
        result.outputs, result.steps = outputs, steps
        return result

    def _uses(self, step: dict[str, Any], label: str, scope: _Scope) -> StepResult:
        action = str(step["uses"])
        handler = self.uses.get(action)
        assert handler is not None, f"unexpected action {action!r}: only {sorted(self.uses)}"
        ok = handler(self._with(step, scope), self.workspace, self._step_env(step, scope))
        return StepResult(step.get("id"), label, "success" if ok else "failure", "uses", action)

    def _run(self, step: dict[str, Any], label: str, scope: _Scope) -> StepResult:
        shell = step.get("shell", scope.default_shell)
        assert shell in SHELLS, f"{label}: shell {shell!r} is not modelled"
        self._count += 1
        script = self._temp / f"step-{self._count}-{os.getpid()}.sh"
        script.write_text(interpolate(step["run"], scope.contexts, scope.status), encoding="utf-8")
        names = ("OUTPUT", "ENV", "PATH", "STEP_SUMMARY")
        files = {name: self._temp / f"{name.lower()}-{self._count}" for name in names}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        env = self._step_env(step, scope)
        env.update({f"GITHUB_{name}": str(path) for name, path in files.items()})
        proc = subprocess.run(
            [*SHELLS[shell], str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        self._summary.append(files["STEP_SUMMARY"].read_text(encoding="utf-8"))
        self._env.update(parse_file_commands(files["ENV"].read_text(encoding="utf-8")))
        added = files["PATH"].read_text(encoding="utf-8").split()
        self._path[:0] = reversed(added)  # the runner prepends each entry
        return StepResult(
            step.get("id"),
            label,
            "success" if proc.returncode == 0 else "failure",
            "run",
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            outputs=parse_file_commands(files["OUTPUT"].read_text(encoding="utf-8")),
            annotations=parse_annotations(proc.stdout + "\n" + proc.stderr),
        )
