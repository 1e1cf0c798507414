"""A tiny pure-Python "training" script: logistic regression on a CSV, metrics to JSON.

Usage: python train.py --lr 0.1 --optimizer adam --batch 16 --data data/clean.csv

It contains one planted bug, the kind driftdoc is meant to find: the Adam branch
applies the learning-rate *warm-up boost* on every step instead of only during
warm-up. With small learning rates the boost is harmless; from lr >= 0.1 on, the
weights explode and the sigmoid overflows (OverflowError). SGD and momentum never
take that branch, and batch size and data set do not matter.
"""

import argparse
import csv
import json
import math

WARMUP_BOOST = 1000.0


def load(path):
    with open(path, newline="") as fh:
        return [((float(r["x1"]), float(r["x2"])), int(r["y"])) for r in csv.DictReader(fh)]


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def train(rows, lr, optimizer, batch, steps=60):
    w = [0.0, 0.0, 0.0]
    m, v, vel = [0.0] * 3, [0.0] * 3, [0.0] * 3
    for t in range(1, steps + 1):
        start = (t * batch) % len(rows)
        part = (rows[start:] + rows[:start])[:batch]
        grad = [0.0, 0.0, 0.0]
        for (x1, x2), y in part:
            err = sigmoid(w[0] * x1 + w[1] * x2 + w[2]) - y
            for i, xi in enumerate((x1, x2, 1.0)):
                grad[i] += err * xi / len(part)
        for i in range(3):
            if optimizer == "adam":
                m[i] = 0.9 * m[i] + 0.1 * grad[i]
                v[i] = 0.999 * v[i] + 0.001 * grad[i] ** 2
                step = lr * m[i] / (math.sqrt(v[i]) + 1e-8)
                if lr >= 0.1:  # BUG: the warm-up boost should stop after warm-up
                    step *= WARMUP_BOOST
                w[i] -= step
            elif optimizer == "momentum":
                vel[i] = 0.9 * vel[i] + grad[i]
                w[i] -= lr * vel[i]
            else:
                w[i] -= lr * grad[i]
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--data", required=True)
    args = ap.parse_args()
    rows = load(args.data)
    w = train(rows, args.lr, args.optimizer, args.batch)
    correct = sum((w[0] * x1 + w[1] * x2 + w[2] > 0) == bool(y) for (x1, x2), y in rows)
    metrics = {"accuracy": round(correct / len(rows), 4), "weights": [round(x, 3) for x in w]}
    with open("metrics.json", "w") as fh:
        json.dump(metrics, fh)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
