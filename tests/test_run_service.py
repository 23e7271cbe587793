"""One run service (issue 22, part 1): a new family's on-demand training — on the built-in data
or the user's uploads, kept with the run and checked by hash on a resume, every 10th held out,
resumable from its card — is written here in the dozen lines of ``training_spec`` below, and
nothing else: the run folder, the stored uploads, their hash, the held-out split, the title, the
build closure and the Resume all come from :mod:`unsup.recipes.runs`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from unsup import checkpoints
from unsup.checkpoints import CheckpointError
from unsup.jobs import ThreadRunner
from unsup.models.base import Model, register
from unsup.recipes import runs


@dataclass
class MeanConfig:
    n_channels: int = 1
    image_size: int = 8
    batch_size: int = 8
    seed: int = 0
    lr: float = 0.1


@register("runservice_mean")
class MeanImage(Model):
    """The tiniest image learner: the mean image, by SGD on the squared error."""

    config_class = MeanConfig

    def __init__(self, config: MeanConfig):
        super().__init__(config)
        self.mean = nn.Parameter(torch.zeros(1, config.n_channels, config.image_size,
                                             config.image_size))
        self._opt = None

    def optimizers(self):
        if self._opt is None:
            self._opt = torch.optim.SGD(self.parameters(), lr=self.config.lr)
        return {"sgd": self._opt}

    def train_step(self, batch):
        loss = ((batch - self.mean) ** 2).mean(0).sum()  # per image
        opt = self.optimizers()["sgd"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}


@pytest.fixture(autouse=True)
def loadable():
    """The test family's model class is known to the loader while the tests run."""
    from unsup import kinds

    kinds.register(MeanImage)
    yield
    kinds.unregister(MeanImage.kind)


BUILT_IN = torch.full((40, 1, 8, 8), 0.25)


# -- the whole of the new family's on-demand training --------------------------------------------
def training_spec(*, steps=20, images=None, label=None, resume=None, owner=""):
    run = runs.plan(resume, data="grey", images=images, label=label)
    if run.upload:
        x, held, label, card = run.split_upload("mean")
    else:
        x, held, label, card = BUILT_IN, BUILT_IN[:4], "grey squares", {"name": "grey"}
    shape = dict(n_channels=int(x.shape[1]), image_size=int(x.shape[-1]))
    return run.spec(title=f"Mean image of {label}", model=lambda data: MeanImage(MeanConfig(
        **shape)), data=x, data_card=card, steps=steps, page="home", owner=owner,
        checkpoint_every=10, finish=lambda m: {"held_mse": float(((held - m.mean.detach()) ** 2).mean())},
        again=lambda path, more: training_spec(steps=int(more), resume=path, owner=owner))
# -------------------------------------------------------------------------------------------------


def test_a_new_family_trains_on_uploads_and_resumes_on_the_same_images_through_the_service():
    rng = np.random.default_rng(0)
    imgs = rng.random((30, 1, 8, 8)).astype(np.float32)
    spec = training_spec(images=imgs, label="my 30 squares")
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), 120)
    assert snap.status == "done", snap.error
    card = checkpoints.read_card(snap.checkpoint)
    assert card["title"] == "Mean image of my 30 squares"
    data = card["data"]
    assert data["name"] == "upload" and data["n_train"] == 27  # every 10th held out
    assert (snap.run_dir / runs.IMAGES.file).exists()
    assert np.isfinite(card["metrics"]["held_mse"])

    again = spec.resume(snap.checkpoint, 15)  # Resume: the family's own training_spec, again
    assert again.title == "Mean image of my 30 squares (resumed)" and again.run_dir == snap.run_dir
    model, x, resumed_card = again.build()
    held = np.zeros(30, bool)
    held[::10] = True
    assert torch.equal(x, torch.from_numpy(imgs[~held]))  # the very images it trained on
    assert int(model.step_) == 20 and resumed_card["data"] == data
    snap2 = runner.wait(runner.submit(again), 120)
    assert snap2.status == "done", snap2.error
    assert checkpoints.load(snap2.checkpoint).step_ == 35

    # the stored images changed: a resume refuses instead of training on other data
    np.savez(snap.run_dir / runs.IMAGES.file, images=imgs[::-1].copy(), sha=np.array(data["sha"]))
    with pytest.raises(CheckpointError, match="hash changed"):
        training_spec(resume=snap.checkpoint)
    (snap.run_dir / runs.IMAGES.file).unlink()
    with pytest.raises(CheckpointError, match="gone"):
        training_spec(resume=snap.checkpoint)


def test_a_new_family_on_its_built_in_data_resumes_without_uploads():
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(training_spec(steps=10)), 120)
    assert snap.status == "done", snap.error
    assert not (snap.run_dir / runs.IMAGES.file).exists()
    again = training_spec(steps=5, resume=snap.checkpoint)
    snap2 = runner.wait(runner.submit(again), 120)
    assert snap2.status == "done", snap2.error
    model = checkpoints.load(snap2.checkpoint)
    assert model.step_ == 15 and torch.allclose(model.mean, torch.full_like(model.mean, 0.25),
                                                atol=0.05)
