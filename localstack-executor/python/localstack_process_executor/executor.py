"""A LocalStack ``RuntimeExecutor`` that runs each Lambda execution environment as a host Node process.

Dev tooling for machines without a Docker engine. There is no isolation: the function runs as the
same user as LocalStack, with the host's Node binary. Only ``nodejs*`` zip functions are supported.

Protocol (same as LocalStack's Go runtime-init, see executor_endpoint.py in localstack-core 4.14.0):
  LocalStack -> env:  POST http://127.0.0.1:<port>/invoke {invoke-id, invoked-function-arn, payload, trace-id}
  env -> LocalStack:  POST {LOCALSTACK_RUNTIME_ENDPOINT}/status/{LOCALSTACK_RUNTIME_ID}/ready|error
                      POST {LOCALSTACK_RUNTIME_ENDPOINT}/invocations/{request_id}/logs|response|error
The shim binds port 0 and reports the port in the body of its ``ready`` call.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

import requests
from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.http import Response
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

LOG = logging.getLogger(__name__)

# <repo>/localstack-executor/python/localstack_process_executor/executor.py (editable install)
REPO_ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
LOCALSTACK_CLOUD_HOST = re.compile(r"(?:[A-Za-z0-9-]+\.)*localhost\.localstack\.cloud")
MAX_LOG_LINES = 2000
# host variables passed through to the function (everything else comes from the Lambda config)
PASSTHROUGH_ENV = ("HOME", "LANG", "LC_ALL", "USER", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")

_live_executors: "weakref.WeakSet[ProcessRuntimeExecutor]" = weakref.WeakSet()
_print_lock = threading.Lock()


def _echo(function_name: str, line: str) -> None:
    """Print one function log line, prefixed, without interleaving with other threads."""
    with _print_lock:
        sys.stdout.write(f"[lambda {function_name}] {line}\n")
        sys.stdout.flush()


def _kill_all_at_exit() -> None:
    for executor in list(_live_executors):
        executor._kill_process()


atexit.register(_kill_all_at_exit)


def shim_path() -> Path:
    return Path(os.environ.get("LOCALSTACK_EXECUTOR_SHIM") or REPO_ROOT / "localstack-executor" / "shim.mjs")


def node_binary() -> str:
    configured = os.environ.get("LOCALSTACK_EXECUTOR_NODE")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise LambdaRuntimeException(f"LOCALSTACK_EXECUTOR_NODE={configured} is not an executable file")
        return configured
    repo_node = REPO_ROOT / "node_modules" / ".bin" / "node"
    if repo_node.exists():
        return str(repo_node)
    found = shutil.which("node")
    if not found:
        raise LambdaRuntimeException(
            "No node binary for the 'process' Lambda executor: set LOCALSTACK_EXECUTOR_NODE, "
            f"run npm ci in {REPO_ROOT}, or put node on PATH"
        )
    return found


def node_modules_dir() -> Path | None:
    configured = os.environ.get("LOCALSTACK_EXECUTOR_NODE_MODULES")
    if configured:
        return Path(configured)
    candidate = REPO_ROOT / "node_modules"
    return candidate if candidate.is_dir() else None


def _gateway_url() -> str:
    return f"http://{HOST}:{config.GATEWAY_LISTEN[0].port}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _ProcessEndpoint(ExecutorEndpoint):
    """ExecutorEndpoint whose ``ready`` callback carries the port the shim listens on."""

    def status_ready(self, request, executor_id: str) -> Response:
        body = request.get_json(silent=True, force=True) or {}
        if isinstance(body, dict) and body.get("port"):
            self.container_port = int(body["port"])
        if self.startup_future is not None and not self.startup_future.done():
            self.startup_future.set_result(True)
        return Response(status=HTTPStatus.ACCEPTED)


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.endpoint = _ProcessEndpoint(self.id, container_address=HOST, container_port=None)
        self.function_name = function_version.id.function_name
        self._env: dict[str, str] | None = None
        self._proc: subprocess.Popen | None = None
        self._proc_lock = threading.RLock()
        self._stopping = False
        self._all_logs: collections.deque[str] = collections.deque(maxlen=MAX_LOG_LINES)
        self._invocation_logs: list[str] | None = None
        self._current_request_id: str | None = None
        _live_executors.add(self)

    # --- version lifecycle -------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        cfg = function_version.config
        name = function_version.id.function_name
        if cfg.package_type != PackageType.Zip or not cfg.runtime:
            raise LambdaRuntimeException(
                f"Function {name}: the 'process' Lambda executor supports only zip packages (no container images)"
            )
        if not str(cfg.runtime).startswith("nodejs"):
            raise LambdaRuntimeException(
                f"Function {name}: runtime {cfg.runtime} is not supported by the 'process' Lambda executor "
                "(only nodejs* runtimes run as host processes; use LAMBDA_RUNTIME_EXECUTOR=docker for others)"
            )
        node_binary()  # fail the deployment early (function state Failed) if there is no node
        if not shim_path().is_file():
            raise LambdaRuntimeException(f"Lambda shim not found at {shim_path()} (set LOCALSTACK_EXECUTOR_SHIM)")
        if cfg.code:
            cfg.code.prepare_for_execution()  # unzip into <tmp>/lambda/<bucket>/<id>/code (chmod 755)
            cls._link_node_modules(cfg.code)
        for layer in cfg.layers or []:
            if layer.code:
                layer.code.prepare_for_execution()  # same cache, keeps the exec bits

    @staticmethod
    def _link_node_modules(code) -> None:
        """Make the runtime-provided @aws-sdk/* resolvable for ESM bundles (ESM ignores NODE_PATH).

        Node walks up from the code dir, so a node_modules symlink in the *parent* of the unzipped
        code (LocalStack's private cache dir) is found after any node_modules shipped in the zip.
        """
        modules = node_modules_dir()
        if modules is None or code.is_hot_reloading():
            return
        link = Path(code.get_unzipped_code_location()).parent / "node_modules"
        try:
            if link.is_symlink() and os.readlink(link) != str(modules):
                link.unlink()
            if not link.exists():
                link.symlink_to(modules, target_is_directory=True)
        except FileExistsError:
            pass

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        # LocalStack deletes the unzipped code cache (and our symlink inside it) itself.
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        try:
            LOG.info("'process' Lambda executor: node=%s shim=%s", node_binary(), shim_path())
        except LambdaRuntimeException as e:
            LOG.warning("%s", e)
            return False
        return True

    # --- addresses ---------------------------------------------------------------------------

    def get_address(self) -> str:
        return HOST

    def get_endpoint_from_executor(self) -> str:
        return HOST

    def get_runtime_endpoint(self) -> str:
        return f"{_gateway_url()}{self.endpoint.get_endpoint_prefix()}"

    def get_logs(self) -> str:
        return "\n".join(self._all_logs)

    # --- environment -------------------------------------------------------------------------

    def _build_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        cfg = self.function_version.config
        code_dir = str(cfg.code.get_unzipped_code_location())
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
        env.update({k: str(v) for k, v in env_vars.items() if v is not None})
        # nothing may point at *.localhost.localstack.cloud: it does not resolve offline
        env = {k: LOCALSTACK_CLOUD_HOST.sub(HOST, v) for k, v in env.items()}
        if not config.LAMBDA_DISABLE_AWS_ENDPOINT_URL:
            env.setdefault("AWS_ENDPOINT_URL", _gateway_url())
        env.setdefault("AWS_ACCESS_KEY_ID", "test")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        env["LAMBDA_TASK_ROOT"] = code_dir
        env["LAMBDA_RUNTIME_DIR"] = str(shim_path().parent)
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{cfg.runtime}"
        env["LOCALSTACK_EXECUTOR_FUNCTION"] = self.function_name

        # layers: real Lambda extracts them into /opt (later layers win); we keep one dir per layer
        layer_dirs = [
            Path(layer.code.get_unzipped_code_location()) for layer in (cfg.layers or []) if layer.code
        ]
        layer_dirs.reverse()
        node_bin_dir = str(Path(node_binary()).parent)
        host_path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["PATH"] = os.pathsep.join([str(d / "bin") for d in layer_dirs] + [node_bin_dir, host_path])
        node_path = [str(d / "nodejs" / "node_modules") for d in layer_dirs]
        if (modules := node_modules_dir()) is not None:
            node_path.append(str(modules))
        env["NODE_PATH"] = os.pathsep.join(node_path)
        lib_dirs = [str(d / "lib") for d in layer_dirs if (d / "lib").is_dir()]
        if lib_dirs:
            env["LD_LIBRARY_PATH"] = os.pathsep.join(lib_dirs + [env.get("LD_LIBRARY_PATH", "")]).rstrip(
                os.pathsep
            )
        return env

    # --- process lifecycle -------------------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        self.endpoint.start()  # registers the callback routes and creates startup_future
        self._env = self._build_env(env_vars)
        self._spawn()
        self.endpoint.wait_for_startup()  # ExecutionEnvironment's startup timer calls stop() on timeout

    def _spawn(self) -> None:
        with self._proc_lock:
            self._stopping = False
            proc = subprocess.Popen(
                [node_binary(), str(shim_path())],
                cwd=self._env["LAMBDA_TASK_ROOT"],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: stop() kills the whole tree
            )
            self._proc = proc
        LOG.debug("Started %s (pid %s) for %s", shim_path(), proc.pid, self.function_version.qualified_arn)
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True, name=f"lambda-log-{self.id}").start()
        threading.Thread(target=self._watch, args=(proc,), daemon=True, name=f"lambda-watch-{self.id}").start()

    def _pump(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self._all_logs.append(line)
            if self._invocation_logs is not None:
                self._invocation_logs.append(line)
            _echo(self.function_name, line)
        stream.close()

    def _watch(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        with self._proc_lock:
            if self._proc is proc:
                self._proc = None
            expected = self._stopping
        if expected:
            return
        time.sleep(0.1)  # let the log pumps drain
        message = f"Runtime exited with error: exit status {code}"
        LOG.warning("Lambda %s (env %s): %s", self.function_name, self.id, message)
        startup = self.endpoint.startup_future
        if startup is not None and not startup.done():
            payload = {"errorType": "Runtime.ExitError", "errorMessage": message, "logs": self.get_logs()[-4000:]}
            startup.set_exception(StatusErrorException("Environment startup failed", json.dumps(payload).encode()))
            return
        invocation = self.endpoint.invocation_future
        if invocation is not None and not invocation.done():
            request_id = self._current_request_id or ""
            payload = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {message}"}
            invocation.set_result(
                InvocationResult(request_id, json.dumps(payload).encode(), is_error=True, logs=None)
            )

    def _kill_process(self) -> None:
        with self._proc_lock:
            self._stopping = True
            proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 2), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # grandchildren that outlived the shim (same process group)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        self._kill_process()
        try:
            self.endpoint.shutdown()
        except Exception as e:  # noqa: BLE001 - same tolerance as the docker executor
            LOG.debug("Error while stopping executor endpoint for %s: %s", self.function_version.qualified_arn, e)
        _live_executors.discard(self)

    def _restart(self) -> None:
        """After a timeout or crash the next invoke gets a fresh process (a cold start, like Lambda)."""
        self.endpoint.startup_future = Future()
        self._spawn()
        try:
            self.endpoint.startup_future.result(timeout=config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        except FutureTimeoutError:
            self._kill_process()
            raise LambdaRuntimeException(f"Lambda {self.function_name}: restarted runtime did not become ready")

    # --- invocation --------------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        with self._proc_lock:
            needs_restart = self._proc is None or self._proc.poll() is not None
        if needs_restart:
            self._restart()
        future: Future[InvocationResult] = Future()
        self.endpoint.invocation_future = future
        self.endpoint.logs = None
        self._current_request_id = request_id
        self._invocation_logs = []
        try:
            url = f"http://{HOST}:{self.endpoint.container_port}/invoke"
            response = requests.post(url, json=payload, proxies={"http": "", "https": ""}, timeout=30)
            if not response.ok:
                raise InvokeSendError(f"Error sending invocation to {url}: HTTP {response.status_code}")
            timeout = float(self.function_version.config.timeout)
            started = time.monotonic()
            try:
                result = future.result(timeout=timeout)
            except FutureTimeoutError:
                return self._timed_out(request_id, timeout, time.monotonic() - started)
            if result.logs is None:  # crash before the shim could post /logs
                time.sleep(0.1)
                result.logs = "\n".join(self._invocation_logs) + "\n"
            return result
        except CancelledError:
            raise
        finally:
            self._invocation_logs = None
            self._current_request_id = None

    def _timed_out(self, request_id: str, timeout: float, elapsed: float) -> InvocationResult:
        self._kill_process()  # the handler may be stuck in a busy loop: only a kill is reliable
        message = f"Task timed out after {timeout:.2f} seconds"
        LOG.info("Lambda %s request %s: %s", self.function_name, request_id, message)
        _echo(self.function_name, f"{_now()} {request_id} {message}")
        lines = list(self._invocation_logs or [])
        lines += [
            f"{_now()} {request_id} {message}",
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\tStatus: timeout",
        ]
        error = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
        return InvocationResult(request_id, json.dumps(error).encode(), is_error=True, logs="\n".join(lines) + "\n")


def _debug_main() -> None:  # pragma: no cover - `python -m localstack_process_executor.executor`
    print(json.dumps({"node": node_binary(), "shim": str(shim_path()), "node_modules": str(node_modules_dir())}))


if __name__ == "__main__":  # pragma: no cover
    _debug_main()
    sys.exit(0)
