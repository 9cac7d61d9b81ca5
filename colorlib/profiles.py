"""Compute profiles, defined once: ``smoke`` (tests, seconds), ``cpu`` (a laptop, about an hour for all
four losses), ``gpu`` (the paper's network at full width)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch


@dataclass(frozen=True)
class Profile:
    name: str
    width: float  # channel multiplier of the network (1.0 = Zhang et al.)
    crop: int  # training crop, pixels
    eval_size: int  # evaluation resolution, pixels (centre crop)
    batch: int
    steps: int
    lr: float
    lr_final: float  # the cosine schedule decays from lr to lr_final
    checkpoint_every: int  # steps
    workers: int  # DataLoader worker processes
    gray_threshold: float = 5.0  # mean chroma (0..255) below which a photo is skipped for training
    schedule: str = "cosine"  # learning rate: "cosine" (lr -> lr_final) or "constant" (lr, as the seed)
    weight_decay: float = 1e-3  # the seed's value
    decay: str = "coupled"  # "coupled" (Adam's L2 penalty, the seed's solver) or "decoupled" (AdamW)
    arch: str = "eccv16"  # the network: "eccv16" (Zhang's) or "semantic" (frozen ImageNet encoder + decoder)
    encoder: str = "lite2"  # the semantic network's frozen encoder (EfficientNet-Lite0/1/2)
    eval_limit: int | None = None  # evaluate only the first N validation photos (None: all)
    bench_photos: int = 8  # photos per encoding benchmark in chapter 2
    bench_repeats: int = 3  # timed repeats per benchmark (the fastest counts)

    def as_dict(self) -> dict:
        return asdict(self)


# cpu: sized to minutes per loss on a 2-core laptop, then checked by `colorlib tune` (trained on `fit`, scored
# on `tune`; results/cpu-nips17-dev/tuning/): learning rate, weight decay and crop size with the earlier code,
# then the kind of decay and the schedule with this one; the criterion is full-soft's held-out loss.
# gpu and the semantic profiles: sized by measured speed, not tuned.
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", width=0.125, crop=64, eval_size=64, batch=4, steps=30, lr=1e-3, lr_final=1e-3,
                     checkpoint_every=10, workers=0, eval_limit=48, bench_photos=2, bench_repeats=1),
    "cpu": Profile("cpu", width=0.25, crop=96, eval_size=128, batch=16, steps=2500, lr=1e-3, lr_final=1e-5,
                   checkpoint_every=250, workers=1),
    "gpu": Profile("gpu", width=1.0, crop=176, eval_size=256, batch=40, steps=10000, lr=3e-4, lr_final=1e-5,
                   checkpoint_every=1000, workers=8),
    # The semantic colorizer (chapter 8): a frozen EfficientNet-Lite2 encoder and a decoder of 256·width
    # channels, trained at the resolution the encoder still recognises objects at.
    "smoke-semantic": Profile("smoke-semantic", width=0.125, crop=64, eval_size=64, batch=4, steps=30, lr=1e-3,
                              lr_final=1e-3, checkpoint_every=10, workers=0, eval_limit=48, bench_photos=2,
                              bench_repeats=1, arch="semantic"),
    "cpu-semantic": Profile("cpu-semantic", width=0.25, crop=128, eval_size=128, batch=32, steps=1000, lr=1e-3,
                            lr_final=1e-5, checkpoint_every=250, workers=1, arch="semantic"),
    "gpu-semantic": Profile("gpu-semantic", width=1.0, crop=176, eval_size=256, batch=64, steps=4000, lr=1e-3,
                            lr_final=1e-5, checkpoint_every=1000, workers=8, arch="semantic"),
}


def semantic_profile(name: str) -> str:
    """The semantic-colorizer profile of the same compute budget: ``cpu`` -> ``cpu-semantic``."""
    base = name.removesuffix("-semantic")
    if f"{base}-semantic" not in PROFILES:
        raise ValueError(f"profile: {name!r} has no semantic counterpart")
    return f"{base}-semantic"


def default_profile_name() -> str:
    """``gpu`` when CUDA is present, else ``cpu``."""
    return "gpu" if torch.cuda.is_available() else "cpu"


def get_profile(name: str | None = None) -> Profile:
    """The named profile (default: :func:`default_profile_name`); one-line error for unknown names."""
    name = name or default_profile_name()
    if name not in PROFILES:
        raise ValueError(f"profile: unknown value {name!r}; allowed: {', '.join(PROFILES)}")
    return PROFILES[name]


ARCHS = ("eccv16", "semantic")  # the networks a profile can name (colorlib.model.build_network)
ENCODERS = ("lite0", "lite1", "lite2")  # the semantic network's frozen encoders (colorlib.semantic.load_lite)
CHOICES = {"schedule": ("cosine", "constant"), "decay": ("decoupled", "coupled"), "arch": ARCHS,
           "encoder": ENCODERS}  # fields with named values
TUNABLE = ("width", "crop", "eval_size", "batch", "steps", "lr", "lr_final", "weight_decay", "schedule", "decay", "arch",
           "encoder")


def with_overrides(profile: Profile, overrides: dict[str, float | int | str] | None) -> Profile:
    """``profile`` with some fields changed (for tuning trials), values converted to the field's type;
    a one-line error for a field that cannot be tuned or a value that does not parse."""
    if not overrides:
        return profile
    changed = {}
    for key, value in overrides.items():
        if key not in TUNABLE:
            raise ValueError(f"override: cannot tune {key!r}; allowed: {', '.join(TUNABLE)}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ValueError(f"override: {key}={value!r}; allowed: {', '.join(CHOICES[key])}")
        kind = type(getattr(profile, key))  # int or float, as the profile defines it
        try:
            changed[key] = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"override: {key}={value!r} is not a valid {kind.__name__}") from None
    return replace(profile, **changed)
