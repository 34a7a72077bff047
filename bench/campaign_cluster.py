"""The campaign's moving parts: the cluster it starts (Redis, Postgres, upstream, instances) and
the requests it sends. The phases and the report are in ``bench/campaign.py``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from promptyard.testing.services import PrivatePostgres, PrivateRedis, free_port

HERE = Path(__file__).resolve().parent
MODEL = "openai/gpt-4o"  # shipped price: 2.5 / 10 USD per million input / output tokens
MAX_TOKENS = 16
PROMPT = """---
name: campaign
version: {version}
model: {{provider: openai, model: gpt-4o}}
variables:
  who: {{type: string}}
---
[system]
Campaign prompt {version}.

[user]
Say hello to {{{{ who }}}}.
"""


@dataclass
class Outcome:
    rid: str
    kind: str  # ok | clear | none
    status: int
    code: str
    latency_s: float
    instance: int
    finished: float
    failovers: int = 0


@dataclass
class Phase:
    name: str
    n: int
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    started: float = 0.0
    kill_at: float | None = None
    killed: int | None = None
    wall_s: float = 0.0
    restart_at: float | None = None


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="promptyard-campaign-"))
        self.redis = PrivateRedis().start()
        self.pg: PrivatePostgres | None = None
        if args.pg_url:
            self.db_url = args.pg_url
        else:
            self.pg = PrivatePostgres().start()
            self.db_url = self.pg.url
        self.upstream_port = free_port()
        self.upstream = subprocess.Popen(
            [sys.executable, str(HERE / "campaign_upstream.py"), str(self.upstream_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.prefix = f"campaign:{os.getpid()}:"
        self.budget = args.budget_usd
        self.env = {
            **os.environ,
            "PROMPTYARD_DATABASE_URL": self.db_url,
            "PROMPTYARD_REDIS_URL": self.redis.url,
            "PROMPTYARD_REDIS_PREFIX": self.prefix,
            "PROMPTYARD_CACHE_BACKEND": "redis",
            "PROMPTYARD_RATE_LIMIT_BACKEND": "redis",
            "PROMPTYARD_RATE_LIMIT_KEY_RPM": "10000000",
            "PROMPTYARD_DAILY_BUDGET_USD": str(self.budget),
            "PROMPTYARD_BUDGET_HARD_STOP": "true",
            "PROMPTYARD_PROJECT": "campaign",
            "PROMPTYARD_OPENAI_BASE_URL": f"http://127.0.0.1:{self.upstream_port}/v1",
            "PROMPTYARD_OPENAI_API_KEY": "sk-campaign",
            "PROMPTYARD_REQUEST_TIMEOUT_S": "2",
            "PROMPTYARD_MAX_RETRIES": "1",
            "PROMPTYARD_RETRY_BASE_S": "0.05",
            "PROMPTYARD_RETRY_MAX_S": "1.5",
            "PROMPTYARD_TRACE_SINKS": '["sql"]',
            "PROMPTYARD_LABEL_CACHE_TTL_S": "30",
            "PROMPTYARD_LOG_LEVEL": "warning",
            "PROMPTYARD_LOCAL_RUNTIME_CHECK": "off",
        }
        self.key = self._prepare()
        self.ports = [free_port() for _ in range(args.instances)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * args.instances
        for i in range(args.instances):
            self.start(i)
        for i in range(args.instances):
            self.wait_healthy(i)

    def _prepare(self) -> str:
        from promptyard.runtime import Runtime
        from promptyard.settings import load_settings

        prompts = self.work / "prompts" / "campaign"
        prompts.mkdir(parents=True)
        for version in ("1.0.0", "1.1.0"):
            (prompts / f"{version}.prompt").write_text(PROMPT.format(version=version))
        rt = self.runtime = Runtime(
            load_settings(
                home=self.work / "admin",
                database_url=self.db_url,
                redis_url=self.redis.url,
                redis_prefix=self.prefix,
                cache_backend="redis",
            )
        )
        rt.registry.sync(self.work / "prompts", actor="campaign")
        rt.registry.set_label("campaign", "production", "1.0.0", actor="campaign")
        return rt.keys.create("campaign", "admin").secret

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, i: int) -> None:
        env = {**self.env, "PROMPTYARD_HOME": str(self.work / f"home{i}")}
        cmd = [sys.executable, "-m", "uvicorn", "promptyard.server.asgi:app", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.ports[i]), "--log-level", "warning", "--no-access-log"]
        log = (self.work / f"instance{i}.log").open("ab")
        self.procs[i] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_healthy(self, i: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[i]
            if proc is None or proc.poll() is not None:
                raise RuntimeError(f"instance {i} exited: see {self.work}/instance{i}.log")
            try:
                if httpx.get(self.url(i) + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"instance {i} did not start")

    def kill9(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        self.procs[i] = None

    def pid(self, i: int) -> int | None:
        proc = self.procs[i]
        return proc.pid if proc is not None else None

    def metrics(self, i: int) -> str:
        try:
            return httpx.get(self.url(i) + "/metrics", headers={"Authorization": f"Bearer {self.key}"}, timeout=5).text
        except httpx.HTTPError:
            return ""

    def stop(self) -> None:
        """SIGTERM every instance: each flushes its trace queue and buffered spend before it exits."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def close(self) -> None:
        self.stop()
        self.upstream.kill()
        self.redis.kill()
        self.runtime.db.dispose()
        if self.pg is not None:
            self.pg.close()


# ---- requests ---------------------------------------------------------------------------------
def request_for(phase: str, i: int) -> tuple[str, dict[str, Any], bool]:
    """(path, body, stream) for request ``i`` of ``phase``: what fault it carries is decided here."""
    rid = f"{phase}-{i}"
    r = random.Random(f"{phase}:{i}").random()
    content, stream = f"request {rid}", False
    if phase in ("steady", "kill", "redis", "postgres") and r < 0.10:
        content = f"same question {i % 7}"  # identical across instances: cache and single-flight
    elif phase == "faults":
        for limit, fault in ((0.10, "slow"), (0.15, f"429once:{rid}"), (0.20, f"500once:{rid}"), (0.23, "500")):
            if r < limit:
                content = f"{fault} {rid}"
                break
        else:
            if r < 0.25:
                content = f"timeout {rid}"
            elif r < 0.30:
                content, stream = f"drop {rid}", True
            elif r < 0.35:
                stream = True
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}], "user": rid, "max_tokens": MAX_TOKENS}
    if stream:
        body["stream"] = True
    return "/v1/chat/completions", body, stream


async def send(client: httpx.AsyncClient, cluster: Cluster, i: int, phase: str) -> Outcome:
    path, body, stream = request_for(phase, i)
    rid = body["user"]
    t0 = time.perf_counter()
    n = cluster.args.instances
    failovers = 0
    for attempt in range(n * 2):
        inst = (i + attempt) % n
        try:
            if not stream:
                resp = await client.post(cluster.url(inst) + path, json=body)
                kind = "ok" if resp.status_code == 200 else "clear" if _has_error(resp) else "none"
                code = "" if kind == "ok" else _code(resp)
                return Outcome(
                    rid, kind, resp.status_code, code, time.perf_counter() - t0, inst, time.time(), failovers
                )
            async with client.stream("POST", cluster.url(inst) + path, json=body) as resp:
                if resp.status_code != 200:
                    await resp.aread()
                    kind = "clear" if _has_error(resp) else "none"
                    return Outcome(
                        rid, kind, resp.status_code, _code(resp), time.perf_counter() - t0, inst, time.time()
                    )
                text = ""
                async for chunk in resp.aiter_text():
                    text += chunk
            kind, code = ("ok", "") if "[DONE]" in text and '"error"' not in text else ("clear", "stream_error")
            if '"error"' not in text and "[DONE]" not in text:
                kind, code = "none", "stream_cut"
            return Outcome(rid, kind, 200, code, time.perf_counter() - t0, inst, time.time(), failovers)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            failovers += 1  # the instance is gone (or going): a load balancer tries the next one
            await asyncio.sleep(0.05)
        except httpx.TimeoutException:
            return Outcome(rid, "none", 0, "client_timeout", time.perf_counter() - t0, inst, time.time(), failovers)
    return Outcome(rid, "none", 0, "no_instance", time.perf_counter() - t0, -1, time.time(), failovers)


def _has_error(resp: httpx.Response) -> bool:
    try:
        return "error" in resp.json()
    except (json.JSONDecodeError, ValueError):
        return False


def _code(resp: httpx.Response) -> str:
    try:
        return str(resp.json()["error"].get("code", ""))
    except (json.JSONDecodeError, ValueError, KeyError, AttributeError):
        return f"http_{resp.status_code}"
