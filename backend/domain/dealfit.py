"""The deal ranking's points fitted on a company's own picks: which evidence its reps follow.

The ranking (backend/domain/dealrank.py) adds points per feature of the evidence it sees: the
subject or the text naming the deal's title, the organisation, the sender owning the deal, a
deal of another contact, the most recent mail, earlier links and the deal's own address. The
fixed points (``dealrank.FIXED``) were set on a synthetic history; a company's reps may follow
other evidence more (the sender's own deals more than words in the text, say). Every pick a rep
makes is recorded as a link (by hand, or by accepting the top suggestion), and a link they
remove says which deal it was not: backend/domain/dealpicks.py reads those picks back as the
evidence each candidate had then, and ``fit`` finds the points that would have put the picked
deal first most often (a conditional logit: a candidate's chance is its share of
exp(points / SCALE)), drawn towards the fixed points so that a few odd picks move little.

Pure and deterministic: the same picks give the same points (Newton steps from the fixed points,
a fixed number of them at most). The sentences a rep reads stay the same; only the points change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .dealrank import FIXED, Ranking, UnlinkedByHand

FEATURES = tuple(FIXED)
SCALE = 20.0  # points per unit of log-odds: 20 points ahead is e (2.7) times as likely
STRENGTH = 2.0  # how strongly the points are drawn towards the fixed ones (per feature, in log-odds)
STEPS = 25


@dataclass
class Pick:
    """One choice a rep made: each candidate's features then, and which of them were right
    (the picked deal; or, for a removed link with no pick, every candidate but that one)."""

    candidates: list[dict[str, float]]
    right: set[int] = field(default_factory=set)  # indexes into candidates


def features(ranking: Ranking) -> list[tuple[int, dict[str, float]]]:
    """Each candidate deal's features (0-1) as the ranking saw them; a deal unlinked by hand from
    the conversation is left out (it is never a choice)."""
    out = []
    for ranked in ranking.ranked:
        if any(e.rule == UnlinkedByHand.name for e in ranked.evidence):
            continue
        seen: dict[str, float] = {}
        for evidence in ranked.evidence:
            seen.update(evidence.parts)
        out.append((ranked.item.id, seen))
    return out


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the matrix is small and positive definite)."""
    n = len(vector)
    rows = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        if abs(rows[col][col]) < 1e-12:
            continue
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][n] / rows[i][i] if abs(rows[i][i]) >= 1e-12 else 0.0 for i in range(n)]


def _loss_and_steps(theta, prior, data):
    """The penalised negative log-likelihood, its gradient and (an approximation of) its Hessian."""
    k = len(theta)
    loss = 0.5 * STRENGTH * sum((t - p) ** 2 for t, p in zip(theta, prior))
    grad = [STRENGTH * (t - p) for t, p in zip(theta, prior)]
    hess = [[STRENGTH if i == j else 0.0 for j in range(k)] for i in range(k)]
    for xs, right in data:
        logits = [sum(t * x for t, x in zip(theta, row)) for row in xs]
        top = max(logits)
        weights = [math.exp(z - top) for z in logits]
        total, good = sum(weights), sum(weights[i] for i in right)
        loss -= math.log(good / total)
        for group, norm, sign in ((range(len(xs)), total, 1.0), (right, good, -1.0)):
            mean = [sum(weights[i] * xs[i][f] for i in group) / norm for f in range(k)]
            for f in range(k):
                grad[f] += sign * mean[f]
            if sign > 0 or len(right) > 1:
                for i in group:
                    share = weights[i] / norm
                    for a in range(k):
                        da = xs[i][a] - mean[a]
                        if da:
                            for b in range(k):
                                hess[a][b] += sign * share * da * (xs[i][b] - mean[b])
    return loss, grad, hess


def fit(picks: list[Pick], prior: dict[str, float] | None = None) -> dict[str, float]:
    """The points (per feature, as in ``dealrank.FIXED``) that best explain the picks."""
    prior = prior or FIXED
    theta0 = [prior[f] / SCALE for f in FEATURES]
    data = [([[c.get(f, 0.0) for f in FEATURES] for c in p.candidates], sorted(p.right)) for p in picks
            if p.right and len(p.right) < len(p.candidates)]
    theta = theta0[:]
    loss, grad, hess = _loss_and_steps(theta, theta0, data)
    for _ in range(STEPS):
        step = _solve(hess, grad)
        size = 1.0
        while size > 1e-3:
            trial = [t - size * s for t, s in zip(theta, step)]
            trial_loss, trial_grad, trial_hess = _loss_and_steps(trial, theta0, data)
            if trial_loss <= loss:
                break
            size /= 2
        else:
            break
        improved = loss - trial_loss
        theta, loss, grad, hess = trial, trial_loss, trial_grad, trial_hess
        if improved < 1e-6:
            break
    return {f: round(t * SCALE, 2) for f, t in zip(FEATURES, theta)}
