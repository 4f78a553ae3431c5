"""Offline evaluation of the personalised Discover feed against the global one.

For every person with at least ``--min-likes`` likes on live Discover listings, a share of
their likes (``--holdout``, at least one) is held out: the personalised ranking is built as if
those likes did not exist, and recall@K asks how many of the held-out listings each feed's
first K items contain. Both feeds leave out the person's own listings and the listings they
still like (the ones not held out: already found). Read-only.

    manage.py evaluate_discover [--k 20] [--holdout 0.25] [--min-likes 5] [--users 500] [--seed 18]
"""

from __future__ import annotations

import random
import statistics
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.models import User
from catalog.models import FeedType, Product, ProductLike
from discovery.feed import personal_ranking, recall_at


class Command(BaseCommand):
    help = "Recall@K of held-out likes: the personalised Discover feed against the global one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=20)
        parser.add_argument("--holdout", type=float, default=0.25)
        parser.add_argument("--min-likes", type=int, default=5)
        parser.add_argument("--users", type=int, default=500, help="at most this many people (default 500)")
        parser.add_argument("--seed", type=int, default=18)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 - a repeatable sample, not security
        k = options["k"]
        live = ProductLike.objects.filter(
            product__feed_type=FeedType.DISCOVER, product__is_available=True, product__deleted_at__isnull=True
        )
        likes: dict[Any, list[tuple[Any, str]]] = {}
        for like_id, user_id, product_id in live.order_by("user_id", "id").values_list("id", "user_id", "product_id"):
            likes.setdefault(user_id, []).append((like_id, str(product_id)))
        people = sorted((uid for uid, rows in likes.items() if len(rows) >= options["min_likes"]), key=str)
        people = people[: options["users"]]
        global_order = [
            (str(pk), seller_id)
            for pk, seller_id in Product.objects.filter(
                feed_type=FeedType.DISCOVER, is_available=True, deleted_at__isnull=True
            )
            .order_by("-hot_score", "-id")
            .values_list("id", "seller_id")[:2000]
        ]
        personal_scores, global_scores = [], []
        for user in User.objects.filter(pk__in=people).order_by("pk"):
            rows = list(likes[user.pk])
            rng.shuffle(rows)
            count = max(1, round(len(rows) * options["holdout"]))
            held, kept = rows[:count], rows[count:]
            held_ids = {product_id for _like, product_id in held}
            known = {product_id for _like, product_id in kept}
            personal = [
                pk
                for pk in personal_ranking(user=user, exclude_like_ids=[like for like, _pk in held])
                if pk not in known
            ]
            global_ = [pk for pk, seller_id in global_order if seller_id != user.pk and pk not in known]
            personal_scores.append(recall_at(personal, held_ids, k))
            global_scores.append(recall_at(global_, held_ids, k))
        if not people:
            self.stdout.write("Nobody has enough likes: run seed_demo (it simulates likes) first.")
            return
        personal_mean, global_mean = statistics.fmean(personal_scores), statistics.fmean(global_scores)
        better = sum(p > g for p, g in zip(personal_scores, global_scores, strict=True))
        worse = sum(p < g for p, g in zip(personal_scores, global_scores, strict=True))
        self.stdout.write(
            f"{len(people)} people, {options['holdout']:.0%} of their likes held out\n"
            f"recall@{k}: personalised {personal_mean:.3f}, global {global_mean:.3f}\n"
            f"personalised better for {better}, worse for {worse}, level for {len(people) - better - worse}"
        )
