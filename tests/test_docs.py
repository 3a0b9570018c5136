"""The docs say what the code does."""

from pathlib import Path

from app.config import configuration_reference, example_config

ROOT = Path(__file__).resolve().parent.parent


def test_it_documents_every_setting():
    assert configuration_reference() in (ROOT / "docs/configuration.md").read_text(encoding="utf-8")


def test_it_ships_an_up_to_date_example_config():
    assert (ROOT / "config.example.yaml").read_text(encoding="utf-8").strip() == example_config().strip()


def test_it_documents_every_data_file():
    from app import repository

    documented = (ROOT / "docs/data-files.md").read_text(encoding="utf-8")
    for value in vars(repository).values():
        if isinstance(value, repository.DataFile):
            assert f"`{value.filename}`" in documented, value.filename
    assert "`job_log.<job>.json`" in documented


def test_it_opens_the_readme_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:1500]
    assert "make run" in head and "make test" in head
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "make test" in ci
