"""How `qa --help` looks: values named in words (`--source OUTLET`, `PATHS...`), never Python types (`<str>`,
`<list[Path]>`, `{question}`); flags without a type. Typer has no setting for this, so its two display methods
are replaced here, once, when `qa.cli` is imported."""

from __future__ import annotations

from typing import Any


def plain_help() -> None:
    from typer import core

    def option_type(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return str(self.metavar)
        if getattr(self, "is_flag", False) or getattr(self, "is_bool_flag", False):
            return None
        return "VALUE"

    def argument_type(self: Any, ctx: Any) -> str | None:
        return None  # the argument's name (its metavar, e.g. QUESTION) is shown beside it already

    def usage_name(self: Any) -> str:
        name = str(self.display_name_raw).upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperArgument.display_name_raw = property(  # type: ignore[method-assign,assignment]
        lambda self: str(self.metavar or self.name or "").upper())
    core.TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
