"""Compute profiles, defined once: ``smoke`` (tests, seconds), ``cpu`` (a laptop, about an hour for all
four losses), ``gpu`` (the paper's network at full width, about 8 minutes for the four on one H200, an
estimate written out below), and the semantic colorizer's ``*-semantic`` counterparts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from .accel import BF16_PEAK, DATA_MODES, MEMORY_FORMATS, PRECISIONS


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
    encoder_blocks: int = 0  # the encoder's last blocks trained with the decoder (appendix A.13); 0: all frozen
    encoder_scale: int = 1  # the semantic encoder sees the gray photo enlarged this many times (appendix A.14)
    eval_limit: int | None = None  # evaluate only the first N validation photos (None: all)
    # the photos its models train on (colorlib.paths.train_data_for): this data set under ../shared/datasets
    # when present, else the photos the book shows; train_limit keeps N of them (None: all), for the smoke tests
    train_on: str = "imagenette-160"
    train_limit: int | None = None
    bench_photos: int = 8  # photos per encoding benchmark in chapter 2
    bench_repeats: int = 5  # timed repeats per benchmark (the median counts)
    knob_frames: int = 11  # values per control of a knob's build-time slider on the site (colorlib.widgets.knob)
    browse_photos: int = 48  # photos in chapter 7's build-time browser
    # how the run uses its device (colorlib.accel); "auto" resolves from the device, once per run
    precision: str = "auto"  # "bf16" | "fp16" (with a gradient scaler) | "fp32"
    memory_format: str = "auto"  # "channels-last" | "contiguous"
    data_mode: str = "auto"  # "device" (decoded once, kept on the device) | "stream" (decoded per step)

    def as_dict(self) -> dict:
        return asdict(self)


# gpu: sized so that the four losses train on one H200 in about 8 minutes in total (the prepared run,
# `make gpu-run`), with the arithmetic written out. These are estimates until the run measures them
# (`colorlib bench --profile gpu`); the run itself caps the steps by the throughput it measures first.
GPU_FLOPS_PER_IMAGE = 62.64e9  # forward + backward of Zhang's network (width 1) at 128²: 62.6 GFLOP
#                                (bench.model_flops_per_image, checked by test_bench)
GPU_PEAK = BF16_PEAK["H200"]  # 989 TFLOP/s dense bf16, the specification (an 8192³ matmul reaches ~790)
GPU_EXPECTED_MFU = 0.25  # assumed: a VGG-like convnet in bf16, channels-last, batch 40; 64-channel
#                          layers at 128² and the BatchNorm/ReLU passes run below the tensor cores' peak
GPU_BATCH = 40
GPU_SECONDS_PER_LOSS = 100  # of training steps
GPU_OVERHEAD_S_PER_LOSS = 20  # start-up, checkpoints, prior and decoding; measured here on the packed copy
#                              (2 cores): scan 2.5 s, prior 3.9 s (once per process), decoding once 0.5 s
GPU_IMAGES_PER_S = GPU_EXPECTED_MFU * GPU_PEAK / GPU_FLOPS_PER_IMAGE  # 0.25 · 989e12 / 62.6e9 ≈ 3950
GPU_STEPS = int(GPU_SECONDS_PER_LOSS * GPU_IMAGES_PER_S / GPU_BATCH) // 100 * 100  # 100 · 3950 / 40 → 9800
# 9800 steps × 40 = 392k samples, more than the seed's ~15k steps × 8 = 120k; 4 × (100 + 20) s = 8 min.
# The crop is 128 px: the training photos (Imagenette, shorter side 160 px) are resized to 8/7 of the crop before
# cropping (colorlib.data.resize_side), and 8/7 · 128 = 146 px is the largest multiple of 32 that needs no
# upsampling (176 px, the crop used with larger photos, would upsample every photo by 1.26×).

# cpu: sized to minutes per loss on a 2-core laptop, then checked by `colorlib tune` (trained on `fit`, scored on
# `tune`): learning rate, weight decay, crop size and the schedule on nips17-dev's photos, when it trained on them
# (the records: results/cpu-nips17-dev/tuning/); each loss's solver and length on Imagenette's, by chapter 5's
# rules (SOLVERS and LENGTHS below; results/cpu-imagenette-160/tuning/).
# cpu-semantic: sized by its measured speed; each loss's solver and length chosen by the same rules on Imagenette's
# fit/tune photos (results/cpu-semantic-imagenette-160/tuning/); gpu-semantic: not measured (no GPU yet).
SMOKE_TRAIN_PHOTOS = 96  # the smoke profiles train on a few photos of their data set: seconds, not minutes
PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", width=0.125, crop=64, eval_size=64, batch=4, steps=30, lr=1e-3, lr_final=1e-3,
                     checkpoint_every=10, workers=0, eval_limit=48, bench_photos=2, bench_repeats=3,
                     knob_frames=2, browse_photos=6, train_limit=SMOKE_TRAIN_PHOTOS),
    "cpu": Profile("cpu", width=0.25, crop=96, eval_size=128, batch=16, steps=2000, lr=1e-3, lr_final=1e-5,
                   checkpoint_every=250, workers=1),
    "gpu": Profile("gpu", width=1.0, crop=128, eval_size=256, batch=GPU_BATCH, steps=GPU_STEPS, lr=3e-4,
                   lr_final=1e-5, checkpoint_every=1000, workers=8),
    # The semantic colorizer (chapter 8): a frozen EfficientNet-Lite2 encoder and a decoder of 256·width
    # channels, trained at the resolution the encoder still recognises objects at.
    "smoke-semantic": Profile("smoke-semantic", width=0.125, crop=64, eval_size=64, batch=4, steps=30, lr=1e-3,
                              lr_final=1e-3, checkpoint_every=10, workers=0, eval_limit=48, bench_photos=2,
                              bench_repeats=3, knob_frames=2, browse_photos=6, arch="semantic",
                              train_limit=SMOKE_TRAIN_PHOTOS),
    "cpu-semantic": Profile("cpu-semantic", width=0.25, crop=128, eval_size=128, batch=32, steps=1000, lr=1e-3,
                            lr_final=1e-5, checkpoint_every=250, workers=1, arch="semantic"),
    "gpu-semantic": Profile("gpu-semantic", width=1.0, crop=128, eval_size=256, batch=64, steps=4000, lr=1e-3,
                            lr_final=1e-5, checkpoint_every=1000, workers=8, arch="semantic"),
}

# The hint colorizer (chapter 10): the semantic model of the same budget, frozen, with a spread trained on simulated
# hints; only the spread's few ten thousand parameters train (no weight decay: the spread starts as the untrained rule,
# and decay would pull it towards a flat one), so a few hundred steps suffice. At a rate of 1e-2 Adam's first steps
# scrambled the embedding the spread starts from, and the trained spread ended below its starting point (A.9).
# The spread trains on photos its base model never trained on (nips17-dev's training split; the base trained on
# Imagenette): how far to trust the base's own colour against a hint must be learned where the base is as good as on
# new photos, not where it fits its own training photos (appendix A.9 measures both). Near-gray photos train too
# (gray threshold 0): a hint of gray on a black-and-white photo should spread as far as any other, and the spread
# learns that only from such photos.
for _name, _steps in (("smoke", 20), ("cpu", 600), ("gpu", 2000)):
    PROFILES[f"{_name}-hints"] = replace(PROFILES[f"{_name}-semantic"], name=f"{_name}-hints", arch="hints",
                                         steps=_steps, lr=1e-3, lr_final=1e-5, weight_decay=0.0, decay="decoupled",
                                         checkpoint_every=min(100, _steps), train_on="nips17-dev", gray_threshold=0.0)
HINT_BASE_LOSS = "full-soft"  # the loss of the semantic model a hint colorizer starts from (the default colorizer's)
HINT_LOSS = "psnr"  # the loss its spread trains with (colorlib.losses): the hinted annealed mean's per-photo log error,
#                     the form of the PSNR curve chapter 10 reports (appendix A.9 compares full-soft and l2)


# --- each loss's solver -------------------------------------------------------------------------------
# The losses differ in scale by orders of magnitude (chapter 5), so one solver does not fit all four: each
# loss gets its own, chosen by ONE rule, the same for every loss and both networks (colorlib.tune.choose_solver):
# every candidate below is trained for solver_trial_steps(profile) steps on the `fit` photos and
# scored on the held-out `tune` photos; the candidate whose colorizations have the highest class-balanced AuC
# (SOLVER_CRITERION) there wins. One metric for all four losses, so that they are chosen alike; a column
# of Table 1 that none of the seed's claims is decided on, so that choosing the solver does not decide a claim;
# and one that needs no prior (the rebalanced AuC's weights come from the prior the rebalanced losses train
# with) and on which a flat colour gains little over gray. Each loss's own held-out loss was the first
# choice; its first l2 trials preferred the solver that paints one flat colour (chapter 5 shows them), because
# at this scale the L2 loss is lowest near the mean colour. The rule was changed before the other trials ran.
SOLVER_CRITERION = "auc_classbal"
SOLVER_CANDIDATES: tuple[dict[str, str | float], ...] = (
    {"decay": "coupled", "lr": 1e-3},  # the seed's solver (Adam with its L2 penalty), at the profile's rate
    {"decay": "coupled", "lr": 3e-4},
    {"decay": "decoupled", "lr": 1e-3},  # AdamW
    {"decay": "decoupled", "lr": 3e-4},
)
# The trials' length, fixed per profile when the rule was written: a fifth of the profiles' steps then (cpu 2500,
# cpu-semantic 1000), with the profile's schedule over the trial's own steps. A fixed count, so that the recorded
# trials stay the rule's trials when a profile's training length changes (cpu's did, to 5,000 and then to 2,000, after they ran).
SOLVER_TRIAL_STEPS = {"cpu": 500, "cpu-semantic": 200}
SOLVER_TRIAL_FRACTION = 0.2  # a profile not named there (smoke, gpu: no recorded trials) tries a fifth of its steps
SEED_SOLVER = SOLVER_CANDIDATES[0]  # kept as an extra l2 run (appendix A.5: what this solver does to L2)

# What the rule chose, per profile and loss: the recorded trials under results/<profile>-<its training data>/tuning/
# solver/ (colorlib.paths.committed_runs; tests/test_tune.py checks that these are what the rule picks from the
# records). Both were chosen on Imagenette's fit/tune photos, the data set they train on. A profile or loss not named
# keeps the profile's own fields (the smoke and gpu profiles: no trials).
SOLVERS: dict[str, dict[str, dict[str, str | float]]] = {
    "cpu": {
        "l2": {"decay": "decoupled", "lr": 0.0003},
        "class": {"decay": "coupled", "lr": 0.0003},
        "full-soft": {"decay": "decoupled", "lr": 0.001},
        "full-onehot": {"decay": "coupled", "lr": 0.001},
    },
    "cpu-semantic": {
        "l2": {"decay": "coupled", "lr": 0.001},
        "class": {"decay": "coupled", "lr": 0.0003},
        "full-soft": {"decay": "coupled", "lr": 0.001},
        "full-onehot": {"decay": "coupled", "lr": 0.001},
    },
}


# --- each loss's training length ---------------------------------------------------------------------
# The solver trials choose a solver, not how long to train with it. One rule for every loss (chapter 5, "How long
# to train"; colorlib.tune.choose_length), fixed before its trials ran: each loss trains the longest of its profile's
# LENGTH_CANDIDATES on the `fit` photos, with the solver chosen for it, and its model is kept as it is at every
# shorter candidate too (snapshots of the one run: early stopping, not a separate schedule per length); the length
# whose model scores the highest SOLVER_CRITERION on the `tune` photos is chosen (a tie, as recorded to two
# decimals, goes to the shorter), and that model is the loss's model. The same criterion as the solver's, for the
# same reasons. A profile not named trains its own length and has no length trials (smoke, gpu).
# cpu: up to 2,000 steps (32,000 crops: 3.9 passes over Imagenette's 8,126 fit photos).
# cpu-semantic: up to 1,500 steps (48,000 crops: 5.9 passes), sized by its measured speed (43-60 images/s here: about
# 17 minutes a loss, so that the four losses' trials fit in an hour and a quarter), its profile's 1,000 the shortest.
LENGTH_CANDIDATES: dict[str, tuple[int, ...]] = {"cpu": (1000, 1500, 2000), "cpu-semantic": (1000, 1500)}
# What the rule chose, per profile and loss (tests/test_results.py checks it against the recorded trials).
LENGTHS: dict[str, dict[str, int]] = {"cpu": {"l2": 2000, "class": 2000, "full-soft": 1000, "full-onehot": 1500},
                                      "cpu-semantic": {"l2": 1500, "class": 1500, "full-soft": 1000, "full-onehot": 1500}}


def solver_trial_steps(profile: Profile) -> int:
    """The steps of one solver trial at ``profile``: :data:`SOLVER_TRIAL_STEPS`, else
    :data:`SOLVER_TRIAL_FRACTION` of its steps."""
    if profile.name in SOLVER_TRIAL_STEPS:
        return SOLVER_TRIAL_STEPS[profile.name]
    return max(1, round(profile.steps * SOLVER_TRIAL_FRACTION))


def for_loss(profile: Profile, loss: str) -> Profile:
    """``profile`` with the solver (:data:`SOLVERS`) and the length (:data:`LENGTHS`) chosen for ``loss``;
    unchanged where none was chosen."""
    length = LENGTHS.get(profile.name, {}).get(loss)
    return replace(profile, **SOLVERS.get(profile.name, {}).get(loss, {}), **({"steps": length} if length else {}))


def semantic_profile(name: str) -> str:
    """The semantic-colorizer profile of the same compute budget: ``cpu`` -> ``cpu-semantic``."""
    base = name.removesuffix("-semantic")
    if f"{base}-semantic" not in PROFILES:
        raise ValueError(f"profile: {name!r} has no semantic counterpart")
    return f"{base}-semantic"


def base_of_hints(name: str) -> str:
    """The semantic profile a hint profile's model starts from: ``cpu-hints`` -> ``cpu-semantic``."""
    if not name.endswith("-hints") or f"{name.removesuffix('-hints')}-semantic" not in PROFILES:
        raise ValueError(f"profile: {name!r} is not a hint profile")
    return f"{name.removesuffix('-hints')}-semantic"


def hints_profile(name: str) -> str:
    """The hint profile of the same compute budget: ``cpu`` or ``cpu-semantic`` -> ``cpu-hints``."""
    base = name.removesuffix("-semantic").removesuffix("-hints")
    if f"{base}-hints" not in PROFILES:
        raise ValueError(f"profile: {name!r} has no hint counterpart")
    return f"{base}-hints"


def default_profile_name() -> str:
    """``gpu`` when CUDA is present, else ``cpu``."""
    return "gpu" if torch.cuda.is_available() else "cpu"


def get_profile(name: str | None = None) -> Profile:
    """The named profile (default: :func:`default_profile_name`); one-line error for unknown names."""
    name = name or default_profile_name()
    if name not in PROFILES:
        raise ValueError(f"profile: unknown value {name!r}; allowed: {', '.join(PROFILES)}")
    return PROFILES[name]


ARCHS = ("eccv16", "semantic", "hints")  # the networks a profile can name (colorlib.model.build_network)
ENCODERS = ("lite0", "lite1", "lite2")  # the semantic network's frozen encoders (colorlib.semantic.load_lite)
CHOICES = {"schedule": ("cosine", "constant"), "decay": ("decoupled", "coupled"), "arch": ARCHS,
           "encoder": ENCODERS, "precision": PRECISIONS, "memory_format": MEMORY_FORMATS,
           "data_mode": DATA_MODES}  # fields with named values
TUNABLE = ("width", "crop", "eval_size", "batch", "steps", "lr", "lr_final", "weight_decay", "schedule", "decay", "arch",
           "encoder", "encoder_blocks", "encoder_scale", "precision", "memory_format", "data_mode", "workers")


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
