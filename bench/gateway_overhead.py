"""Gateway overhead: promptyard vs LiteLLM's proxy in front of the same fast upstream.

Run:  .venv/bin/python bench/gateway_overhead.py            (about 2 minutes, plus LiteLLM's install once)

It starts, on loopback:
  1. a minimal OpenAI-compatible upstream (raw asyncio + uvloop) answering a fixed completion;
  2. promptyard (uvicorn, uvloop + httptools, one process, tracing and cost accounting on) whose
     ``openai`` provider points at the upstream;
  3. LiteLLM's proxy (one worker) from a separate venv, ``bench/.litellm-venv``, which this
     script creates with ``python -m venv`` + ``pip install 'litellm[proxy]'`` when missing.
     LiteLLM is never a project dependency.
and drives the same request at 1 and 16 concurrent clients with ``wrk`` (Debian package; a
built-in asyncio client is used when wrk is missing): directly against the upstream, through
promptyard (raw chat with the answer cache bypassed; a prompt run; an answer-cache hit) and
through LiteLLM; promptyard is stopped before LiteLLM starts, so each gateway is measured
without the other's idle processes on the machine. It prints p50/p99/p99.9 latency, the
latency added over the direct path, requests per second, the promptyard/LiteLLM ratios and
the load average before and after.
Settings reach promptyard through the environment (e.g. ``PROMPTYARD_TRACE_WRITER=thread``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptyard.server.protocol import IMPORT_STRING

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VENV = ROOT / "bench" / ".litellm-venv"
HTTP = IMPORT_STRING
"""uvicorn's ``--http`` for promptyard: what ``promptyard serve`` uses (``--http httptools`` to compare)."""
MODEL = "gpt-4o-mini"
ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! This is the fixed benchmark answer."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 9,
        "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 0},
    },
}
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark."}]
PROMPT_FILE = """---
name: bench_hello
version: 1.0.0
description: Benchmark prompt answered by the fake upstream.
model:
  provider: openai
  model: gpt-4o-mini
  max_tokens: 32
variables:
  who:
    type: string
---
[system]
You are terse.

[user]
Say hello to {{ who }}.
"""


# ---- the upstream ---------------------------------------------------------------------------


def serve_upstream(port: int) -> None:
    """A keep-alive HTTP/1.1 server that answers every request with ANSWER. Runs until killed."""
    body = json.dumps(ANSWER).encode()
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].lower()
                match = re.search(rb"content-length:\s*(\d+)", head)
                need = end + 4 + (int(match.group(1)) if match else 0)
                if len(self.buf) < need:
                    return
                self.buf = self.buf[need:]
                self.transport.write(response)

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, headers: dict[str, str] | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0, headers=headers).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- promptyard -------------------------------------------------------------------------------


@dataclass
class Promptyard:
    proc: subprocess.Popen[bytes]
    url: str
    key: str
    prompt_ok: bool


def start_promptyard(
    tmp: Path, upstream_port: int, log: Path, probe: Path | None = None, http: str = HTTP, busy_poll_us: int = 300
) -> Promptyard:
    env = {
        **os.environ,
        "PROMPTYARD_HOME": str(tmp / "home"),
        "PROMPTYARD_DATABASE_URL": f"sqlite:///{tmp / 'home' / 'promptyard.db'}",
        "PROMPTYARD_PROMPTS_DIR": str(tmp / "prompts"),
        "PROMPTYARD_OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "PROMPTYARD_OPENAI_API_KEY": "sk-bench",
        "PROMPTYARD_TRACING": "true",
        "PROMPTYARD_LOG_LEVEL": "warning",
        "PROMPTYARD_CACHE_BACKEND": "memory",
        "PROMPTYARD_SERVER_BUSY_POLL_US": str(busy_poll_us),
    }
    if probe is not None:
        env["PROMPTYARD_BENCH_PROBE_OUT"] = str(probe)
    # Key and prompt are created with the same code the CLI uses, against the same database.
    setup = textwrap.dedent(
        """
        import sys
        from promptyard.runtime import Runtime
        rt = Runtime()
        print(rt.keys.create("bench", "app").secret)
        try:
            rt.registry.sync(rt.settings.prompts_dir, actor="bench")
            rt.registry.set_label("bench_hello", "production", "1.0.0", actor="bench")
            print("prompt-ok")
        except Exception as exc:
            print(f"prompt setup failed: {exc}", file=sys.stderr)
        """
    )
    (tmp / "prompts" / "bench_hello").mkdir(parents=True)
    (tmp / "prompts" / "bench_hello" / "1.0.0.prompt").write_text(PROMPT_FILE)
    out = subprocess.run([sys.executable, "-c", setup], env=env, capture_output=True, text=True, check=True)
    lines = out.stdout.split()
    if out.stderr.strip():
        print(out.stderr.strip(), file=sys.stderr)
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "loop_probe:app" if probe else "promptyard.server.asgi:app",
        "--app-dir", str(ROOT / "bench"),
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", http, "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, 60)
    return Promptyard(proc, url, lines[0], "prompt-ok" in lines)


# ---- LiteLLM ----------------------------------------------------------------------------------


def ensure_litellm() -> Path | None:
    """The ``litellm`` executable in bench/.litellm-venv, installing it when missing; None if impossible."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    print(f"installing LiteLLM's proxy into {LITELLM_VENV} (once; a few minutes) ...", flush=True)
    try:
        if not (LITELLM_VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        pip = [str(LITELLM_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "litellm[proxy]"]
        subprocess.run(pip, check=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"LITELLM NOT AVAILABLE: could not install 'litellm[proxy]' into {LITELLM_VENV}: {exc}")
        return None
    return exe if exe.exists() else None


def start_litellm_or_none(
    tmp: Path, upstream_port: int, log: Path, procs: list[subprocess.Popen[bytes]]
) -> tuple[str, str] | None:
    """LiteLLM's proxy started (URL, master key), or None with the reason printed."""
    exe = ensure_litellm()
    if exe is None:
        print("LITELLM NOT AVAILABLE: printing promptyard's figures only")
        return None
    try:
        lite, url, key = start_litellm(exe, tmp, upstream_port, log)
    except RuntimeError as exc:
        print(f"LITELLM NOT AVAILABLE: its proxy did not start ({exc}); see {log}")
        return None
    procs.append(lite)
    return url, key


def start_litellm(exe: Path, tmp: Path, upstream_port: int, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    config = tmp / "litellm.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            model_list:
              - model_name: {MODEL}
                litellm_params:
                  model: openai/{MODEL}
                  api_base: http://127.0.0.1:{upstream_port}/v1
                  api_key: sk-bench
            litellm_settings:
              telemetry: false
              drop_params: true
            """
        )
    )
    port = free_port()
    master_key = "sk-" + os.urandom(32).hex()  # LiteLLM refuses to start unauthenticated; both sides check a key
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "NO_DOCS": "True",
    }
    env.pop("DATABASE_URL", None)
    cmd = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health/liveliness", proc, 180)
    return proc, url, master_key


# ---- load -------------------------------------------------------------------------------------


@dataclass
class Result:
    p50_ms: float
    p99_ms: float
    p999_ms: float
    rps: float
    requests: int
    errors: int


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def wrk(url: str, body: bytes, headers: dict[str, str], conns: int, duration: float, tmp: Path) -> Result:
    script = tmp / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    report_p999 = '  io.write(string.format("p99.9 %d\\n", latency:percentile(99.9)))'
    lines += ["done = function(summary, latency, requests)", report_p999, "end"]  # microseconds
    script.write_text("\n".join(lines) + "\n")
    threads = min(conns, 2)
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{duration:.0f}s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p999 = int(re.search(r"^p99\.9 (\d+)", out, re.M).group(1)) / 1000  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return Result(p50, p99, p999, rps, total, errors)


async def _py_load(url: str, body: bytes, headers: dict[str, str], conns: int, duration: float) -> Result:
    """Fallback load generator: raw keep-alive HTTP/1.1 over asyncio streams (no client library overhead)."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    head = f"POST /{path} HTTP/1.1\r\nhost: {host_port}\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    request = head.encode() + body
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            if b" 200 " not in status_line:
                errors += 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=1000)
    return Result(q[499], q[989], q[998], len(latencies) / elapsed, len(latencies), errors)


def load(url: str, body: dict[str, Any], headers: dict[str, str], conns: int, duration: float, tmp: Path) -> Result:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", **headers}
    if shutil.which("wrk"):
        wrk(url, raw, headers, conns, 1, tmp)  # warm-up: connections, caches, JIT-free but lazy imports
        return wrk(url, raw, headers, conns, duration, tmp)
    asyncio.run(_py_load(url, raw, headers, conns, 1))
    return asyncio.run(_py_load(url, raw, headers, conns, duration))


# ---- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--clients", default="1,16", help="concurrency levels (default 1,16)")
    parser.add_argument("--skip-litellm", action="store_true", help="measure promptyard only")
    parser.add_argument("--probe", action="store_true", help="measure promptyard's event-loop stalls (loop_probe.py)")
    parser.add_argument("--http", default=HTTP, help=f"uvicorn --http for promptyard (default {HTTP})")
    parser.add_argument(
        "--busy-poll-us", type=int, default=300, help="PROMPTYARD_SERVER_BUSY_POLL_US (default 300; 0: off)"
    )
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return

    levels = [int(c) for c in args.clients.split(",")]
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}", flush=True)
    if not shutil.which("wrk"):
        print("wrk not found (apt-get install -y wrk); using the built-in asyncio load generator")
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="py-bench-") as tmpdir:
        tmp = Path(tmpdir)
        logs = ROOT / "bench" / ".out"
        logs.mkdir(exist_ok=True)
        try:
            up_port = free_port()
            upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(up_port)])
            procs.append(upstream)
            up_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
            wait_http(up_url, upstream, 20)
            probe = tmp / "probe.json" if args.probe else None
            py = start_promptyard(tmp, up_port, logs / "promptyard.log", probe, args.http, args.busy_poll_us)
            procs.append(py.proc)
            auth = {"authorization": f"Bearer {py.key}"}

            chat = {"model": MODEL, "messages": MESSAGES, "max_tokens": 32}
            targets: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
                ("direct upstream", up_url, chat, {}),
                (
                    "promptyard chat (cache bypassed)",
                    py.url + "/v1/chat/completions",
                    {**chat, "model": f"openai/{MODEL}", "promptyard": {"bypass_cache": True}},
                    auth,
                ),
            ]
            if py.prompt_ok:
                targets.append(
                    (
                        "promptyard prompt run (cache bypassed)",
                        py.url + "/v1/prompts/bench_hello/run",
                        {"label": "production", "variables": {"who": "the bench"}, "bypass_cache": True},
                        auth,
                    )
                )
            targets.append(
                (
                    "promptyard answer-cache hit",
                    py.url + "/v1/chat/completions",
                    {**chat, "model": f"openai/{MODEL}"},
                    auth,
                )
            )
            results: dict[tuple[str, int], Result] = {}

            def measure(rows: list[tuple[str, str, dict[str, Any], dict[str, str]]]) -> None:
                for conns in levels:
                    for name, url, body, headers in rows:
                        res = load(url, body, headers, conns, args.duration, tmp)
                        results[(name, conns)] = res
                        print(f"  measured {name:<40} c={conns:<3} {res.rps:9.0f} req/s", flush=True)

            measure(targets)
            names = [t[0] for t in targets]
            # Each gateway is measured alone: LiteLLM's idle proxy uses ~15% of a core (its
            # background loops), promptyard's writer process catches up after its rows.
            stop(py.proc)
            if not args.skip_litellm:
                lite_url = start_litellm_or_none(tmp, up_port, logs / "litellm.log", procs)
                if lite_url is not None:
                    url, key = lite_url
                    measure([("litellm proxy", url + "/v1/chat/completions", chat, {"authorization": f"Bearer {key}"})])
                    names.append("litellm proxy")
            report(results, levels, names)
            print(
                f"\nload average (1, 5, 15 min) at the end: {os.getloadavg()}; the machine has {os.cpu_count()} cores"
            )
        finally:
            for proc in reversed(procs):
                stop(proc)
        if probe is not None and probe.exists():
            print(f"promptyard event-loop stalls (lateness of a 1 ms timer, µs, whole run): {probe.read_text()}")


def report(results: dict[tuple[str, int], Result], levels: list[int], names: list[str]) -> None:
    print()
    cols = ("clients", "p50 ms", "p99 ms", "p99.9 ms", "+p50 ms", "+p99 ms", "+p99.9", "req/s", "errors")
    print(f"{'target':<40} " + " ".join(f"{c:>8}" for c in cols))
    for conns in levels:
        base = results[("direct upstream", conns)]
        for name in names:
            r = results[(name, conns)]
            add50 = r.p50_ms - base.p50_ms
            add99 = r.p99_ms - base.p99_ms
            add999 = r.p999_ms - base.p999_ms
            figures = f"{r.p50_ms:8.3f} {r.p99_ms:8.3f} {r.p999_ms:8.3f} {add50:8.3f} {add99:8.3f} {add999:8.3f}"
            figures += f" {r.rps:8.0f} {r.errors:>8}"
            print(f"{name:<40} {conns:>8} {figures}")
    lite = "litellm proxy"
    if lite not in names:
        return
    print()
    py_name = "promptyard chat (cache bypassed)"
    for conns in levels:
        base, py, li = results[("direct upstream", conns)], results[(py_name, conns)], results[(lite, conns)]
        py_add, li_add = py.p50_ms - base.p50_ms, li.p50_ms - base.p50_ms
        print(
            f"c={conns}: throughput promptyard/litellm = {py.rps / li.rps:.1f}x; "
            f"added p50 promptyard {py_add:.3f} ms vs litellm {li_add:.3f} ms "
            f"({li_add / py_add if py_add > 0 else float('inf'):.1f}x less)"
        )


if __name__ == "__main__":
    main()
