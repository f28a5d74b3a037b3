#!/usr/bin/env python3
"""The PyTorch side of benches/train.rs: the same small CNN (three heads, 8 logits), the
same batch size, input size and JPEG files, a DataLoader with worker processes doing PIL
decode + crop + resize + random horizontal flip + normalise. Prints images/s."""
import argparse
import os
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
CROP = (0.1, 0.1, 0.9, 0.9)  # left, top, right, bottom fractions (CropBox::default)


class Photos(torch.utils.data.Dataset):
    def __init__(self, folder, n, size):
        self.files = [os.path.join(folder, f"{i:05}.jpg") for i in range(n)]
        self.size = size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = Image.open(self.files[i]).convert("RGB")
        w, h = img.size
        img = img.crop((int(CROP[0] * w), int(CROP[1] * h), int(CROP[2] * w), int(CROP[3] * h)))
        img = img.resize(self.size, Image.BILINEAR)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        x = x.view(self.size[1], self.size[0], 3).permute(2, 0, 1).float() / 255.0
        return (x - MEAN) / STD, i % 18


class SmallCnn(nn.Module):
    def __init__(self, outputs=8, dropout=0.3):
        super().__init__()
        chans = [3, 32, 64, 128, 192]
        layers = []
        for i in range(4):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False), nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        # Same as mask-curator's small CNN: the last features pooled to a 4x3 grid.
        self.head = nn.Linear(chans[-1] * 4 * 3, outputs)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.body(x), (4, 3)).flatten(1)
        return self.head(self.dropout(x))


def three_head_loss(logits, y):
    return (F.cross_entropy(logits[:, 0:3], y // 6) + F.cross_entropy(logits[:, 3:5], (y % 6) // 3)
            + F.cross_entropy(logits[:, 5:8], y % 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--photos", type=int, default=448)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", default="72x96")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    torch.manual_seed(777)
    data = Photos(a.folder, a.photos, (w, h))
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch_size, shuffle=False, num_workers=a.workers)
    model = SmallCnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    start = time.perf_counter()
    per_epoch = []
    for _ in range(a.epochs):
        t = time.perf_counter()
        for x, y in loader:
            loss = three_head_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        per_epoch.append(a.photos / (time.perf_counter() - t))
    total = a.photos * a.epochs / (time.perf_counter() - start)
    print(f"pytorch      : {total:8.1f} images/s (per epoch: {', '.join(f'{v:.0f}' for v in per_epoch)}; torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
