"""The README stays true: every setting the code reads is documented, every command exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def variables_read_by_the_code() -> set[str]:
    settings = (ROOT / "tradedesk" / "settings.py").read_text()
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings))
    for process_file in ("Procfile", "docker-compose.yml"):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / process_file).read_text()))
    seed = (ROOT / "apps/accounts/management/commands/seed_demo.py").read_text()
    names |= set(re.findall(r'"(DEMO_[A-Z_]+)"', seed))
    return names


def test_the_code_reads_the_variables_we_expect_to_document():
    # Guards the parsing below: if it finds nothing, the next tests would pass vacuously.
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEB_PORT"} <= variables_read_by_the_code()


@pytest.mark.parametrize("name", sorted(variables_read_by_the_code()))
def test_every_variable_is_in_the_readme_table_and_the_example(name):
    assert re.search(rf"^\| [^|]*`{name}`", README, re.MULTILINE), f"{name} missing from README"
    assert re.search(rf"^# {name}=", ENV_EXAMPLE, re.MULTILINE), f"{name} missing from .env.example"


@pytest.mark.parametrize("target", re.findall(r"^make (\w+)", README, re.MULTILINE))
def test_every_make_command_in_the_readme_exists(target):
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^{target}:", makefile, re.MULTILINE)
