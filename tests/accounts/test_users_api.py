"""Public profiles, follow/unfollow, follower and following lists, block/unblock."""

from __future__ import annotations

import pytest

from accounts.models import Block, Follow
from accounts.selectors import is_blocked_between
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url(username: str, tail: str = "") -> str:
    return f"/api/v1/users/{username}/{tail}"


def test_public_profile_with_stats(api_client, seller, buyer):
    # given a seller with 2 live listings, 1 sold and 1 deleted, 2 followers, following 1
    ProductFactory.create_batch(2, seller=seller)
    ProductFactory(seller=seller, is_available=False)
    from django.utils import timezone

    ProductFactory(seller=seller, deleted_at=timezone.now())
    for fan in [buyer, UserFactory()]:
        Follow.objects.create(follower=fan, following=seller)
    Follow.objects.create(follower=seller, following=buyer)

    # when anyone looks at the profile (username in any case)
    response = api_client.get(_url("OMAR"))

    # then the public fields and stats are there, private ones are not
    assert response.status_code == 200
    data = response.json()
    assert data["username"] == "omar"
    assert data["neighborhood"] == "Dubai Marina"
    assert data["stats"] == {
        "followers_count": 2,
        "following_count": 1,
        "products_count": 2,
        "rating": None,
        "rating_count": 0,
    }
    for private in ("email", "phone", "location", "stripe_onboarded", "role"):
        assert private not in data


def test_profile_says_whether_the_viewer_follows(auth_client, seller, buyer):
    client = auth_client(buyer)
    assert client.get(_url("omar")).json()["is_following"] is False

    client.post(_url("omar", "follow/"))

    assert client.get(_url("omar")).json()["is_following"] is True


@pytest.mark.parametrize("username", ["nobody", "inactive"])
def test_unknown_or_deactivated_profile_is_404(api_client, username):
    UserFactory(username="inactive", is_active=False)

    response = api_client.get(_url(username))

    assert response.status_code == 404


def test_follow_and_unfollow_are_204_and_idempotent(auth_client, buyer, seller):
    client = auth_client(buyer)

    assert client.post(_url("omar", "follow/")).status_code == 204
    assert client.post(_url("omar", "follow")).status_code == 204
    assert Follow.objects.filter(follower=buyer, following=seller).count() == 1

    assert client.delete(_url("omar", "follow/")).status_code == 204
    assert client.delete(_url("omar", "follow/")).status_code == 204
    assert not Follow.objects.filter(follower=buyer, following=seller).exists()


def test_cannot_follow_yourself(auth_client, buyer):
    response = auth_client(buyer).post(_url("layla", "follow/"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cannot_follow_self"


def test_follow_needs_a_token(api_client, seller):
    assert api_client.post(_url("omar", "follow/")).status_code == 401


def test_follow_unknown_person_is_404(auth_client, buyer):
    assert auth_client(buyer).post(_url("ghost", "follow/")).status_code == 404


def test_followers_and_following_lists(api_client, seller, buyer):
    Follow.objects.create(follower=buyer, following=seller)

    followers = api_client.get(_url("omar", "followers/")).json()
    following = api_client.get(_url("layla", "following")).json()

    assert [u["username"] for u in followers["results"]] == ["layla"]
    assert set(followers) >= {"next", "previous", "results"}
    assert set(followers["results"][0]) == {
        "id",
        "username",
        "full_name",
        "avatar_url",
        "is_verified",
        "verification_status",
    }
    assert [u["username"] for u in following["results"]] == ["omar"]


@pytest.mark.parametrize("tail", ["followers/", "following/"])
def test_follow_lists_run_constant_queries_at_page_sizes_5_and_50(
    api_client, seller, django_assert_max_num_queries, tail
):
    fans = UserFactory.create_batch(60)
    for fan in fans:
        if tail == "followers/":
            Follow.objects.create(follower=fan, following=seller)
        else:
            Follow.objects.create(follower=seller, following=fan)

    for page_size in (5, 50):
        # target lookup + count + page (no per-row query)
        with django_assert_max_num_queries(3):
            response = api_client.get(_url("omar", tail), {"page_size": page_size})
        assert len(response.json()["results"]) == page_size


def test_profile_runs_constant_queries_whatever_the_numbers(api_client, seller, django_assert_max_num_queries):
    for fan in UserFactory.create_batch(30):
        Follow.objects.create(follower=fan, following=seller)
    ProductFactory.create_batch(5, seller=seller)

    with django_assert_max_num_queries(1):
        assert api_client.get(_url("omar")).status_code == 200


def test_block_and_unblock_are_204_idempotent_and_drop_follows(auth_client, buyer, seller):
    Follow.objects.create(follower=buyer, following=seller)
    Follow.objects.create(follower=seller, following=buyer)
    client = auth_client(seller)

    assert client.post(_url("layla", "block/")).status_code == 204
    assert client.post(_url("layla", "block")).status_code == 204

    assert Block.objects.filter(blocker=seller, blocked=buyer).count() == 1
    assert is_blocked_between(user_a=buyer, user_b=seller)
    assert not Follow.objects.filter(follower__in=[buyer, seller]).exists()
    assert client.delete(_url("layla", "block/")).status_code == 204
    assert client.delete(_url("layla", "block/")).status_code == 204
    assert not is_blocked_between(user_a=buyer, user_b=seller)


def test_a_blocked_person_cannot_follow_the_blocker(auth_client, buyer, seller):
    auth_client(seller).post(_url("layla", "block/"))

    response = auth_client(buyer).post(_url("omar", "follow/"))

    assert response.status_code == 404
    assert not Follow.objects.exists()


def test_cannot_block_yourself(auth_client, buyer):
    response = auth_client(buyer).post(_url("layla", "block/"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "cannot_block_self"
