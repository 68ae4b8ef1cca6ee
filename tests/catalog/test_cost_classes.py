"""Built-in prices follow the zoo's measured cost classes, and are the ones docs/architecture.md lists."""

from __future__ import annotations

from app.catalog.prices import BUILTIN_TERMS, CLASSICAL, HEAVY, LIGHT, NEURAL, SRCNN
from models.zoo import builtin_facts, builtin_models

# docs/architecture.md, "Prices": the class each built-in model is priced in.
DOCUMENTED = {
    CLASSICAL: ("nearest", "bilinear", "bicubic", "lanczos"),
    SRCNN: ("srcnn", "faithful"),
    LIGHT: ("realesr-animevideov3", "waifu2x-photo", "waifu2x-anime"),
    NEURAL: ("realesrgan-x4plus-anime", "realcugan-se", "realcugan-pro", "waifu2x-cunet"),
    HEAVY: ("realesrgan-x4plus", "realsr-df2k"),
}


def test_every_built_in_model_has_measured_facts_and_terms():
    ids = [spec.id for spec in builtin_models()]
    assert list(builtin_facts()) == ids and list(BUILTIN_TERMS) == ids


def test_built_in_terms_are_the_documented_ones():
    assert {model: terms for terms, models in DOCUMENTED.items() for model in models} == BUILTIN_TERMS


def test_cost_class_orders_the_measured_seconds():
    """A class above another never holds a model measured faster than one in the class below."""
    order = ("classical", "small", "light", "standard", "heavy")
    facts = [f for f in builtin_facts().values() if not f.small_network]
    for slower in facts:
        for faster in facts:
            if order.index(slower.cost_class) > order.index(faster.cost_class):
                assert slower.cpu_seconds_per_megapixel > faster.cpu_seconds_per_megapixel
