"""An entry that fails in an unforeseen way keeps its reason, without the slskd key in any form."""

from __future__ import annotations

import json

from downloader_support import fresh_governor, sandbox, slskd_context, wish  # noqa: F401
from test_secrets import assert_masked

from app.pipelines import downloader
from app.pipelines.downloader import run_once


def test_it_keeps_no_secret_in_a_failed_entry(sandbox, slskd_context, repository, monkeypatch):  # noqa: F811
    context = slskd_context()
    key = context.settings.slskd.api_key

    def crash(self, entry, info_future=None):
        raise RuntimeError(f"unexpected answer to {json.dumps({'X-API-Key': key})} and {key!r}")

    monkeypatch.setattr(downloader.Downloader, "process", crash)
    wish(repository, ("Sigur Rós", "( )"))
    result = run_once(context)
    shown = json.dumps([r.to_dict() for r in repository.download_records()], ensure_ascii=False) + result.summary + (result.error or "")
    assert "unexpected answer to" in shown
    assert_masked(shown, key)
