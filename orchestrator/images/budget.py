"""The image size budget: pure decisions over sizes the engine reported.

Sizes are the engine's uncompressed sizes (`docker image inspect .Size`, the sum of the image's
layers as unpacked on disk), in decimal megabytes (1 MB = 1,000,000 bytes) like `docker images`.
A registry stores layers compressed, so what a push or a pull moves is smaller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orchestrator.settings.defaults import IMAGE_BUDGET_MB as DEFAULT_TOTAL_BUDGET_MB

MB = 1_000_000


def mb(size: int | None) -> str:
    return "?" if size is None else f"{size / MB:.1f} MB"


@dataclass(frozen=True)
class Layer:
    """One history entry of an image: the instruction that made it and the bytes it added."""

    created_by: str
    size: int


@dataclass(frozen=True)
class ImageSize:
    name: str
    ref: str
    size: int
    above_base: int | None  # None when the base image is not known locally
    layers: tuple[Layer, ...] = ()  # the image's own layers (above its base), newest first
    base: str | None = None
    base_size: int | None = None


@dataclass(frozen=True)
class Budget:
    """A total budget for all images and optional budgets per image name, in bytes."""

    total: int = DEFAULT_TOTAL_BUDGET_MB * MB
    per_image: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_mb(
        cls, total_mb: float = DEFAULT_TOTAL_BUDGET_MB, per_image_mb: Mapping[str, float] | None = None
    ) -> Budget:
        return cls(int(total_mb * MB), {k: int(v * MB) for k, v in (per_image_mb or {}).items()})


@dataclass(frozen=True)
class BudgetReport:
    images: tuple[ImageSize, ...]
    budget: Budget
    total: int
    over: tuple[str, ...]  # what is over: "total" and/or image names

    @property
    def ok(self) -> bool:
        return not self.over

    def lines(self) -> list[str]:
        """Human lines: one per image, then the total against the budget."""
        out = []
        for image in self.images:
            above = f", {mb(image.above_base)} above its base" if image.above_base is not None else ""
            limit = self.budget.per_image.get(image.name)
            cap = f" (budget {mb(limit)})" if limit is not None else ""
            out.append(f"{image.ref}: {mb(image.size)}{above}{cap}")
        out.append(f"total: {mb(self.total)} of {mb(self.budget.total)} budget (uncompressed sizes)")
        return out


def evaluate_budget(images: Sequence[ImageSize], budget: Budget) -> BudgetReport:
    total = sum(i.size for i in images)
    over: list[str] = []
    if total > budget.total:
        over.append("total")
    for image in images:
        limit = budget.per_image.get(image.name)
        if limit is not None and image.size > limit:
            over.append(image.name)
    return BudgetReport(tuple(images), budget, total, tuple(over))


def above_base(image_layers: Sequence[str], image_size: int, base_layers: Sequence[str], base_size: int) -> int | None:
    """Bytes an image adds to its base, when the base's layers are the first layers of the image."""
    if not base_layers or list(image_layers[: len(base_layers)]) != list(base_layers):
        return None
    return max(image_size - base_size, 0)


def largest_layers(images: Sequence[ImageSize], count: int = 5) -> list[str]:
    """The biggest layers across images, largest first, with the instruction that made each.

    A base image counts as one row (once, even when several images share it).
    """
    rows = [
        (layer.size, image.name, _short(layer.created_by)) for image in images for layer in image.layers if layer.size
    ]
    bases = {(image.base, image.base_size) for image in images if image.base and image.base_size}
    rows += [(size, "base image", base) for base, size in bases]
    rows.sort(key=lambda row: row[0], reverse=True)
    return [f"{mb(size):>9}  {name}: {what}" for size, name, what in rows[:count]]


def _short(created_by: str, width: int = 100) -> str:
    text = " ".join(created_by.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_image_budgets(items: Sequence[str]) -> dict[str, float]:
    """`NAME=MB` flags -> {name: MB}; InputError (exit 2) on anything else."""
    from orchestrator.errors import InputError

    budgets: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            size = float(value)
        except ValueError:
            size = -1.0
        if not sep or not name.strip() or size <= 0:
            raise InputError(f"--image-budget {item!r} is not NAME=MB", "e.g. --image-budget todo-backend=250")
        budgets[name.strip()] = size
    return budgets
