"""`qa config show` and `qa config path`: the effective settings and where each came from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qa.terminal import dumps, one_line, redact

config_app = typer.Typer(help="Show the effective settings and where each came from, or the config file's path.",
                         no_args_is_help=False)


def _given(ctx: typer.Context) -> tuple[Path | None, dict[str, Any]]:
    """The --config file and the global options given on this command line (kept by `qa.cli.main_options`)."""
    meta = ctx.meta
    return meta.get("qa.config"), dict(meta.get("qa.overrides", {}))


@config_app.command("show")
def show(ctx: typer.Context,
         as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list: one object per setting with "
                                               "name, value, source, from and description.")] = False) -> None:
    """Every setting with the value qa uses and its source: default, file, environment or flag.

    Example: qa config show --json
    """
    from qa.config import Settings, effective

    config, overrides = _given(ctx)
    _s, path, rows = effective(config, **overrides)
    for row in rows:
        if isinstance(row["value"], str):  # a URL's credentials are never printed (http://user:secret@host)
            row["value"] = redact(row["value"])
        field = Settings.model_fields.get(row["name"])
        row["description"] = (field.description or "") if field is not None else \
            "Whether the variable named by openai_api_key_env is set (its value is never shown)."
    if as_json:
        typer.echo(dumps(rows, indent=2))
        return
    typer.echo(f"# config file: {one_line(str(path)) if path else '(none; the defaults below)'}")
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        value = r["value"]
        shown = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        origin = f"{r['source']} {r['from']}" if r["from"] else r["source"]
        typer.echo(f"{r['name']:<{width}} = {one_line(shown) or '(empty)'}  # {one_line(origin)}")


@config_app.command("path")
def path(ctx: typer.Context) -> None:
    """The config file qa reads: --config, else QA_CONFIG, else qa.toml in your config directory.

    Example: qa config path
    """
    import platformdirs

    from qa.config import config_file

    config, _overrides = _given(ctx)
    chosen, _named = config_file(config)
    target = chosen or Path(platformdirs.user_config_dir("qa")) / "qa.toml"
    typer.echo(str(target))
    if not target.is_file():
        from qa.cli_common import err_console

        err_console().print("(it does not exist: qa uses the defaults; write `name = value` lines there, "
                            "see `qa config show`)", highlight=False, soft_wrap=True)
