"""One end-to-end fetch through a real Celery worker process and the Redis on this machine."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from backend import jobs
from backend.app import create_app
from backend.models import InboundRecord, MailMessage, SentAnnouncement
from backend.services import Services

from ..isolation import redis_url
from .conftest import GUARD_SOURCE, sent_mail

BROKER = redis_url(14)  # this run's own Redis database (tests/isolation.py), flushed
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def redis_broker():
    import redis

    client = redis.Redis.from_url(BROKER)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis must run at 127.0.0.1:6379 for this test (.ci/run starts it)")
    client.flushdb()  # the database belongs to this run: no stale tasks from an earlier test
    yield client
    client.flushdb()
    client.close()


def _env(settings, tmp_path: Path, ca_bundle: Path) -> dict:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD_SOURCE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(guard), str(Path(__file__).resolve().parents[2])]),
        "REQUESTS_CA_BUNDLE": str(ca_bundle),
        "SMARTBCC_JOBS": "celery", "SMARTBCC_BROKER_URL": BROKER,
        "SMARTBCC_DATABASE_URL": settings.database_url, "SMARTBCC_SECRET_KEY": settings.secret_key,
        "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir), "SMARTBCC_BLOB_DIR": str(settings.blob_dir),
        "SMARTBCC_MAIL_DOMAIN": settings.mail_domain,
        "SMARTBCC_MS_CLIENT_ID": settings.ms_client_id, "SMARTBCC_MS_CLIENT_SECRET": settings.ms_client_secret,
        "SMARTBCC_MS_AUTHORITY_HOST": settings.ms_authority_host, "SMARTBCC_MS_GRAPH_URL": settings.ms_graph_url,
    })
    return env


@pytest.fixture
def worker(settings, tmp_path, tls_files, redis_broker):
    env = _env(settings, tmp_path, tls_files[0])
    proc = subprocess.Popen(
        [str(VENV_BIN / "celery"), "-A", "backend.worker", "worker", "--pool=solo", "--loglevel=INFO",
         "-n", f"providers-test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line)
            if "ready." in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        pytest.fail("the Celery worker did not start:\n" + "".join(lines[-40:]))
    yield lines
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_client(settings, monkeypatch):
    """The web app in production mode: jobs go to Redis, not run in-process."""
    monkeypatch.setenv("SMARTBCC_BROKER_URL", BROKER)
    monkeypatch.setenv("SMARTBCC_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("SMARTBCC_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setattr(jobs, "_celery", None)  # rebuilt from the environment above
    svc = Services.create(settings.with_(jobs="celery", broker_url=BROKER))
    yield create_app(services=svc).test_client()
    svc.close()
    jobs._celery = None


def test_worker_fetches_the_announced_sent_copy(celery_client, worker, services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "celery-1@acme.example", ref="celery-ref"))
    response = celery_client.post("/api/v1/addin/sent", json={"ref": "celery-ref", "address": rep.bcc_address},
                                  headers=rep.auth)
    assert response.status_code == 201
    assert response.get_json()["data"]["status"] == "pending"  # queued, not run in the web process
    ann_id = response.get_json()["data"]["id"]
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        with services.db.session() as session:
            status = session.get(SentAnnouncement, ann_id).status
        if status != "pending":
            break
        time.sleep(0.2)
    assert status == "found", "".join(worker[-40:])
    with services.db.session() as session:
        record = session.scalar(select(InboundRecord))
        message = session.scalar(select(MailMessage))
    assert record.source == "graph" and record.status == "processed"
    assert message.message_id_header == "celery-1@acme.example"
    assert any("smartbcc.providers.fetch_sent" in line for line in worker)


def test_beat_tick_fans_out_mailbox_syncs_to_the_workers(celery_client, worker, services, rep, outlook, ms):
    schedule = jobs.celery_app().conf.beat_schedule
    assert any(entry["task"] == "smartbcc.providers.tick" for entry in schedule.values())
    ms.add(sent_mail(rep.email, [rep.bcc_address], "phone@acme.example"))
    jobs.celery_app().send_task("smartbcc.providers.tick")  # what beat sends every 30 s
    deadline = time.monotonic() + 60
    found = None
    while time.monotonic() < deadline and found is None:
        with services.db.session() as session:
            found = session.scalar(select(MailMessage.message_id_header))
        time.sleep(0.2)
    assert found == "phone@acme.example", "".join(worker[-40:])
    # The sync ran as its own task, sent by the tick through the broker.
    assert any("smartbcc.providers.sync_mailbox" in line and "received" in line.lower() for line in worker)
