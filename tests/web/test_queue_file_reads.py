"""What a queue page and an approve cost in files opened, counted like queries in a query-count test."""

from __future__ import annotations

import builtins
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from factories import make_queue_item

from app.repository import Repository
from app.repository.history import segment_for


class Opens:
    """Every file opened (builtins.open, os.open), by path, while counting."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def named(self, name: str) -> list[Path]:
        return [path for path in self.paths if path.name == name]

    def under(self, folder: Path) -> list[Path]:
        return [path for path in self.paths if path.parent == folder]


@pytest.fixture
def opens(monkeypatch) -> Opens:
    seen = Opens()
    real_open, real_os_open = builtins.open, os.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            seen.paths.append(Path(os.fspath(file)))
        return real_open(file, *args, **kwargs)

    def counting_os_open(path, *args, **kwargs):
        seen.paths.append(Path(os.fspath(path)))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    return seen


@pytest.fixture
def queue_of_200(repository):
    repository.add_pending([make_queue_item(source=("catalog", "listenbrainz")[n % 2]) for n in range(200)])


def fresh_client(make_app, data_dir, monkeypatch):
    """A signed-in client of an app with nothing cached: as a newly started worker."""
    app = make_app()
    monkeypatch.setitem(app.extensions, "repository", Repository(data_dir))
    return app.test_client()


def test_it_reads_the_queue_file_at_most_once_cold_and_never_warm(make_app, data_dir, queue_of_200, opens,
                                                                  monkeypatch):
    client = fresh_client(make_app, data_dir, monkeypatch)
    assert client.get("/health").status_code == 200  # settings and sign-in read once, apart from the page

    opens.paths.clear()
    page = client.get("/?sort=score&source=catalog")
    assert page.status_code == 200 and page.text.count('class="card') >= 50
    assert len(opens.named("pending_queue.json")) <= 1

    opens.paths.clear()
    for query in ("/?sort=score&source=catalog", "/?sort=artist", "/?offset=50"):
        assert client.get(query).status_code == 200
    assert opens.named("pending_queue.json") == []


def test_it_approves_without_touching_the_history_of_other_albums(make_app, data_dir, repository, opens,
                                                                   monkeypatch):
    older = [make_queue_item() for _ in range(3)]
    repository.add_pending(older)
    for n, item in enumerate(older):  # decisions of earlier months, each in its segment
        repository.decide_many(("approve", "reject")[n % 2], [item["mbid"]],
                               now=datetime(2025, 1 + n, 5, tzinfo=timezone.utc))
    this_month, chosen = make_queue_item(), make_queue_item()
    repository.add_pending([this_month, chosen])
    repository.reject([this_month["mbid"]])
    history = data_dir / "history"
    before = {path.name: path.read_bytes() for path in history.iterdir()}
    client = fresh_client(make_app, data_dir, monkeypatch)
    client.get("/")

    opens.paths.clear()
    assert client.form("/queue/approve", {"mbid": chosen["mbid"]}, htmx=True).status_code == 200

    segment = segment_for(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # Opened once each, to append: this month's segment and decided.txt; no other segment is read.
    assert sorted(opens.under(history)) == [history / segment, history / "decided.txt"]
    after = {path.name: path.read_bytes() for path in history.iterdir()}
    appended = {"decided.txt", segment}
    assert {name: data for name, data in after.items() if name not in appended} == \
        {name: data for name, data in before.items() if name not in appended}
    for name in appended:
        assert after[name].startswith(before[name])
        assert after[name][len(before[name]):].count(b"\n") == 1 and chosen["mbid"].encode() in after[name]
