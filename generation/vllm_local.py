"""Start and stop a local vLLM OpenAI-compatible server (the tests' fixture and the benchmark).

Torch-free, Django-free. The server runs from its own virtual environment (`make vllm` creates
.venv-vllm) as a separate process, as in production. Settings that this CPU build needs (see
ENGINEERING-NOTES "vLLM on this machine"): the `vllm` console script does not work there, so the
module is run; VLLM_CPU_KVCACHE_SPACE=1 (GiB) and offline Hub access.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


class VllmStartError(RuntimeError):
    pass


@dataclass
class LocalVllm:
    process: subprocess.Popen[bytes]
    base_url: str  # ends in /v1, as a model is registered
    served_model: str
    log: Path

    def stop(self) -> None:
        # The server runs in its own session (it starts an engine-core child): stop the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vllm_start(
    model_dir: Path,
    *,
    served_model: str,
    log: Path,
    python: Path = VLLM_PYTHON,
    max_model_len: int = 512,
    wait_seconds: float = 300,
) -> LocalVllm:
    """Serve `model_dir` on a free loopback port and return once /health answers."""
    port = free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir), "--served-model-name", served_model,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", str(max_model_len),
        # The CPU build crashes on a seeded request whose prefill is chunked ("CPU Generator does
        # not use offset"): prefill whole prompts.
        "--no-enable-chunked-prefill", "--max-num-batched-tokens", str(max(8192, max_model_len)),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = LocalVllm(process, f"http://127.0.0.1:{port}/v1", served_model, log)
    deadline = time.monotonic() + wait_seconds
    while True:
        if process.poll() is not None:
            raise VllmStartError(
                f"vLLM exited with {process.returncode} before /health:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise VllmStartError(
                f"vLLM did not answer /health in {wait_seconds:.0f} s:\n{log.read_text()[-3000:]}"
            )
        time.sleep(1)
