"""The catalog: each model of the engine's registry with its terms, and the choice a request makes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.catalog import errors
from app.catalog.presets import AUTO, PRESETS, Preset, get_preset, level_of_hint
from app.catalog.prices import BUILTIN_TERMS, NEURAL, Pricing, Queue, Terms
from app.config import Settings
from models.manifest import read_manifest
from models.recipe import Recipe
from models.registry import ModelRegistry, load_registry
from models.spec import ModelSpec, Options, UnknownModel, UnsupportedOption


class _ManifestTerms(BaseModel):
    """The service's fields of a manifest entry: its price and queue (the engine ignores them)."""

    model_config = ConfigDict(extra="ignore")

    class Credits(BaseModel):
        minimum: int = Field(default=NEURAL.pricing.minimum, ge=1)
        megapixels_per_credit: float = Field(default=NEURAL.pricing.megapixels_per_credit, gt=0)

    id: str
    credits: Credits = Credits()
    queue: Queue = "gpu"

    def terms(self) -> Terms:
        return Terms(Pricing(self.credits.minimum, self.credits.megapixels_per_credit), self.queue)


def check_auto_request(model: str | None, conservative: bool) -> None:
    """Refuse what `preset=auto` would otherwise drop, before it reads the image: a model named beside it
    (as beside any preset) and `conservative` (it picks the variant itself). `denoise` it takes as the
    damage, as the content presets do."""
    if model is not None:
        raise errors.ModelOrPresetRequired()
    if conservative:
        raise errors.UnsupportedOption(_preset_has_no_conservative(AUTO))


def _preset_has_no_conservative(preset: str) -> str:
    return (
        f"`conservative` is a model's variant, and preset {preset!r} picks its own, which has none; "
        "name a model with a conservative variant instead (GET /v1/models lists each model's options)."
    )


@dataclass(frozen=True)
class Choice:
    """What a request runs: the recipe (models/recipe.py: one model, a pipeline, or a blend of two), its
    main model (the upscaler of its most detailed branch) with that model's options and weight file, the
    `detail` it was made at (None where no detail axis applies), and why (a preset)."""

    offer: Offer
    options: Options
    weights: str | None
    recipe: Recipe
    preset: str | None = None
    reason: str | None = None
    detail: int | None = None


@dataclass(frozen=True)
class Offer:
    """A model as the service sells it."""

    spec: ModelSpec
    terms: Terms

    @property
    def id(self) -> str:
        return self.spec.id

    def queue_for(self, settings: Settings, input_pixels: int) -> Queue:
        """The model's queue, except that tiny inputs for GPU models go to CPU workers (a GPU is the scarce
        resource, and a CPU finishes them in about a second)."""
        if self.terms.queue == "gpu" and input_pixels <= settings.cpu_small_job_input_pixels:
            return "cpu"
        return self.terms.queue


class Catalog:
    """Every model this service offers, loaded once per process from the models folder."""

    def __init__(self, registry: ModelRegistry, terms: dict[str, Terms], models_dir: Path) -> None:
        self.registry = registry
        self.models_dir = models_dir
        self._offers = {spec.id: Offer(spec, terms.get(spec.id, NEURAL)) for spec in registry}

    @classmethod
    def load(cls, settings: Settings) -> Catalog:
        """Built-in models at their terms, then the operator's (manifest.json) at the terms it names."""
        models_dir = settings.resolved_models_dir
        terms = dict(BUILTIN_TERMS)
        for item in read_manifest(models_dir):
            entry = _ManifestTerms.model_validate(item)
            terms[entry.id] = entry.terms()
        return cls(load_registry(models_dir), terms, models_dir)

    def __iter__(self) -> Iterator[Offer]:
        return iter(list(self._offers.values()))

    def offer(self, model_id: str) -> Offer:
        try:
            return self._offers[self.registry.get(model_id).id]
        except UnknownModel:
            raise errors.UnknownModel(f"No model named {model_id!r}; see GET /v1/models.") from None

    def available(self, offer: Offer) -> bool:
        """The model's weights are installed here (checked each time: an operator may install them live)."""
        return offer.spec.installed(self.models_dir)

    def choose(
        self,
        model: str | None,
        preset: str | None,
        scale: int,
        denoise: int | None = None,
        conservative: bool = False,
        *,
        detail: int | None = None,
        level: int | None = None,
        video: bool = False,
        text: bool = False,
        lighter: bool = False,
    ) -> Choice:
        """What a request runs: the model it names with its options, or what a content preset runs for the
        damage (`level`, as read from the image; a `denoise` hint names it instead) at `detail` (a clip:
        the preset's steady model); refused unless every model of it has weights at its scale, installed."""
        if (model is None) == (preset is None):
            raise errors.ModelOrPresetRequired()
        if preset is None:
            assert model is not None
            if detail is not None:
                raise errors.UnsupportedOption(
                    "`detail` is a preset's control (photo, or auto on a photo); a named model runs as it "
                    "is. Drop `detail`, or ask for a preset."
                )
            recipe = Recipe.single(model, Options(denoise, conservative))
            return self._choice(recipe, scale, None, None, None)
        if preset == AUTO:
            raise errors.UnknownPreset("`auto` is resolved from the image (jobs), not here.")
        try:
            chosen = get_preset(preset)
        except LookupError:
            known = ", ".join([AUTO, *PRESETS])
            raise errors.UnknownPreset(f"No preset named {preset!r}; use one of {known}.") from None
        if conservative:
            raise errors.UnsupportedOption(_preset_has_no_conservative(preset))
        if denoise is not None or level is None:
            level = level_of_hint(denoise)
        recipe, applied, why = _preset_recipe(chosen, level, detail, video, text, lighter)
        return self._choice(recipe, scale, preset, why, applied)

    def _choice(
        self, recipe: Recipe, scale: int, preset: str | None, reason: str | None, detail: int | None
    ) -> Choice:
        """Check every step of the recipe (scale, options, installed weights); its main model's choice."""
        for step in recipe.steps:
            offer = self.offer(step.model)
            at = step.scale_at(scale)
            if at not in offer.spec.scales:
                scales = ", ".join(map(str, offer.spec.scales))
                raise errors.UnsupportedScale(f"Scale must be one of {scales}.")
            try:
                weights = offer.spec.weights_for(at, step.options)
            except UnsupportedOption as exc:
                raise errors.UnsupportedOption(str(exc)) from None
            installed = offer.spec.described and (weights is None or (self.models_dir / weights).is_file())
            if not installed:
                raise errors.ModelUnavailable(
                    f"The weights of {step.model!r} are not installed here (an operator runs `mindrender "
                    "models install`); GET /v1/models lists the available models."
                )
        main = recipe.branches[-1].steps[-1]
        offer = self.offer(main.model)
        weights = offer.spec.weights_for(main.scale_at(scale), main.options)
        return Choice(offer, main.options, weights, recipe, preset, reason, detail)


def _preset_recipe(
    preset: Preset, level: int, detail: int | None, video: bool, text: bool, lighter: bool = False
) -> tuple[Recipe, int | None, str]:
    """A preset's recipe at this damage level and detail, the detail it applied, and the reason for it."""
    acts = len(set(preset.picks)) > 1 or preset.has_detail
    where = f"preset {preset.id}" + (f" for damage level {level}" if level and acts else "")
    if video:
        steady = Recipe.pipeline(preset.video_pick.steps())
        return steady, None, f"preset {preset.id} on video: a steady model"
    if not preset.has_detail:
        return preset.recipe(level, None), None, where
    if lighter:  # the default detail would pass the time limit here
        alone = Recipe.pipeline(preset.pick(level).steps(), preset.text_step(text))
        return alone, None, f"{where}: its faithful end alone, the detail model would take too long here"
    applied = preset.default_detail if detail is None else detail
    recipe = preset.recipe(level, applied, text)
    on_faces = "" if recipe.faces is None else f" ({preset.face_detail} on faces)"
    on_text = "" if recipe.text is None else ", text kept"
    return recipe, applied, f"{where}, detail {applied}{on_faces}{on_text}"
