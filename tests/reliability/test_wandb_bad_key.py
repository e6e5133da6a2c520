"""W&B online with a key the server refuses, or a server that never answers: ``python train.py
logger=wandb`` ends within a bounded time, exit status 1, with one line naming the logger, the server's
answer and the ways out (offline), before any data is rendered; it never waits at "setting up run".

The W&B server is a local stand-in (``WANDB_BASE_URL``): one that answers every request with W&B's
own 401 for a bad key, one that accepts connections and never replies (no network past a proxy).
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from videogen3d.utils.compose import REPO

ARGS = ["trainer.fast_dev_run=true", "dataset.frame_size=32", "dataset.source.num_sequences=4",
        "dataset.source.num_frames=12", "dataset.clip_len=4", "generator.ngf=4", "logger=wandb",
        "logger.wandb.init_timeout=10", "callbacks.sample_media=null"]


class _Refuse(http.server.BaseHTTPRequestHandler):
    def _refuse(self) -> None:
        body = b'{"data":null,"errors":[{"message":"user is not logged in"}]}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def silent_server() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.5)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])  # accepted, never answered
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    for conn in held:
        conn.close()
    sock.close()


def _run(tmp_path: Path, url: str) -> tuple[int, str, Path]:
    env = {**os.environ, "WANDB_BASE_URL": url, "WANDB_API_KEY": "x" * 40, "WANDB_MODE": "online",
           "WANDB_DIR": str(tmp_path), "WANDB_CONFIG_DIR": str(tmp_path / "wandb_config"),
           "WANDB_SILENT": "true"}
    run_dir = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "train.py"), *ARGS, f"hydra.run.dir={run_dir}",
           f"paths.data_dir={tmp_path / 'data'}"]
    # the timeout is the hang guard: W&B's own deadlines end both cases well inside it
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    return proc.returncode, proc.stdout + proc.stderr, run_dir


def _assert_refused(rc: int, out: str, run_dir: Path, url: str, answer: str) -> None:
    assert rc == 1, out[-3000:]
    line = next((ln for ln in out.splitlines() if ln.startswith("train.py: error: logger=wandb")), None)
    assert line is not None, out[-3000:]
    assert url in line and answer in line and "WANDB_MODE=offline" in line, line
    assert "Traceback" not in out, out[-3000:]
    assert not (run_dir / "checkpoints").exists()  # stopped before training
    assert not (Path(run_dir).parent / "data").exists()  # and before any data was rendered


def test_a_refused_key_fails_at_once_with_one_line(tmp_path, refusing_server):
    rc, out, run_dir = _run(tmp_path, refusing_server)
    _assert_refused(rc, out, run_dir, refusing_server, "401")


@pytest.mark.slow  # W&B's request deadline: ~45 s
def test_a_server_that_never_answers_fails_within_bounded_time(tmp_path, silent_server):
    rc, out, run_dir = _run(tmp_path, silent_server)
    _assert_refused(rc, out, run_dir, silent_server, "deadline exceeded")
