"""Training one loss (chapter 5): ``colorlib train --loss NAME [--profile P] [--data DIR] [--out RUNS]``.

The code a reader should hold in their head is :func:`train_step`: set the learning rate, forward pass
(under the run's autocast), the loss against the targets, a finiteness check, backward, optimizer step.
How the run uses its device (precision, memory layout, where the data lives) is decided once, by
:func:`colorlib.accel.plan_run`, and written to ``config.json``.
:func:`train` is the orchestration around it: data order, resume, DDP, logging, checkpoints, Ctrl-C.
What a run writes is described in :mod:`colorlib.runs`.

The data order is a function of (seed, step), so ``--resume`` continues exactly where the checkpoint
left off. Under ``torchrun`` the run uses DDP: each of the ``world`` ranks loads a full ``profile.batch``
of its own photos, so the global batch is ``world × batch``; the learning rate is **not** scaled with it
(the profile's rate is used as it is). Rank 0 logs and writes the files; a non-finite loss on any rank
stops every rank.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Sampler

from .accel import Precision, RunPlan, configure_backends, plan_run
from .data import TRAIN_SPLITS, ColorDataset, DeviceLoader, DevicePhotos
from .hints import GRID_STRIDE, HintCells, hint_cells, simulate_hints
from .losses import HINT_LOSSES, check_loss, compute_loss, target_ab, uses_regression
from .metrics import default_floor
from .model import build_network
from .paths import RUNS, display_path, resolve_data
from .profiles import Profile, for_loss, get_profile, with_overrides
from .quantize import bins_tensor
from .rebalance import DEFAULT_LAMBDA, rebalance_weights, training_prior
from .runs import CHECKPOINT, CONFIG, FINAL, LOG, RunLog, float_state, load_checkpoint, run_dir, save_atomic
from .site import progress as tqdm

DEVICES = ("auto", "cpu", "cuda")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    loss: str
    profile: str | None = None
    data: str | None = None
    out: str = str(RUNS)
    steps: int | None = None  # None: the profile's
    seed: int = 0
    device: str = "auto"
    lam: float = DEFAULT_LAMBDA
    split: str = "train"
    overrides: dict = field(default_factory=dict)  # profile fields changed for a tuning trial
    # steps at which the model is also kept as it is then (OUT/LOSS/model-<step>.pt, like model.pt): the length
    # trials score these snapshots of one run instead of training a run per length (colorlib.tune.run_length_trials)
    snapshots: tuple[int, ...] = ()
    resume: bool = False
    # a hint profile's model (arch "hints", chapter 10) starts from this semantic model.pt; None: the book's
    # full-soft model of the profile's semantic counterpart (colorlib.train.default_hint_base)
    base: str | None = None
    command: list[str] = field(default_factory=lambda: invoked_command())


def invoked_command(argv: list[str] | None = None) -> list[str]:
    """The command line that started this process, as a reader would type it: ``colorlib train …`` rather than the
    path of ``colorlib/__main__.py`` on the machine that ran it (a run's config must not carry that machine)."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("__main__.py", "colorlib") and Path(argv[0]).parent.name in ("colorlib", "bin"):
        return ["colorlib", *argv[1:]]
    return argv


def pick_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"device: unknown value {name!r}; allowed: {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but no CUDA device is available; allowed here: auto, cpu")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def check_writable(folder: Path) -> None:
    """Create ``folder`` and prove it is writable, before any work starts (one-line error otherwise)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"out: run folder {str(folder)!r} is not writable ({exc.strerror or exc})") from None


def validate(cfg: TrainConfig) -> tuple[Profile, torch.device, Path]:
    """Check every parameter before any work: loss, profile, device, data folder, run folder."""
    check_loss(cfg.loss)
    profile = with_overrides(for_loss(get_profile(cfg.profile), cfg.loss), cfg.overrides)  # the loss's solver, then --set
    device = pick_device(cfg.device)
    resolve_data(cfg.data)
    if cfg.split not in TRAIN_SPLITS:
        raise ValueError(f"split: cannot train on {cfg.split!r}; allowed: {', '.join(TRAIN_SPLITS)}")
    if cfg.steps is not None and cfg.steps < 1:
        raise ValueError(f"steps: must be ≥ 1, got {cfg.steps}")
    if cfg.loss in HINT_LOSSES and profile.arch != "hints":
        raise ValueError(f"loss: {cfg.loss!r} trains a hint colorizer only; use a hint profile (e.g. cpu-hints)")
    if profile.arch == "hints":
        cfg.base = str(cfg.base or default_hint_base(profile.name))
        if not Path(cfg.base).is_file():
            raise FileNotFoundError(f"base: {cfg.base!r} does not exist; a hint model starts from a trained semantic "
                                    "model (train it first, or pass --base)")
    folder = run_dir(cfg.out, cfg.loss)
    check_writable(folder)
    return profile, device, folder


def default_hint_base(profile: str) -> Path:
    """The model a hint profile starts from: the semantic ``full-soft`` of the same budget, trained on its own
    profile's photos, from the book's runs (``results/`` when committed): the default colorizer."""
    from .paths import runs_for, training_photos
    from .profiles import HINT_BASE_LOSS, base_of_hints

    semantic = get_profile(base_of_hints(profile))
    return runs_for(semantic.name, training_photos(semantic)) / HINT_BASE_LOSS / FINAL


class StepSampler(Sampler[int]):
    """Indices of one epoch, from batch ``start`` on: a permutation seeded by (seed, epoch), split across
    ranks. Small datasets are repeated so that every rank gets at least one full batch per epoch."""

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self.repeats = max(1, math.ceil(batch * world / n))
        self.batches_per_epoch = (n * self.repeats // world) // batch
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start_batch: int) -> None:
        self.epoch, self.start = epoch, start_batch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.cat([torch.randperm(self.n, generator=g) for _ in range(self.repeats)])
        mine = order[self.rank :: self.world][: self.batches_per_epoch * self.batch]
        return iter(mine[self.start * self.batch :].tolist())

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start) * self.batch


def learning_rate(profile: Profile, step: int, total: int) -> float:
    """The rate at ``step`` of ``total``: ``profile.lr`` throughout (``constant``, the seed's schedule) or a
    cosine decay from ``profile.lr`` to ``profile.lr_final`` over the run (``cosine``)."""
    if profile.schedule == "constant":
        return profile.lr
    t = min(step / max(total, 1), 1.0)
    return profile.lr_final + 0.5 * (profile.lr - profile.lr_final) * (1 + math.cos(math.pi * t))


def build_optimizer(model: nn.Module, profile: Profile, loss: str) -> torch.optim.Optimizer:
    """Adam with the seed's β = (0.9, 0.99) and weight decay over the parameters the loss trains.

    The decay is *decoupled* by default (AdamW: θ ← θ − lr·wd·θ beside the Adam step), so it pulls every
    loss's weights alike. Adam's *coupled* decay (the seed's solver: wd·θ added to the gradient before
    Adam's normalisation) pulls hardest where a loss's gradients are small, so its strength depends on
    the loss's scale: with ``l2`` measured in ab/110 it pulled the network towards one flat colour
    (chapter 5 shows the tuning trial). Heads a loss never uses are frozen (``select_heads``), so that no
    decay shrinks them and DDP does not wait for their gradients."""
    model.select_heads(uses_regression(loss))
    trainable = [p for p in model.parameters() if p.requires_grad]
    adam = torch.optim.AdamW if profile.decay == "decoupled" else torch.optim.Adam
    return adam(trainable, lr=profile.lr, betas=(0.9, 0.99), weight_decay=profile.weight_decay)


def make_loader(dataset: ColorDataset, profile: Profile, seed: int, device: torch.device, rank: int = 0,
                world: int = 1, data_mode: str = "stream") -> tuple[DataLoader | DeviceLoader, StepSampler]:
    """The training loader: batches of ``profile.batch`` in the order of a :class:`StepSampler`, so any
    number of photos (even fewer than one batch) gives full batches. ``data_mode``: ``stream`` (a
    DataLoader decoding each photo per step in ``profile.workers`` processes) or ``device`` (every photo
    decoded once onto ``device``; same samples, see :class:`colorlib.data.DevicePhotos`)."""
    sampler = StepSampler(len(dataset), profile.batch, seed, rank, world)
    if data_mode == "device":
        return DeviceLoader(DevicePhotos(dataset, device, workers=max(1, profile.workers)), sampler,
                            profile.batch), sampler
    loader = DataLoader(dataset, batch_size=profile.batch, sampler=sampler, num_workers=profile.workers,
                        pin_memory=device.type == "cuda", drop_last=True)
    return loader, sampler


def batch_to(batch: dict, device: torch.device, memory_format: torch.memory_format = torch.contiguous_format
             ) -> tuple[Tensor, Tensor]:
    """``L (N,1,S,S)`` and ``ab (N,2,S,S)`` of a loader batch on ``device``, ``L`` in the network's memory
    layout (channels-last on CUDA). A batch already on the device (``device`` data mode) is not copied."""
    L = batch["L"].to(device, non_blocking=True).contiguous(memory_format=memory_format)
    return L, batch["ab"].to(device, non_blocking=True)


def finite_loss_value(value: Tensor) -> float:
    """The loss as a number, after checking that it is finite on every rank (one all-reduce of a flag
    under DDP: a NaN on one rank must stop all of them, not leave the others waiting in the next
    gradient all-reduce). Flag and value come back in one device-to-host copy: one sync per step."""
    finite = torch.isfinite(value).float()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    all_finite, local = torch.stack([finite, value.detach().float()]).tolist()
    if not all_finite:
        raise TrainingDiverged(f"loss became {local}" if not math.isfinite(local) else
                               "loss became non-finite on another rank")
    return local


def train_step(net: nn.Module, optimizer: torch.optim.Optimizer, loss: str, L: Tensor, ab: Tensor,
               bins: Tensor, weights: Tensor, lr: float, precision: Precision | None = None,
               clock: Callable[[str], None] | None = None, hints: HintCells | None = None) -> float:
    """One optimisation step on a batch; returns the loss value.

    ``L (N,1,S,S)`` in 0..100 and ``ab (N,2,S,S)`` in Lab units at full resolution; the targets are
    taken at the network's 1/4 output resolution (:func:`colorlib.losses.target_ab`). ``bins (Q,2)``,
    ``weights (Q,)`` the rebalancing weights. ``precision``: the run's autocast (and, for fp16, its
    gradient scaler); None is plain fp32. Raises :class:`TrainingDiverged` before touching the weights
    when the loss is not finite. ``clock(phase)``, if given, is called after the forward pass, the loss
    and the update (the benchmark times the phases of this very function). ``hints``: a hint model's simulated
    hints for this batch (:func:`colorlib.hints.simulate_hints`), which it sees beside ``L``."""
    precision = precision or Precision("fp32", L.device)
    for group in optimizer.param_groups:
        group["lr"] = lr
    with precision.autocast():
        inputs = (L,) if hints is None else (L, hints)
        output = net(*inputs, regression=uses_regression(loss))
    if clock is not None:
        clock("forward")
    value = compute_loss(loss, output, target_ab(ab), bins, weights)  # in fp32: the losses upcast
    if clock is not None:
        clock("loss")
    number = finite_loss_value(value)
    optimizer.zero_grad(set_to_none=True)
    precision.backward_and_step(value, optimizer)
    if clock is not None:
        clock("update")
    return number


def build_model(profile: Profile, loss: str, bins: Tensor, device: torch.device, plan: RunPlan
                ) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The network of ``profile`` on ``device`` in the plan's memory layout, and its optimizer for ``loss``;
    cuDNN set up for the run (the trainer and the benchmark both start here, so the bench times what
    training runs)."""
    configure_backends(device)
    model = build_network(profile.as_dict(), bins=bins).to(device).to(memory_format=plan.torch_memory_format)
    return model, build_optimizer(model, profile, loss)


def plan_for(profile: Profile, device: torch.device, dataset: ColorDataset) -> RunPlan:
    """How a run of ``profile`` uses ``device`` (:func:`colorlib.accel.plan_run`) for this data set."""
    return plan_run(device, profile.precision, profile.memory_format, profile.data_mode, dataset.decoded_bytes)


def training_hints(ab: Tensor, seed: int, step: int) -> HintCells:
    """The simulated hints of a hint model's batch ``ab (N,2,S,S)`` at ``step``, on its 1/4 grid: a function of
    (seed, step), so that a resumed run sees the hints it would have seen."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    size = ab.shape[-2:]
    return hint_cells(simulate_hints(ab.cpu(), generator), *size, size[0] // GRID_STRIDE, size[1] // GRID_STRIDE).to(ab.device)


def snapshot_name(step: int) -> str:
    """The file of a run's model as it was at ``step`` (:attr:`TrainConfig.snapshots`)."""
    return f"model-{step}.pt"


def train(cfg: TrainConfig, on_step: Callable[[int, float], None] | None = None) -> Path:
    """Train one loss; returns its run folder. ``on_step(step, loss)`` is called on rank 0 after each step."""
    # plain strings only: the config goes into JSON and into weights_only checkpoints
    cfg.data, cfg.out = (None if cfg.data is None else str(cfg.data)), str(cfg.out)
    cfg.command = [str(c) for c in cfg.command]
    profile, device, folder = validate(cfg)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    distributed = world > 1
    if distributed:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    total = cfg.steps or profile.steps
    torch.manual_seed(cfg.seed)

    dataset = ColorDataset(cfg.data, split=cfg.split, size=profile.crop, train=True,
                           gray_threshold=profile.gray_threshold, seed=cfg.seed, limit=profile.train_limit)
    bins = bins_tensor(device=device)
    plan = plan_for(profile, device, dataset)
    model, optimizer = build_model(profile, cfg.loss, bins, device, plan)
    precision = Precision(plan.precision, device)

    start = 0
    ckpt_path = folder / CHECKPOINT
    if cfg.resume and ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        model.load_trained_state(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        precision.load_state_dict(ckpt.get("scaler", {}))
        torch.set_rng_state(ckpt["rng"])
        start, prior = int(ckpt["step"]), ckpt["prior"].double().numpy()
    elif profile.arch == "hints":  # the base model's prior: the hinted model is trained with the base's own loss
        base = load_checkpoint(cfg.base)
        model.base.load_trained_state(float_state(base["model"]))
        prior = base["prior"].double().numpy()
    else:
        prior = training_prior(cfg.data, profile, split=cfg.split, bins=bins.cpu().numpy())[0]
    # the floor chapter 6's rebalanced AuC uses: it binds only as λ nears 0 (below λ = 0.01 of Q = 313), where a bin
    # of prior 5e-10 would otherwise weigh millions of times the mean and one pixel steer a whole batch
    weights = torch.as_tensor(rebalance_weights(prior, cfg.lam, floor=default_floor(len(prior))), dtype=torch.float32,
                              device=device)
    info = {**{k: v for k, v in asdict(cfg).items() if k != "resume"}, "profile": profile.name,
            "data_folder": None if cfg.data is None else str(Path(cfg.data).resolve()),
            "profile_settings": profile.as_dict(), "steps": total, "world_size": world,
            "train_images": len(dataset), "device": device.type, "plan": plan.as_dict(),
            "base": None if cfg.base is None else display_path(cfg.base)}  # a hint model's base, as a reader sees it
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    def state(step: int) -> dict:
        return {"model": model.trained_state(), "optimizer": optimizer.state_dict(), "step": step,
                "rng": torch.get_rng_state(), "scaler": precision.state_dict(), "config": info, "bins": bins.cpu(),
                "prior": torch.as_tensor(prior), "weights": weights.cpu()}

    def trained(step: int) -> dict:
        """What a trained model keeps (model.pt and its snapshots): the weights in fp16, no optimizer."""
        kept = state(step)
        kept["model"] = {k: v.half() if v.is_floating_point() else v for k, v in model.trained_state().items()}
        del kept["optimizer"], kept["rng"], kept["scaler"]
        return kept

    def checkpoint(step: int) -> None:
        if rank == 0:
            save_atomic(state(step), ckpt_path)
            log.flush()
        if distributed:
            dist.barrier()

    loader, sampler = make_loader(dataset, profile, cfg.seed, device, rank, world, plan.data_mode)
    if rank == 0:
        print(f"colorlib train {cfg.loss}: {plan.describe()}", file=sys.stderr)
        (folder / CONFIG).write_text(json.dumps(info, indent=1))
        log = RunLog(folder / LOG, start)
    bar = tqdm(total=total, initial=start, desc=cfg.loss, disable=rank != 0, dynamic_ncols=True)
    step, last = start, time.perf_counter()
    net.train()
    try:
        while step < total:
            epoch, offset = divmod(step, sampler.batches_per_epoch)
            dataset.set_epoch(epoch)
            sampler.set_position(epoch, offset)
            for batch in loader:
                L, ab = batch_to(batch, device, plan.torch_memory_format)
                lr = learning_rate(profile, step, total)
                hints = training_hints(ab, cfg.seed, step) if profile.arch == "hints" else None
                try:
                    value = train_step(net, optimizer, cfg.loss, L, ab, bins, weights, lr, precision, hints=hints)
                except TrainingDiverged as exc:
                    kept = f"the last good checkpoint ({ckpt_path}) is kept" if ckpt_path.is_file() else "no checkpoint yet"
                    raise TrainingDiverged(f"{exc} at step {step + 1}; stopped, {kept}") from None
                step += 1
                now = time.perf_counter()
                ips = profile.batch * world / max(now - last, 1e-9)
                last = now
                if rank == 0:
                    log.write(step=step, loss=f"{value:.6f}", lr=f"{lr:.3e}", images_per_s=f"{ips:.2f}",
                              seconds=f"{time.time():.2f}")
                    bar.set_postfix(loss=f"{value:.3f}", img_s=f"{ips:.1f}")
                    bar.update(1)
                    if on_step is not None:
                        on_step(step, value)
                if step % profile.checkpoint_every == 0 or step == total:
                    checkpoint(step)
                if step in cfg.snapshots and step < total and rank == 0:
                    save_atomic(trained(step), folder / snapshot_name(step))
                if step >= total:
                    break
    except KeyboardInterrupt:
        checkpoint(step)  # Ctrl-C: keep everything done so far
        if rank == 0:
            print(f"\ninterrupted at step {step}: checkpoint saved to {ckpt_path}; continue with --resume",
                  file=sys.stderr)
        raise
    finally:
        bar.close()
        if rank == 0:
            log.close()
    if rank == 0:
        save_atomic(trained(step), folder / FINAL)
    if distributed:
        dist.barrier()
    return folder


def first_step_scale(loss: str, profile: Profile, batch: dict, weights: Tensor, seed: int = 0) -> dict[str, float]:
    """How big one loss's gradient is, on a freshly initialised network and one loader ``batch``: the loss
    value, the gradient norm ‖∇θ‖ over the parameters the loss trains, and the weight-decay term
    wd·‖θ‖ that Adam adds to that gradient (coupled decay). Their ratio is what the loss scale changes."""
    torch.manual_seed(seed)
    bins = bins_tensor()
    model = build_network(profile.as_dict(), bins=bins)
    build_optimizer(model, profile, loss)  # freezes the heads this loss does not use
    output = model.train()(batch["L"], regression=uses_regression(loss))
    compute_loss(loss, output, target_ab(batch["ab"]), bins, weights).backward()
    trained = [p for p in model.parameters() if p.requires_grad]
    grad = torch.sqrt(sum((p.grad**2).sum() for p in trained))
    decay = profile.weight_decay * torch.sqrt(sum((p.detach() ** 2).sum() for p in trained))
    value = compute_loss(loss, output.detach(), target_ab(batch["ab"]), bins, weights)
    return {"loss": value.item(), "grad_norm": grad.item(), "decay_norm": decay.item()}


def ensure_trained(loss: str, profile: str, data: str | None, runs: str | Path, retrain: bool = False,
                   on_step: Callable[[int, float], None] | None = None, lam: float = DEFAULT_LAMBDA,
                   base: str | Path | None = None) -> Path:
    """The run folder of ``loss`` under ``runs``: reuse its ``model.pt`` if present (unless ``retrain``),
    else train (resuming a checkpoint left by an interrupted run). ``lam``: λ of the rebalancing weights;
    ``base``: a hint profile's base model (:attr:`TrainConfig.base`)."""
    folder = run_dir(runs, loss)
    if (folder / FINAL).is_file() and not retrain:
        return folder
    return train(TrainConfig(loss=loss, profile=profile, data=data, out=str(runs), resume=not retrain, lam=lam,
                             base=None if base is None else str(base),
                             command=["colorlib", "train", "--loss", loss, "--profile", profile,
                                      *(["--data", str(data)] if data else []), "--out", str(runs),
                                      *(["--lam", f"{lam:g}"] if lam != DEFAULT_LAMBDA else []),
                                      *(["--base", str(base)] if base is not None else [])]),
                 on_step=on_step)
