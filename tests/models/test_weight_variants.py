"""The variant table: which file serves which option, what each family lists, and clear refusals."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from models.convert.ncnn_convert import convert_ncnn, ncnn_files
from models.install import check_variants, install_models
from models.zoo import (
    FAMILIES,
    VARIANTS,
    UnsupportedVariant,
    WeightVariant,
    family_options,
    find_variant,
)

# The ncnn packages name a file after the options it serves: UP<scale>X[_CONSERVATIVE|_DENOISE<n>X].
STEM = re.compile(r"_UP(?P<scale>\d)X(?:_(?P<conservative>CONSERVATIVE)|_DENOISE(?P<denoise>\d)X)?$")
# The model ids of the API, and the start of their ncnn file names.
PREFIXES = {
    "realesrgan-x4plus": "REALESRGAN_X4PLUS_",
    "realesrgan-x4plus-anime": "REALESRGAN_X4PLUSANIME_",
    "realesr-animevideov3": "REALESRGAN_ANIMAVIDEOV3_",
    "realcugan-se": "REALCUGAN_SE_",
    "realcugan-pro": "REALCUGAN_PRO_",
    "waifu2x-cunet": "WAIFU2X_CUNET_",
    "waifu2x-photo": "WAIFU2X_PHOTO_",
    "waifu2x-anime": "WAIFU2X_ANIME_",
    "realsr-df2k": "REALSR_DF2K_",
}


def test_one_family_per_model_id_and_one_file_per_variant() -> None:
    assert set(FAMILIES) == set(PREFIXES)
    assert len({v.file_name for v in VARIANTS}) == len(VARIANTS) == 40


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.file_name)
def test_each_variant_names_the_ncnn_file_of_its_options(variant: WeightVariant) -> None:
    match = STEM.search(variant.stem)
    assert match, variant.stem
    assert int(match["scale"]) == variant.scale
    assert bool(match["conservative"]) == variant.conservative
    assert (None if match["denoise"] is None else int(match["denoise"])) == variant.denoise
    assert variant.stem.startswith(PREFIXES[variant.family])
    assert all(path.is_file() for path in ncnn_files(variant))


@pytest.mark.parametrize(
    ("family", "scale", "denoise", "conservative", "file_name", "stem"),
    [
        ("realcugan-se", 2, 1, False, "realcugan-se-x2-denoise1.safetensors", "REALCUGAN_SE_UP2X_DENOISE1X"),
        (
            "realcugan-se",
            4,
            None,
            True,
            "realcugan-se-x4-conservative.safetensors",
            "REALCUGAN_SE_UP4X_CONSERVATIVE",
        ),
        ("realcugan-pro", 3, None, False, "realcugan-pro-x3.safetensors", "REALCUGAN_PRO_UP3X"),
        (
            "waifu2x-cunet",
            1,
            0,
            False,
            "waifu2x-cunet-x1-denoise0.safetensors",
            "WAIFU2X_CUNET_UP1X_DENOISE0X",
        ),
        ("waifu2x-photo", 2, None, False, "waifu2x-photo-x2.safetensors", "WAIFU2X_PHOTO_UP2X"),
        ("realsr-df2k", 4, None, False, "realsr-df2k.safetensors", "REALSR_DF2K_UP4X"),
        ("realesrgan-x4plus", 4, None, False, "realesrgan-x4plus.safetensors", "REALESRGAN_X4PLUS_UP4X"),
    ],
)
def test_find_variant(
    family: str, scale: int, denoise: int | None, conservative: bool, file_name: str, stem: str
) -> None:
    variant = find_variant(family, scale, denoise, conservative)
    assert (variant.file_name, variant.stem) == (file_name, stem)


@pytest.mark.parametrize(
    ("family", "scale", "denoise", "conservative"),
    [
        ("realcugan-pro", 4, None, False),  # pro has no 4x weights
        ("realcugan-se", 3, 1, False),  # 3x has denoise 3 only
        ("realcugan-se", 2, 1, True),  # conservative is a variant of its own, without denoise
        ("waifu2x-cunet", 1, None, False),  # at 1x waifu2x only denoises
        ("waifu2x-photo", 2, None, True),
        ("realesrgan-x4plus", 4, 0, False),
        ("realesrgan-x4plus", 2, None, False),  # its x2 comes from resampling, not from weights
    ],
)
def test_combinations_without_weights_are_refused(
    family: str, scale: int, denoise: int | None, conservative: bool
) -> None:
    with pytest.raises(UnsupportedVariant, match=f"{family} has no weights for x{scale}") as refused:
        find_variant(family, scale, denoise, conservative)
    for variant in VARIANTS:
        if variant.family == family:
            assert variant.describe() in str(refused.value)  # the message lists what exists


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(UnsupportedVariant, match="families: realesrgan-x4plus"):
        find_variant("waifu3x", 2)


def test_family_options() -> None:
    se = family_options("realcugan-se")
    assert se.native_scales == (2, 3, 4)
    assert dict(se.denoise_levels) == {2: (1, 2, 3), 3: (3,), 4: (3,)}
    assert se.conservative_scales == (2, 3, 4) and se.has_conservative
    pro = family_options("realcugan-pro")
    assert pro.native_scales == (2, 3) and dict(pro.denoise_levels) == {2: (3,), 3: (3,)}
    cunet = family_options("waifu2x-cunet")
    assert cunet.native_scales == (1, 2) and dict(cunet.denoise_levels) == {1: (0, 1, 2, 3), 2: (0, 1, 2, 3)}
    assert not cunet.has_conservative
    esrgan = family_options("realesrgan-x4plus")
    assert (
        esrgan.native_scales == (4,)
        and dict(esrgan.denoise_levels) == {4: ()}
        and not esrgan.has_conservative
    )


def test_installed_files_hold_their_own_ncnn_weights(models_dir: Path) -> None:
    """Each installed file is the conversion of its variant's ncnn pair, and no two files are the same."""
    seen: dict[bytes, str] = {}
    for variant in VARIANTS:
        installed = load_file(models_dir / variant.file_name)
        expected = convert_ncnn(*ncnn_files(variant), variant.graph)
        assert installed.keys() == expected.keys()
        assert all(installed[key].equal(expected[key]) for key in expected)
        fingerprint = b"".join(installed[key].numpy().tobytes()[:256] for key in sorted(installed))
        assert fingerprint not in seen, f"{variant.file_name} has the weights of {seen.get(fingerprint)}"
        seen[fingerprint] = variant.file_name
    assert check_variants(models_dir) == []


def _linked(models_dir: Path, folder: Path) -> Path:
    """The installed weights, linked into a folder of their own (no install record of the session's)."""
    for file in models_dir.iterdir():
        (folder / file.name).symlink_to(file)
    return folder


def test_models_install_loads_every_model_then_only_what_changed(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mindrender models install` (the last step of `make install` and `make run`) ends with every model
    loaded, families included, and exit 0; run again on the same contents it loads nothing, and a file
    whose content changed since is caught."""
    folder = _linked(models_dir, tmp_path)
    assert install_models(folder) == 0
    printed = capsys.readouterr().out
    assert "FAILED" not in printed
    assert "  ok  realesrgan-x4plus\n" in printed and "  ok  waifu2x-cunet\n" in printed

    copied = folder / "waifu2x-photo-x2.safetensors"
    copied.unlink()
    shutil.copyfile(models_dir / copied.name, copied)  # a new file and time, the same bytes
    assert install_models(folder) == 0
    printed = capsys.readouterr().out
    assert "are unchanged since they last loaded" in printed and "  ok  realesrgan-x4plus\n" not in printed

    damaged = folder / "realcugan-se-x3.safetensors"
    damaged.unlink()
    damaged.write_bytes(b"not a safetensors file")
    assert install_models(folder) == 1
    assert "FAILED  realcugan-se-x3.safetensors" in capsys.readouterr().out
    assert install_models(folder) == 1  # a failed check is not recorded: it is made again
    assert "FAILED  realcugan-se-x3.safetensors" in capsys.readouterr().out


def test_models_install_fails_on_a_damaged_file(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = _linked(models_dir, tmp_path) / "realcugan-se-x3.safetensors"
    damaged.unlink()
    damaged.write_bytes(b"not a safetensors file")
    assert install_models(tmp_path) == 1
    assert "FAILED  realcugan-se-x3.safetensors" in capsys.readouterr().out
