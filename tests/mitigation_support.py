"""A planted shortcut for the mitigation tests: a small object's colour is the class, the
background's colour agrees with it in most training images, and a classifier reads only the
background (worst group 0%) while its features also see the object."""

import numpy as np
import torch
from torch import nn

CLASSES = ["red", "blue"]
OBJECT = {0: (220, 30, 30), 1: (30, 30, 220)}
BACKGROUND = {0: (40, 160, 40), 1: (60, 200, 230)}  # 0 "grass" goes with red, 1 "sky" with blue
SIZE, SIDE = 16, 5


def planted_images(n: int, p_spurious: float, seed: int):
    """(images (N, 16, 16, 3) uint8, labels, backgrounds): balanced classes, ``p_spurious`` of
    each class on its own background."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    agree = rng.random(n) < p_spurious
    backgrounds = np.where(agree, labels, 1 - labels)
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):
        noise = rng.integers(-20, 21, size=(SIZE, SIZE, 3))
        images[i] = np.clip(np.array(BACKGROUND[backgrounds[i]]) + noise, 0, 255)
        y, x = rng.integers(0, SIZE - SIDE, size=2)
        images[i, y : y + SIDE, x : x + SIDE] = OBJECT[labels[i]]
    return images, labels, backgrounds


def group_names(labels, backgrounds) -> list[str]:
    return [f"{CLASSES[c]}/{'grass' if b == 0 else 'sky'}" for c, b in zip(labels, backgrounds)]


class ShortcutNet(nn.Module):
    """Colour detectors (1x1 conv) -> mean pool (the features) -> a head on the background ones."""

    def __init__(self):
        super().__init__()
        self.detect = nn.Conv2d(3, 4, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4, 2)
        colours = [OBJECT[0], OBJECT[1], BACKGROUND[0], BACKGROUND[1]]
        with torch.no_grad():
            # c . x - |c|^2 + 0.5: about 0.5 at its colour c, below 0.3 at the others (x in [-1, 1])
            centres = torch.tensor(colours, dtype=torch.float32) / 127.5 - 1
            self.detect.weight.copy_(4 * centres[:, :, None, None])
            self.detect.bias.copy_(4 * (0.5 - (centres**2).sum(1)))
            self.fc.weight.copy_(torch.tensor([[0.0, 0.0, 3.0, -3.0], [0.0, 0.0, -3.0, 3.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.flat(self.pool(torch.relu(self.detect(x)))))


def shortcut_classifier():
    """:class:`ShortcutNet` as a FrozenClassifier at 16 pixels, features at ``flat``."""
    from texplain_widgets.model.classifier import FrozenClassifier

    config = {"input_size": (3, SIZE, SIZE), "crop_pct": 1.0, "mean": (0.5,) * 3, "std": (0.5,) * 3}
    return FrozenClassifier(ShortcutNet(), feature_layer="flat", class_names=CLASSES, data_config=config)


def as_collection(images, labels, backgrounds):
    from texplain_widgets.data.collection import ImageCollection

    return ImageCollection.from_images(
        list(images),
        names=[f"img{i:04d}" for i in range(len(images))],
        labels=[CLASSES[c] for c in labels],
        groups=group_names(labels, backgrounds),
    )
