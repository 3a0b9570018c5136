"""The History page with a damaged line in history/: shown, named, never an error."""

from datetime import datetime, timezone

from factories import make_queue_item


def test_it_names_a_damaged_history_line_on_the_history_page(client, repository, data_dir):
    items = [make_queue_item() for _ in range(2)]
    repository.add_pending(items)
    repository.decide_many("reject", [item["mbid"] for item in items], now=datetime(2026, 1, 5, tzinfo=timezone.utc))
    path = data_dir / "history" / "2026-01.jsonl"
    first, second = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"#" * (len(first) - 1) + b"\n" + second)  # a hand edit gone wrong

    page = client.get("/history/rejected")

    assert page.status_code == 200
    assert "1 line of the history could not be read" in page.text and "history/2026-01.jsonl at byte 0" in page.text
    assert items[1]["album"] in page.text and items[0]["mbid"] in page.text
    assert client.get("/").status_code == 200
