"""How the CLI words what a quote says runs, before it submits."""

from __future__ import annotations

from app.client.commands import _recipe_text


def _stage(model: str, scale: int = 4) -> dict[str, object]:
    return {"model": model, "scale": scale, "denoise": None, "conservative": False}


def test_a_blend_shows_its_shares_and_detail_100_its_one_end_over_the_other_s_colour():
    blend = {
        "scale": 4,
        "detail": 70,
        "recipe": [
            {"weight": 0.21, "stages": [_stage("faithful")]},
            {"weight": 0.79, "stages": [_stage("waifu2x-cunet", 1), _stage("realsr-df2k")]},
        ],
    }
    assert _recipe_text(blend) == "faithful 21% + waifu2x-cunet@1x > realsr-df2k 79%, detail 70"
    blend["recipe"][0]["weight"], blend["recipe"][1]["weight"], blend["detail"] = 0.0, 1.0, 100
    assert _recipe_text(blend) == "waifu2x-cunet@1x > realsr-df2k (colour from faithful), detail 100"
    single = {"scale": 2, "detail": None, "recipe": [{"weight": 1.0, "stages": [_stage("waifu2x-cunet", 2)]}]}
    assert _recipe_text(single) == "waifu2x-cunet"
