# ruff: noqa: RUF001 - Arabic text on purpose
"""Realistic Dubai demo data: sellers and buyers, listings in all 12 categories spread over
real neighbourhoods, and a demo moderator for /admin/. Safe to run again: users are reused,
and listings are only topped up to ``--products``."""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.roles import MODERATORS_GROUP, sync_moderators_group
from catalog.models import Category, Condition, FeedType, Product, ProductLike, search_terms_for
from catalog.ranking import hot_score

DEMO_MODERATOR = "moderator"
DEMO_MODERATOR_PASSWORD = "souk-loop-demo"  # noqa: S105 - printed on purpose, development data only
DEMO_USER_PASSWORD = "souk-loop-demo"  # noqa: S105

# (name, latitude, longitude, buildings)
NEIGHBOURHOODS: list[tuple[str, float, float, list[str]]] = [
    ("Dubai Marina", 25.0805, 55.1403, ["Marina Gate 1", "Cayan Tower", "Princess Tower", "Marina Heights"]),
    ("Jumeirah Lake Towers", 25.0693, 55.1450, ["Cluster D - Indigo Tower", "Cluster X - Jumeirah Bay", "Armada 2"]),
    ("Downtown Dubai", 25.1972, 55.2744, ["Burj Vista 1", "The Address Residences", "South Ridge 4"]),
    ("Business Bay", 25.1850, 55.2650, ["Executive Towers B", "Damac Maison", "Churchill Residency"]),
    ("Jumeirah Village Circle", 25.0600, 55.2090, ["Bloom Towers", "Belgravia 2", "Oxford Residence"]),
    ("Al Barsha", 25.1130, 55.2000, ["Al Barsha Heights", "Summer Residence", "Hessa Tower"]),
    ("Deira", 25.2697, 55.3247, ["Al Ghurair Residence", "Deira Tower", "Reef Tower"]),
    ("Al Karama", 25.2430, 55.3030, ["Karama Building 12", "Al Attar Tower"]),
    ("Mirdif", 25.2200, 55.4200, ["Uptown Mirdif", "Ghoroob Mirdif"]),
    ("Arabian Ranches", 25.0550, 55.2700, ["Saheel Villas", "Alvorada"]),
    ("Dubai Silicon Oasis", 25.1200, 55.3800, ["Binghatti Stars", "Axis Residence 4"]),
    ("Palm Jumeirah", 25.1124, 55.1390, ["Shoreline Apartments", "Tiara Residences", "Golden Mile 5"]),
    ("Jumeirah Beach Residence", 25.0780, 55.1330, ["Sadaf 5", "Rimal 2", "Murjan 1"]),
    ("International City", 25.1650, 55.4100, ["England Cluster X-14", "China Cluster C-02"]),
    ("Al Quoz", 25.1400, 55.2300, ["Al Serkal Avenue Lofts", "Quoz Residences"]),
]

TITLES: dict[str, list[str]] = {
    Category.TRADING_CARDS: ["Pokémon Charizard holo", "Yu-Gi-Oh Blue-Eyes 1st edition", "Magic: The Gathering bundle"],
    Category.MENS_FASHION: ["Kandura, white, size 58", "Hugo Boss blazer", "Ray-Ban Aviators", "Levi's 501 jeans"],
    Category.SNEAKERS: ["Yeezy Boost 350 V2", "Jordan 1 Retro High", "Nike Dunk Low Panda", "New Balance 550"],
    Category.SPORTS_CARDS: ["Panini Messi rookie", "Topps Chrome Ronaldo", "NBA Prizm LeBron"],
    Category.COLLECTIBLES: ["Vintage Dubai stamps", "Funko Pop set", "Rolex box and papers", "Signed Al Wasl shirt"],
    Category.ELECTRONICS: ["iPhone 15 Pro 256GB", "PlayStation 5 with two pads", "MacBook Air M2", "AirPods Pro 2"],
    Category.HOME_DECOR: ["Persian rug 2x3m", "Brass lantern pair", "Oud burner set", "Wall mirror, gold frame"],
    Category.BEAUTY: ["Dior Sauvage 100ml sealed", "Dyson Airwrap", "Arabian oud perfume oil"],
    Category.KIDS_BABY: ["Bugaboo stroller", "LEGO Technic set", "Baby cot with mattress", "Kids' bike 16 inch"],
    Category.FURNITURE: ["IKEA sofa bed", "Dining table for six", "Home Centre wardrobe", "Office chair Herman Miller"],
    Category.BOOKS: ["Arabic novels bundle", "IB textbooks grade 11", "Harry Potter box set"],
    Category.OTHER: ["Camping tent 4 person", "Desert safari cooler box", "Paddle board", "Treadmill"],
}


# Arabic titles (about one listing in six is written in Arabic, as in the UAE's classifieds).
ARABIC_TITLES: dict[str, list[str]] = {
    Category.TRADING_CARDS: ["بطاقات بوكيمون نادرة", "بطاقة بوكيمون شاريزارد"],
    Category.MENS_FASHION: ["كندورة بيضاء مقاس 58", "نظارات شمسية راي بان"],
    Category.SNEAKERS: ["حذاء نايك رياضي", "أحذية اديداس أصلية", "جوردن ١ ريترو"],
    Category.SPORTS_CARDS: ["بطاقات كرة قدم موقعة", "بطاقة ميسي للمبتدئين"],
    Category.COLLECTIBLES: ["ساعة رولكس قديمة", "طوابع إماراتية نادرة", "عملات معدنية قديمة"],
    Category.ELECTRONICS: ["آيفون ١٥ برو ٢٥٦ جيجا", "ساعات ذكية سامسونج", "بلايستيشن ٥ مع يدين", "سماعات ابل"],
    Category.HOME_DECOR: ["سجادة فارسية", "مبخرة عود نحاسية", "فانوس نحاسي"],
    Category.BEAUTY: ["عطر عود عربي", "عطور ديور أصلية", "مجفف شعر دايسون"],
    Category.KIDS_BABY: ["عربة أطفال", "ألعاب ليغو للأطفال", "سرير أطفال مع مرتبة"],
    Category.FURNITURE: ["كنبة سرير ايكيا", "طاولة طعام لستة أشخاص", "خزانة ملابس"],
    Category.BOOKS: ["روايات عربية", "كتب مدرسية للصف الحادي عشر"],
    Category.OTHER: ["خيمة تخييم لأربعة أشخاص", "جهاز مشي", "صندوق تبريد للرحلات"],
}
ARABIC_SHARE = 0.16

# Plausible attribute values per category (seed only; the rules are catalog.attributes).
ATTRIBUTE_VALUES: dict[str, dict[str, list[Any]]] = {
    Category.TRADING_CARDS: {
        "game": ["pokemon", "pokemon", "yugioh", "magic", "one_piece"],
        "set": ["Base Set", "Evolving Skies", "Scarlet & Violet", "Legend of Blue Eyes"],
        "grade": ["raw", "raw", "raw", "8", "9", "10"],
        "graded_by": ["psa", "psa", "bgs", "cgc"],
    },
    Category.SPORTS_CARDS: {
        "sport": ["football", "football", "basketball", "cricket", "f1"],
        "set": ["Panini Prizm", "Topps Chrome", "Panini Select"],
        "grade": ["raw", "raw", "9", "10"],
        "graded_by": ["psa", "bgs"],
    },
    Category.SNEAKERS: {
        "brand": ["Nike", "Adidas", "New Balance", "Jordan", "Yeezy"],
        "size_eu": [f"{n / 2:g}" for n in range(76, 95)],
        "colour": ["Black", "White", "Panda", "Red", "Grey"],
    },
    Category.ELECTRONICS: {
        "brand": ["Apple", "Samsung", "Sony", "Dell", "Huawei"],
        "model": ["iPhone 15 Pro", "Galaxy S24", "PS5", "XPS 13", "AirPods Pro 2"],
        "storage_gb": [64, 128, 256, 512, 1024],
    },
    Category.MENS_FASHION: {
        "brand": ["Hugo Boss", "Levi's", "Ray-Ban", "Zara"],
        "size": ["S", "M", "L", "XL", "56", "58"],
        "colour": ["White", "Black", "Navy"],
    },
    Category.COLLECTIBLES: {"brand": ["Rolex", "Funko", "Emirates Post"], "year": [1971, 1985, 1999, 2010, 2020]},
    Category.HOME_DECOR: {"material": ["Wool", "Brass", "Glass", "Wood"], "colour": ["Gold", "Red", "Blue"]},
    Category.BEAUTY: {"brand": ["Dior", "Dyson", "Ajmal", "Chanel"], "volume_ml": [30, 50, 100, 200]},
    Category.KIDS_BABY: {
        "age_range": ["0-6m", "6-12m", "1-2y", "3-5y", "6-8y", "9-12y"],
        "brand": ["Bugaboo", "LEGO", "Chicco"],
    },
    Category.FURNITURE: {
        "material": ["Wood", "Fabric", "Leather", "Metal"],
        "colour": ["Grey", "Beige", "White"],
        "width_cm": [60, 90, 120, 180, 220],
    },
    Category.BOOKS: {"language": ["ar", "en", "en", "fr"], "author": ["Naguib Mahfouz", "J. K. Rowling", "Various"]},
    Category.OTHER: {},
}


def _attributes(category: str, title: str, rng: random.Random) -> dict[str, Any]:
    """Most listings fill most of their category's attributes; required ones always."""
    values = {}
    for key, options in ATTRIBUTE_VALUES.get(category, {}).items():
        if key in ("game", "sport") or rng.random() < 0.8:
            values[key] = rng.choice(options)
    if values.get("grade") == "raw":
        values.pop("graded_by", None)
    if "game" in values and ("Pok" in title or "بوكيمون" in title):
        values["game"] = "pokemon"
    return values


class Command(BaseCommand):
    help = "Load realistic Dubai demo data (idempotent: tops listings up to --products)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=300, help="listings to have in all (default 300)")
        parser.add_argument("--users", type=int, default=40, help="demo users to have (default 40)")
        parser.add_argument("--seed", type=int, default=971, help="random seed, for repeatable data")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--days", type=int, default=42, help="spread listings over this many days (default 42)")
        parser.add_argument(
            "--likes-per-user",
            type=int,
            default=12,
            help="simulated likes per demo user, from each one's favourite categories and sellers (default 12)",
        )
        parser.add_argument(
            "--moderator-password",
            default=None,
            help="password of the demo moderator; required to create one when DEBUG is false "
            "(otherwise no staff account is made: the development password is published in the README)",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - demo data, not security
        moderator = self._moderator(options["moderator_password"])
        users = self._users(options["users"], rng)
        sellers = [u for u in users if u.can_sell]
        existing = Product.objects.count()
        wanted = max(0, options["products"] - existing)
        created = self._products(wanted, sellers, rng, options["batch_size"], options["days"])
        liked = self._likes(users, sellers, rng, options["likes_per_user"])
        if (created or wanted) and connection.vendor == "postgresql":
            # Fresh planner statistics: with stale ones (e.g. 34 users estimated for 400) the
            # planner drove listing queries from the users table, 20x slower.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE accounts_user")
                cursor.execute("ANALYZE catalog_product")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(users)} users, {existing + created} listings ({created} new), "
                f"{liked} simulated likes in {elapsed:.1f}s."
            )
        )
        if moderator is None:
            self.stdout.write("No demo moderator: DEBUG is false and no --moderator-password was given.")
        elif options["moderator_password"] is None:
            self.stdout.write(
                f"Demo moderator for /admin/: username '{moderator.username}', password '{DEMO_MODERATOR_PASSWORD}'."
            )
        else:
            self.stdout.write(f"Demo moderator for /admin/: username '{moderator.username}' (password as given).")

    def _moderator(self, password: str | None) -> User | None:
        """The demo moderator. Its development password is published, so outside DEBUG a
        staff account is only made with a password the operator chose."""
        if password is None and not settings.DEBUG:
            return None
        user = User.objects.filter(username=DEMO_MODERATOR).first()
        if user is None:
            user = User.objects.create_user(
                username=DEMO_MODERATOR,
                email="moderator@soukloop.ae",
                password=password or DEMO_MODERATOR_PASSWORD,
                phone="+971500000001",
                full_name="Demo Moderator",
                is_staff=True,
                is_verified=True,
            )
        group = sync_moderators_group()
        user.groups.add(Group.objects.get(pk=group.pk, name=MODERATORS_GROUP))
        return user

    def _users(self, count: int, rng: random.Random) -> list[User]:
        first = [
            "Omar",
            "Layla",
            "Aisha",
            "Rahul",
            "Maria",
            "Hassan",
            "Fatima",
            "Arjun",
            "Noura",
            "Khalid",
            "Priya",
            "Yousef",
        ]
        last = [
            "Al Mansoori",
            "Khan",
            "Fernandes",
            "Haddad",
            "Nair",
            "Al Suwaidi",
            "Santos",
            "Rahman",
            "Kapoor",
            "Saleh",
        ]
        users = list(User.objects.filter(username__startswith="demo_").order_by("username")[:count])
        missing = count - len(users)
        if missing <= 0:
            return users
        from django.contrib.auth.hashers import make_password

        password = make_password(DEMO_USER_PASSWORD)
        new = []
        for i in range(len(users), count):
            name, lat, lng, buildings = rng.choice(NEIGHBOURHOODS)
            full_name = f"{rng.choice(first)} {rng.choice(last)}"
            new.append(
                User(
                    username=f"demo_{i:04d}",
                    email=f"demo_{i:04d}@example.ae",
                    phone=f"+97155{i:07d}",
                    full_name=full_name,
                    password=password,
                    role=[Role.SELLER, Role.BOTH, Role.BUYER][i % 3],
                    is_verified=True,
                    location=Point(lng + rng.uniform(-0.004, 0.004), lat + rng.uniform(-0.004, 0.004), srid=4326),
                    neighborhood=name,
                    building_name=rng.choice(buildings),
                )
            )
        User.objects.bulk_create(new, ignore_conflicts=True)
        return list(User.objects.filter(username__startswith="demo_").order_by("username")[:count])

    def _likes(self, users: list[User], sellers: list[User], rng: random.Random, per_user: int) -> int:
        """Simulated likes with per-person tastes, so the personalised Discover has something to
        learn from and can be evaluated offline (``manage.py evaluate_discover``): each person
        has two favourite categories and three favourite sellers; about half their likes fall in
        those categories, a quarter on those sellers, the rest anywhere, fresher listings more
        often. People who already have likes are left alone (idempotent). The listings' own
        ``like_count`` stays the seeded counter."""
        if per_user <= 0 or not sellers:
            return 0
        pool = list(
            Product.objects.filter(feed_type=FeedType.DISCOVER, is_available=True, deleted_at__isnull=True)
            .order_by("-created_at")
            .values_list("id", "category", "seller_id")[:20000]
        )
        if not pool:
            return 0
        by_category: dict[str, list[tuple[Any, str, Any]]] = {}
        by_seller: dict[Any, list[tuple[Any, str, Any]]] = {}
        for row in pool:
            by_category.setdefault(row[1], []).append(row)
            by_seller.setdefault(row[2], []).append(row)
        already = set(ProductLike.objects.filter(user__in=users).values_list("user_id", flat=True).distinct())
        categories = sorted(by_category)
        seller_ids = sorted(by_seller, key=str)
        now = timezone.now()
        likes = []
        for user in users:
            if user.pk in already:
                continue
            tastes = rng.sample(categories, k=min(2, len(categories)))
            favourites = rng.sample(seller_ids, k=min(3, len(seller_ids)))
            chosen: set[Any] = set()
            for _attempt in range(per_user * 3):
                if len(chosen) >= per_user:
                    break
                draw = rng.random()
                if draw < 0.5:
                    rows = by_category[rng.choice(tastes)]
                elif draw < 0.75:
                    rows = by_seller[rng.choice(favourites)]
                else:
                    rows = pool
                product_id, _category, seller_id = rows[int(len(rows) * rng.random() ** 2)]  # fresher first
                if seller_id != user.pk:
                    chosen.add(product_id)
            for product_id in chosen:
                like = ProductLike(user=user, product_id=product_id)
                like.created_at = now - timedelta(hours=rng.uniform(0, 24 * 14))
                likes.append(like)
        with _keep_given_timestamps(ProductLike):
            ProductLike.objects.bulk_create(likes, batch_size=5000, ignore_conflicts=True)
        return len(likes)

    def _products(self, count: int, sellers: list[User], rng: random.Random, batch_size: int, days: int) -> int:
        if count <= 0 or not sellers:
            return 0
        made = 0
        rows = self._rows(count, sellers, rng, days)
        while made < count:
            batch = [next(rows) for _ in range(min(batch_size, count - made))]
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    _copy_rows(batch)
                else:
                    with _keep_given_timestamps():
                        Product.objects.bulk_create([_as_product(row) for row in batch], batch_size=batch_size)
            made += len(batch)
        return made

    def _rows(self, count: int, sellers: list[User], rng: random.Random, days: int) -> Iterator[dict[str, Any]]:
        categories = list(Category)
        conditions = list(Condition)
        now = timezone.now()
        span = max(1, days) * 86400
        for index in range(count):
            category = categories[index % len(categories)]
            name, lat, lng, buildings = rng.choice(NEIGHBOURHOODS)
            price = Decimal(rng.choice([25, 49, 75, 120, 149, 250, 399, 650, 1200, 2500, 4800]))
            # Older listings had more time to collect views and likes.
            age = rng.random() ** 1.5 * span
            created_at = now - timedelta(seconds=age)
            views = int(rng.expovariate(1 / 60) * (0.2 + age / span))
            likes = int(views * rng.uniform(0, 0.08))
            sold = rng.random() < 0.06
            arabic = rng.random() < ARABIC_SHARE
            title = rng.choice(ARABIC_TITLES[category] if arabic else TITLES[category])
            description = (
                f"الاستلام من {rng.choice(buildings)}، {name}. الدفع نقداً أو بالبطاقة عبر سوق لوب."
                if arabic
                else f"Collection from {rng.choice(buildings)}, {name}. Cash or card on Souk Loop."
            )
            tags = [category.replace("_", " "), name.lower()]
            yield {
                "id": uuid.uuid4(),  # not from the seeded rng: a top-up must not repeat ids
                "created_at": created_at,
                "updated_at": created_at,
                "seller_id": rng.choice(sellers).pk,
                "title": title,
                "description": description,
                "price": price,
                "original_price": (price * Decimal("1.4")).quantize(Decimal("0.01")) if rng.random() < 0.4 else None,
                "currency": "AED",
                "category": category.value,
                "condition": rng.choice(conditions).value,
                "feed_type": (FeedType.COMMUNITY if rng.random() < 0.45 else FeedType.DISCOVER).value,
                "location": (lng + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01)),
                "neighborhood": name,
                "building_name": rng.choice(buildings),
                "is_available": not sold,
                "view_count": views,
                "like_count": likes,
                "image_urls": [],
                "video_url": "",
                "video_thumbnail_url": "",
                "tags": tags,
                "attributes": _attributes(category, title, rng),
                "search_terms": search_terms_for(title=title, tags=tags, description=description),
                "sold_at": created_at + timedelta(seconds=rng.uniform(0, age)) if sold else None,
                "deleted_at": None,
                "hot_score": hot_score(created_at=created_at, like_count=likes, view_count=views),
            }


COPY_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "seller_id",
    "title",
    "description",
    "price",
    "original_price",
    "currency",
    "category",
    "condition",
    "feed_type",
    "location",
    "neighborhood",
    "building_name",
    "is_available",
    "view_count",
    "like_count",
    "image_urls",
    "video_url",
    "video_thumbnail_url",
    "tags",
    "sold_at",
    "deleted_at",
    "hot_score",
    "attributes",
    "search_terms",
]


def _copy_rows(rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY: ~10x faster than INSERTs from Python; the search-vector trigger
    still fires for every row."""
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        with raw.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                values = dict(row)
                lng, lat = values["location"]
                values["location"] = f"SRID=4326;POINT({lng:.7f} {lat:.7f})"
                values["image_urls"] = json.dumps(values["image_urls"])
                values["tags"] = json.dumps(values["tags"], ensure_ascii=False)
                values["attributes"] = json.dumps(values["attributes"], ensure_ascii=False)
                copy.write_row([values[column] for column in COPY_COLUMNS])


def _as_product(row: dict[str, Any]) -> Product:
    values = dict(row)
    longitude, latitude = values["location"]
    values["location"] = Point(longitude, latitude, srid=4326)
    return Product(**values)


@contextlib.contextmanager
def _keep_given_timestamps(model: Any = Product) -> Iterator[None]:
    """bulk_create would stamp every row "now" (auto_now_add/auto_now); demo listings (and
    likes) are spread over weeks so the feeds have something to rank."""
    fields = [field for field in model._meta.concrete_fields if field.name in ("created_at", "updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
