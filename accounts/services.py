"""Writes for people: sign-up, sign-in, OTP, passwords, profile, follows and blocks.

Keyword-only, typed, atomic; they raise ``soukloop.errors``. SMS and email leave the
process only after the surrounding transaction commits (``transaction.on_commit``).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import time
import unicodedata
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts import limits, tasks
from accounts.models import Block, Follow, Role, User, UserStats
from accounts.phones import normalize_phone, region_of, try_normalize_phone
from accounts.tokens import Unauthorized, tokens_revoke_all
from soukloop import events
from soukloop.background import run_after_commit
from soukloop.cacheerrors import CACHE_UNAVAILABLE
from soukloop.errors import NotFound, PermissionDenied, TooManyRequests, ValidationError
from soukloop.geo import make_point, validate_lat_lng

logger = logging.getLogger(__name__)

# A sign-up whose first code cannot go now (hourly limit spent, cache down): they ask again later.
_SEND_LATER: tuple[type[Exception], ...] = (TooManyRequests, *CACHE_UNAVAILABLE)

SELF_ASSIGNABLE_ROLES = (Role.BUYER, Role.SELLER, Role.BOTH)
PROFILE_FIELDS = ("full_name", "bio", "avatar_url", "neighborhood", "building_name", "role", "language")

_LOGIN_SCOPE = "login_fail"
_LOGIN_SOURCE_SCOPE = "login_fail_source"
_PASSWORD_CHANGE_SCOPE = "password_change_fail"  # noqa: S105 - a cache scope name
_OTP_SEND_SCOPE = "otp_send"
_OTP_SEND_ACCOUNT_SCOPE = "otp_send_account"
_OTP_SEND_SOURCE_SCOPE = "otp_send_source"
_SMS_SCOPE = "sms_budget"
_HOUR = 3600


# --- Registration ------------------------------------------------------------------------


def _check_password(password: str, *, user: User, attr: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), code="password_invalid", attr=attr) from exc


def _raise_if_taken(*, email: str, username: str, phone: str | None, exclude_pk: Any = None) -> None:
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if others.filter(email__iexact=email).exists():
        raise ValidationError(_("An account with this email already exists."), code="email_taken", attr="email")
    if others.filter(username__iexact=username).exists():
        raise ValidationError(_("This username is taken."), code="username_taken", attr="username")
    if phone and others.filter(phone=phone).exists():
        raise ValidationError(_("An account with this phone number already exists."), code="phone_taken", attr="phone")


@transaction.atomic
def user_register(
    *,
    email: str,
    username: str,
    password: str,
    phone: str,
    full_name: str = "",
    role: str,
    source: str = "",
    language: str = "en",
) -> User:
    """Create an unverified account and send an OTP to its phone (after commit)."""
    if role not in SELF_ASSIGNABLE_ROLES:
        raise ValidationError(_("Choose buyer, seller or both."), code="invalid_role", attr="role")
    try:
        phone = normalize_phone(phone)
    except ValueError as exc:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone", attr="phone") from exc
    sms_country_check(phone)  # a number we cannot text could never be verified
    email = email.strip().lower()
    language = language if language in ("en", "ar") else "en"
    user = User(email=email, username=username, phone=phone, full_name=full_name, role=role, language=language)
    _check_password(password, user=user, attr="password")
    user.set_password(password)
    _raise_if_taken(email=email, username=username, phone=phone)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Lost a race with a simultaneous sign-up: say which field, as the check above would have.
        _raise_if_taken(email=email, username=username, phone=phone)
        raise ValidationError(_("An account with these details already exists."), code="duplicate") from exc
    logger.info("account created", extra={"user_id": str(user.pk), "role": role})
    # The account exists either way; if the phone's hourly limit is spent or the cache is down,
    # they ask for a code again later (send-otp).
    try:
        otp_send(phone=phone, source=source)
    except _SEND_LATER:
        logger.warning("sign-up code not sent", extra={"user_id": str(user.pk)})
    return user


# --- Sign-in -----------------------------------------------------------------------------


def _identifier_key(identifier: str) -> str:
    """One spelling per identifier for keys: NFKC + casefold, so look-alike letters (dotless i,
    long s) that the database's case-insensitive match treats as the same do not get a fresh key."""
    phone = try_normalize_phone(identifier) if "@" not in identifier else None
    return phone or unicodedata.normalize("NFKC", identifier.strip()).casefold()


def _find_by_identifier(identifier: str) -> User | None:
    identifier = unicodedata.normalize("NFKC", identifier.strip()).casefold()
    if not identifier:
        return None
    if "@" in identifier:
        return User.objects.filter(email__iexact=identifier).first()
    phone = try_normalize_phone(identifier)
    match = Q(username__iexact=identifier) | Q(phone=phone) if phone else Q(username__iexact=identifier)
    candidates = list(User.objects.filter(match)[:2])
    # A username wins over a phone-shaped username of someone else only when nobody owns the phone.
    by_phone = [u for u in candidates if phone and u.phone == phone]
    return by_phone[0] if by_phone else (candidates[0] if candidates else None)


def _login_subject(identifier: str, user: User | None) -> str:
    """What a failure counts against: the account when there is one (however it was spelt:
    email, username, phone or a look-alike), else the normalised identifier."""
    return f"user:{user.pk}" if user is not None else f"id:{_identifier_key(identifier)}"


def _backoff_waits(pairs: list[tuple[str, str]]) -> int:
    """The longest wait among (scope, key) back-offs; Redis down → 0 (documented fail-open:
    sign-in keeps working during a cache outage, Argon2 still prices each guess)."""
    try:
        return max((limits.backoff_wait(scope=scope, key=key) for scope, key in pairs), default=0)
    except CACHE_UNAVAILABLE:
        logger.warning("sign-in back-off not checked: the cache is unreachable")
        return 0


def _backoff_record(*, scope: str, key: str, free: int) -> None:
    try:
        limits.backoff_fail(
            scope=scope,
            key=key,
            free=free,
            base_seconds=settings.LOGIN_BACKOFF_BASE_SECONDS,
            cap_seconds=settings.LOGIN_LOCKOUT_SECONDS,
            window_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        )
    except CACHE_UNAVAILABLE:
        logger.warning("sign-in failure not counted: the cache is unreachable")


def login_backoff_key(*, identifier: str, source: str) -> str:
    """The sign-in back-off key for ``identifier`` from ``source`` (shared by the API and the admin)."""
    return f"{_login_subject(identifier, _find_by_identifier(identifier))}|{source}"


def login_backoff_wait(*, key: str, source: str) -> int:
    return _backoff_waits([(_LOGIN_SCOPE, key), (_LOGIN_SOURCE_SCOPE, f"source|{source}")])


def login_backoff_record_failure(*, key: str, source: str) -> None:
    _backoff_record(scope=_LOGIN_SCOPE, key=key, free=settings.LOGIN_MAX_FAILURES)
    _backoff_record(scope=_LOGIN_SOURCE_SCOPE, key=f"source|{source}", free=settings.LOGIN_MAX_FAILURES_PER_SOURCE)


def login_backoff_clear(*, key: str) -> None:
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        limits.backoff_clear(scope=_LOGIN_SCOPE, key=key, window_seconds=settings.LOGIN_LOCKOUT_SECONDS)


def user_authenticate(*, identifier: str, password: str, source: str = "") -> User:
    """Email, username or phone + password. One message for every kind of wrong.

    Failures are counted per account *and* source address: after ``LOGIN_MAX_FAILURES`` from
    one address, each further failure from there doubles the wait (``LOGIN_BACKOFF_BASE_SECONDS``
    up to ``LOGIN_LOCKOUT_SECONDS``), even for the right password (429 with Retry-After). The
    owner signing in from another address is not slowed by a stranger's guesses. One address
    failing on many accounts backs off the same way after ``LOGIN_MAX_FAILURES_PER_SOURCE``.
    """
    user = _find_by_identifier(identifier)
    pair_key = f"{_login_subject(identifier, user)}|{source}"
    wait = login_backoff_wait(key=pair_key, source=source)
    if wait:
        raise TooManyRequests(_("Too many failed sign-in attempts. Try again later."), wait=wait, code="login_locked")
    if user is None:
        User().set_password(password)  # same hashing cost as a real check: no timing oracle
        ok = False
    else:
        password_ok = user.check_password(password)
        if password_ok:
            _suspension_check(user)  # only the owner (right password) learns why
        ok = password_ok and user.is_active
    if not ok:
        login_backoff_record_failure(key=pair_key, source=source)
        logger.info("sign-in failed", extra={"user_id": str(user.pk) if user else None})
        raise Unauthorized(_("Invalid credentials."), code="invalid_credentials")
    login_backoff_clear(key=pair_key)
    if user is None:  # ok is only true for an account (for mypy: ``ok`` implies ``user``)
        raise Unauthorized(_("Invalid credentials."), code="invalid_credentials")
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login_at=now, last_login=now)
    user.last_login_at = user.last_login = now
    logger.info("signed in", extra={"user_id": str(user.pk)})
    return user


# --- One-time codes ----------------------------------------------------------------------


def _otp_target(*, phone: str | None, email: str | None) -> tuple[str, str]:
    """(kind, normalised identifier); exactly one of phone/email."""
    if bool(phone) == bool(email):
        raise ValidationError(_("Send either a phone number or an email."), code="phone_or_email")
    if phone:
        try:
            return "phone", normalize_phone(phone)
        except ValueError as exc:
            raise ValidationError(_("Enter a valid phone number."), code="invalid_phone", attr="phone") from exc
    return "email", (email or "").strip().lower()


def _otp_hash(identifier: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"otp:{identifier}:{code}".encode(), "sha256").hexdigest()


def _otp_key(identifier: str) -> str:
    return limits.cache_key("otp", limits.digest(identifier))


def _user_for_target(kind: str, identifier: str) -> User | None:
    qs = User.objects.filter(is_active=True)
    return (qs.filter(phone=identifier) if kind == "phone" else qs.filter(email__iexact=identifier)).first()


def sms_country_check(phone: str, *, attr: str = "phone") -> None:
    """Only numbers of ``SMS_ALLOWED_COUNTRIES`` get an SMS (SMS pumping to premium ranges abroad)."""
    if region_of(phone) not in settings.SMS_ALLOWED_COUNTRIES:
        raise ValidationError(
            _("Souk Loop cannot send text messages to this country's numbers yet."),
            code="phone_country_not_supported",
            attr=attr,
        )


def _spend_sms_budget(phone: str) -> None:
    """The platform-wide hourly SMS budget and one per number prefix (country code + 3 digits):
    a pumping run through many numbers stops at the budget, not at the invoice."""
    for identifier, limit in (("all", settings.SMS_MAX_PER_HOUR), (phone[:7], settings.SMS_MAX_PER_PREFIX_PER_HOUR)):
        spent = limits.hit(scope=_SMS_SCOPE, identifier=identifier, window_seconds=_HOUR)
        if spent.count > limit:
            logger.warning("SMS budget exhausted", extra={"budget": "platform" if identifier == "all" else "prefix"})
            raise TooManyRequests(
                _("We cannot send more codes right now. Try again later."),
                wait=spent.retry_after,
                code="sms_budget_exhausted",
            )


def _otp_rate_limit(*, scope: str, key: str, limit: int) -> None:
    sends = limits.hit(scope=scope, identifier=key, window_seconds=_HOUR)
    if sends.count > limit:
        raise TooManyRequests(
            _("Too many codes requested. Try again later."), wait=sends.retry_after, code="otp_rate_limited"
        )


@transaction.atomic
def otp_send(*, phone: str | None = None, email: str | None = None, source: str = "") -> None:
    """Send a fresh 6-digit code (the previous one dies).

    Counted per account (or identifier) *from this address*, ``OTP_MAX_SENDS_PER_HOUR``; per
    account from anywhere, three times that (a bound on how often one phone can be texted);
    per address over all identifiers, ``OTP_MAX_SENDS_PER_SOURCE_PER_HOUR``. So a stranger's
    three requests no longer block the owner's own. Unknown identifiers count exactly like
    accounts and get no message: the answer is the same either way. Needs the cache (Redis):
    unreachable → 503.
    """
    kind, identifier = _otp_target(phone=phone, email=email)
    if kind == "phone":
        sms_country_check(identifier)
    _otp_rate_limit(scope=_OTP_SEND_SOURCE_SCOPE, key=source, limit=settings.OTP_MAX_SENDS_PER_SOURCE_PER_HOUR)
    user = _user_for_target(kind, identifier)
    subject = f"user:{user.pk}" if user is not None else f"id:{identifier}"
    _otp_rate_limit(scope=_OTP_SEND_SCOPE, key=f"{subject}|{source}", limit=settings.OTP_MAX_SENDS_PER_HOUR)
    _otp_rate_limit(scope=_OTP_SEND_ACCOUNT_SCOPE, key=subject, limit=3 * settings.OTP_MAX_SENDS_PER_HOUR)
    if user is None:
        return
    if kind == "phone":
        _spend_sms_budget(identifier)
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = settings.OTP_TTL_SECONDS
    cache.set(
        _otp_key(identifier),
        {"hash": _otp_hash(identifier, code), "expires_at": time.time() + ttl, "nonce": secrets.token_hex(8)},
        timeout=ttl,
    )
    minutes = max(1, ttl // 60)
    with translation.override(user.language or settings.LANGUAGE_CODE):  # in their language
        body = _("Your Souk Loop code is %(code)s. It expires in %(minutes)d minutes. Never share it.") % {
            "code": code,
            "minutes": minutes,
        }
        subject_line = _("Your Souk Loop code")
    if kind == "phone":
        run_after_commit(tasks.send_sms, user.phone or "", body)
    else:
        run_after_commit(tasks.send_email, subject_line, body, [user.email])


@transaction.atomic
def otp_verify(*, code: str, phone: str | None = None, email: str | None = None) -> User:
    """Check a code in constant time; ``OTP_MAX_ATTEMPTS`` wrong tries burn it."""
    kind, identifier = _otp_target(phone=phone, email=email)
    invalid = ValidationError(_("The code is wrong or has expired."), code="otp_invalid", attr="otp_code")
    stored = cache.get(_otp_key(identifier))
    if not stored or stored["expires_at"] <= time.time():
        raise invalid
    attempts = limits.atomic_incr(
        limits.cache_key("otp_attempts", limits.digest(identifier), stored["nonce"]),
        timeout=settings.OTP_TTL_SECONDS + 60,
    )
    if attempts > settings.OTP_MAX_ATTEMPTS:
        cache.delete(_otp_key(identifier))
        raise invalid
    candidate = code.strip() if isinstance(code, str) else ""
    if not hmac.compare_digest(stored["hash"], _otp_hash(identifier, candidate)):
        if attempts >= settings.OTP_MAX_ATTEMPTS:
            cache.delete(_otp_key(identifier))
            raise ValidationError(_("Too many wrong codes. Request a new code."), code="otp_burnt", attr="otp_code")
        raise invalid
    user = _user_for_target(kind, identifier)
    if user is None:
        raise invalid
    cache.delete(_otp_key(identifier))  # single use
    User.objects.filter(pk=user.pk).update(is_verified=True, updated_at=timezone.now())
    user.is_verified = True
    return user


# --- Passwords ---------------------------------------------------------------------------

_reset_tokens = PasswordResetTokenGenerator()  # validity: PASSWORD_RESET_TIMEOUT (1 h here)


def password_reset_request(*, email: str) -> None:
    """Email a single-use reset token when the account exists; silent otherwise.

    Everything, the look-up included, happens off the request thread after it answers: the
    answer's timing no longer says whether the account exists (the SMTP round trip did)."""
    run_after_commit(tasks.password_reset_send, (email or "").strip(), translation.get_language())


def password_reset_send(email: str, language: str | None = None) -> None:
    """The reset email, if the account exists (``accounts.tasks.password_reset_send`` runs it)."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    token = f"{urlsafe_base64_encode(force_bytes(user.pk))}.{_reset_tokens.make_token(user)}"
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = _("Reset your Souk Loop password")
        body = _(
            "Someone asked to reset the password of your Souk Loop account.\n\n"
            "Your reset token: %(token)s\n\nIt works once, for %(minutes)d minutes. "
            "If this was not you, ignore this email."
        ) % {"token": token, "minutes": minutes}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set the new password; the token dies with the old password hash (single use)."""
    invalid = ValidationError(_("The reset link is invalid or has expired."), code="reset_token_invalid", attr="token")
    uid_b64, _sep, raw = (token or "").partition(".")
    try:
        uid = force_str(urlsafe_base64_decode(uid_b64))
        user = User.objects.select_for_update().filter(pk=uid, is_active=True).first()
    except (ValueError, TypeError, OverflowError, DjangoValidationError):
        user = None
    if user is None or not _reset_tokens.check_token(user, raw):
        raise invalid
    return _set_password_signing_out_everywhere(user, new_password)


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str) -> User:
    """A stolen access token must not become a password oracle: wrong current passwords back
    off like sign-in (after ``PASSWORD_CHANGE_MAX_FAILURES``, doubling waits, 429)."""
    key = f"user:{user.pk}"
    wait = _backoff_waits([(_PASSWORD_CHANGE_SCOPE, key)])
    if wait:
        raise TooManyRequests(_("Too many wrong passwords. Try again later."), wait=wait, code="password_change_locked")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(current_password):
        _backoff_record(scope=_PASSWORD_CHANGE_SCOPE, key=key, free=settings.PASSWORD_CHANGE_MAX_FAILURES)
        raise ValidationError(_("The current password is wrong."), code="wrong_password", attr="current_password")
    with contextlib.suppress(*CACHE_UNAVAILABLE):
        limits.backoff_clear(scope=_PASSWORD_CHANGE_SCOPE, key=key, window_seconds=settings.LOGIN_LOCKOUT_SECONDS)
    return _set_password_signing_out_everywhere(user, new_password)


def _set_password_signing_out_everywhere(user: User, new_password: str) -> User:
    _check_password(new_password, user=user, attr="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    tokens_revoke_all(user=user)
    logger.info("password changed, signed out everywhere", extra={"user_id": str(user.pk)})
    return user


def user_set_verification_status(*, user_id: Any, status: str) -> None:
    """Verification decides; accounts owns the profile field it shows (one owner per rule)."""
    User.objects.filter(pk=user_id).update(verification_status=status, updated_at=timezone.now())
    logger.info("verification status set", extra={"user_id": str(user_id), "status": status})


def user_set_payout_account(*, user_id: Any, stripe_account_id: str, onboarded: bool) -> None:
    """Payments knows the seller's Stripe account; accounts owns the profile fields it shows."""
    User.objects.filter(pk=user_id).update(
        stripe_connect_account_id=stripe_account_id, stripe_onboarded=onboarded, updated_at=timezone.now()
    )


@transaction.atomic
def user_suspend(*, user: User, by: User, reason: str, days: int) -> User:
    """Suspend ``user`` for ``days`` (1-3650) with a reason they are told: inactive at once, every
    session and token dead (the API refuses inactive users' access tokens), audited by the caller."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the account is suspended."), code="reason_required", attr="reason")
    if not 1 <= days <= 3650:
        raise ValidationError(_("Suspend for 1 to 3650 days."), code="invalid_duration", attr="days")
    if user.is_staff or user.is_superuser:
        raise PermissionDenied(_("Staff accounts are suspended by a superuser."), code="staff_account")
    until = timezone.now() + timedelta(days=days)
    User.objects.filter(pk=user.pk).update(
        is_active=False, suspended_until=until, suspension_reason=reason[:300], updated_at=timezone.now()
    )
    tokens_revoke_all(user=user)
    user.is_active, user.suspended_until, user.suspension_reason = False, until, reason[:300]
    logger.info("account suspended", extra={"user_id": str(user.pk), "moderator_id": str(by.pk), "days": days})
    email, body = (
        user.email,
        _("Your Souk Loop account is suspended until %(until)s: %(reason)s")
        % {
            "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M"),
            "reason": reason,
        },
    )
    run_after_commit(tasks.send_email, str(_("Your Souk Loop account is suspended")), str(body), [email])
    return user


def _suspension_check(user: User) -> None:
    """Right password of a suspended account: lift an expired suspension, else say why (403)."""
    if user.suspended_until is None:
        return
    if user.suspended_until <= timezone.now():
        User.objects.filter(pk=user.pk).update(is_active=True, suspended_until=None, suspension_reason="")
        user.is_active, user.suspended_until, user.suspension_reason = True, None, ""
        return
    raise PermissionDenied(
        _("This account is suspended until %(until)s: %(reason)s")
        % {"until": user.suspended_until.strftime("%Y-%m-%d %H:%M UTC"), "reason": user.suspension_reason},
        code="account_suspended",
    )


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Sign the person out everywhere; their refresh tokens answer 401 from now on."""
    User.objects.filter(pk=user.pk).update(is_active=False, updated_at=timezone.now())
    tokens_revoke_all(user=user)
    logger.info("account deactivated", extra={"user_id": str(user.pk)})


# --- Profile -----------------------------------------------------------------------------


@transaction.atomic
def user_update_profile(*, user: User, **changes: Any) -> User:
    """Only ``PROFILE_FIELDS``; anything else is ignored, ``role`` never becomes admin."""
    fields = [name for name in PROFILE_FIELDS if name in changes]
    if "role" in fields and changes["role"] not in SELF_ASSIGNABLE_ROLES:
        raise ValidationError(_("Choose buyer, seller or both."), code="invalid_role", attr="role")
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        user.save(update_fields=[*fields, "updated_at"])
    return user


@transaction.atomic
def user_set_location(
    *,
    user: User,
    latitude: float,
    longitude: float,
    neighborhood: str | None = None,
    building_name: str | None = None,
) -> User:
    try:
        lat, lng = validate_lat_lng(latitude, longitude)
    except ValueError as exc:
        field = str(exc) if str(exc) in ("latitude", "longitude") else "latitude"
        raise ValidationError(_("Coordinates are out of range."), code="invalid_coordinates", attr=field) from exc
    user.location = make_point(latitude=lat, longitude=lng)
    fields = ["location", "updated_at"]
    if neighborhood is not None:
        user.neighborhood = neighborhood
        fields.append("neighborhood")
    if building_name is not None:
        user.building_name = building_name
        fields.append("building_name")
    user.save(update_fields=fields)
    return user


# --- Follows and blocks ------------------------------------------------------------------


def _blocked_either_way(a: User, b: User) -> bool:
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


@transaction.atomic
def follow_create(*, follower: User, following: User) -> None:
    """Idempotent. Following someone in a block with you looks like they are not there."""
    if follower.pk == following.pk:
        raise ValidationError(_("You cannot follow yourself."), code="cannot_follow_self")
    if _blocked_either_way(follower, following):
        raise NotFound()
    try:
        with transaction.atomic():
            Follow.objects.get_or_create(follower=follower, following=following)
    except IntegrityError:
        pass  # a simultaneous identical follow won; the end state is the same


@transaction.atomic
def follow_delete(*, follower: User, following: User) -> None:
    if follower.pk == following.pk:
        raise ValidationError(_("You cannot unfollow yourself."), code="cannot_follow_self")
    Follow.objects.filter(follower=follower, following=following).delete()


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> None:
    """Idempotent; also ends follows both ways."""
    if blocker.pk == blocked.pk:
        raise ValidationError(_("You cannot block yourself."), code="cannot_block_self")
    try:
        with transaction.atomic():
            Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    except IntegrityError:
        pass
    Follow.objects.filter(Q(follower=blocker, following=blocked) | Q(follower=blocked, following=blocker)).delete()
    # Open sockets of both sides re-check what they follow: a conversation between the two, or
    # the blocker's live show, ends for them at once (realtime).
    for user in (blocker, blocked):
        events.publish("user.access_changed", channel=f"user:{user.pk}", data={"user_id": str(user.pk)})


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> None:
    if blocker.pk == blocked.pk:
        raise ValidationError(_("You cannot unblock yourself."), code="cannot_block_self")
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


# --- Housekeeping ------------------------------------------------------------------------

# Reverse relations that mean a person has a history here; named, never imported.
HISTORY_RELATIONS = (
    "products",
    "messages_sent",
    "purchases",
    "sales",
    "buying_conversations",
    "selling_conversations",
    "offers_made",
    "offers_received",
    "verifications",
    "streams",
)


def purgeable_users(*, days: int) -> QuerySet[User]:
    """Never-verified, non-staff accounts older than ``days`` with no history at all."""
    qs = User.objects.filter(
        is_verified=False,
        is_staff=False,
        is_superuser=False,
        created_at__lt=timezone.now() - timedelta(days=days),
    )
    for name in HISTORY_RELATIONS:
        try:
            remote = User._meta.get_field(name)
        except FieldDoesNotExist:  # an app that is not installed has no history to keep
            continue
        model, field_name = remote.related_model, getattr(remote, "field", None)
        if not isinstance(model, type) or field_name is None:
            continue
        qs = qs.filter(~Exists(model._default_manager.filter(**{field_name.name: OuterRef("pk")})))  # type: ignore[attr-defined]
    return qs


@transaction.atomic
def users_purge_unverified(*, days: int) -> int:
    """Delete what ``purgeable_users`` selects, rows locked so a new listing cannot race it."""
    ids = list(purgeable_users(days=days).select_for_update().values_list("pk", flat=True))
    if ids:
        # Re-applies the history filters on the locked rows inside the same transaction.
        purgeable_users(days=days).filter(pk__in=ids).delete()
    return len(ids)


def user_stats_set_rating(*, user_id: Any, rating: Decimal | None, rating_count: int) -> None:
    """Store a person's rating (computed by the reviews app) on their stats row; call it inside
    the transaction that changed the reviews."""
    UserStats.objects.update_or_create(user_id=user_id, defaults={"rating": rating, "rating_count": rating_count})


def user_stats_add_upheld_claim(*, user_id: Any) -> None:
    """One more claim against this seller ended with money back to the buyer."""
    stats, _created = UserStats.objects.get_or_create(user_id=user_id)
    UserStats.objects.filter(pk=stats.pk).update(claims_upheld_count=F("claims_upheld_count") + 1)
