"""Settings are read only from where the user put them, and every bad value is one line naming it (in-process;
tests/integration/test_cli_boundary.py attacks the same through the installed `qa`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.config import FIRST_DAY, LAST_DAY, Settings, check_k, load_settings, max_passages, parse_day
from qa.errors import SettingsError, UsageError
from qa.terminal import redact


def test_defaults_load_and_fit_the_context() -> None:
    s = load_settings()
    assert s.k == 3 and max_passages(s) == 16  # 4,096 tokens: 720 prompt + 200 answer + 16 x (55 + 139)
    assert max_passages(s.model_copy(update={"n_ctx": 8192})) > 16


@pytest.mark.parametrize(("env", "value", "says"), [
    ("QA_K", "abc", "valid integer"), ("QA_K", "0", "greater than or equal to 1"), ("QA_K", "60", "16 of 120"),
    ("QA_RRF_K", "-1", "greater than 0"), ("QA_MMR_LAMBDA", "1.5", "less than or equal to 1"),
    ("QA_RETRIEVAL", "foo", "'hybrid', 'dense' or 'bm25'"), ("QA_LLM", "gpt", "'llamacpp'"),
    ("QA_CHROMA_URL", "localhost:8000", "http:// or https:// URL"),
])
def test_a_bad_value_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch, env: str, value: str,
                                                          says: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert e.value.exit_code == 2
    assert e.value.message.startswith(f"Invalid setting {env}={value} in the environment: ")
    assert says in e.value.message


def test_an_option_is_named_as_an_option() -> None:
    with pytest.raises(SettingsError, match=r"--llm bogus on the command line"):
        load_settings(llm="bogus")


def test_config_file_unknown_key_names_the_closest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('mmr_lamda = 0.5\n')
    with pytest.raises(SettingsError, match="Unknown setting 'mmr_lamda'") as e:
        load_settings(cfg)
    assert e.value.hint == "did you mean 'mmr_lambda'?"
    cfg.write_text('home = "~/qa-data"\nk = 4\n')
    monkeypatch.delenv("QA_HOME")
    s = load_settings(cfg)
    assert s.home == Path.home() / "qa-data" and s.k == 4
    monkeypatch.setenv("QA_K", "2")  # the environment wins over the file
    assert load_settings(cfg).k == 2


def test_qa_toml_in_the_current_folder_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "qa.toml").write_text('openai_base_url = "http://attacker.example/v1"\n')
    assert load_settings().openai_base_url == ""
    assert "is not read" in capsys.readouterr().err
    monkeypatch.setenv("QA_CONFIG", "qa.toml")
    assert load_settings().openai_base_url == "http://attacker.example/v1"
    assert "is not read" not in capsys.readouterr().err


def test_paths_expand_the_home_folder() -> None:
    s = Settings(home=Path("~/x"), corpus=Path("~/c"), model_path=Path("~/m.gguf"))
    assert s.home == Path.home() / "x" and s.corpus == Path.home() / "c" and s.model_path == Path.home() / "m.gguf"


def test_k_from_an_option() -> None:
    s = load_settings()
    assert check_k(s, 16) == 16
    for bad in (0, -3, 17, 10**9):
        with pytest.raises(UsageError):
            check_k(s, bad)


@given(st.text(max_size=30) | st.dates().map(str) | st.datetimes().map(lambda d: d.isoformat()))
def test_a_day_is_a_date_in_range_or_one_usage_error(value: str) -> None:
    try:
        day = parse_day(value, "--as-of")
    except UsageError as e:
        assert "--as-of" in e.message
    else:
        assert FIRST_DAY <= day <= LAST_DAY


def test_days_at_the_edges() -> None:
    assert parse_day("2022-08-03T10:00:00", "--since") == date(2022, 8, 3)
    for bad in ("0001-01-01", "9999-12-31", "1799-12-31", "2200-01-01", "2022-02-30", "yesterday"):
        with pytest.raises(UsageError):
            parse_day(bad, "--until")


@given(user=st.text("abcxyz:%._-", min_size=1, max_size=12), secret=st.text("SECRETpw!$'()*+,;=", min_size=4,
                                                                         max_size=12))
def test_credentials_in_urls_are_redacted(user: str, secret: str) -> None:
    text = f"Cannot connect to http://{user}:{secret}@db.example:8000/v1 and https://h.example/?api_key={secret}"
    out = redact(text)
    assert secret not in out
    assert "db.example:8000/v1" in out and "https://h.example/?api_key=***" in out


def test_a_password_with_an_at_sign_is_redacted_whole() -> None:
    assert redact("http://u:p@ss@host:1/x") == "http://***@host:1/x"
