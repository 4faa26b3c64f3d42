"""Users, roles and the organisation (regions and branches) that scope what people see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code, e.g. CNY."))


def base_currency() -> str:
    """The company's base currency (``PATRON_BASE_CURRENCY``): every total is kept in it."""
    from django.conf import settings

    return str(settings.PATRON_BASE_CURRENCY)


class CurrencyField(models.CharField):
    """An ISO 4217 code stored beside every money amount; the base currency unless given."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", base_currency)
        kwargs.setdefault("validators", [currency_validator])
        super().__init__(*args, **kwargs)


class MoneyField(models.DecimalField):
    """Money is Decimal in the database; analytics may convert to float."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("default", 0)
        super().__init__(*args, **kwargs)


class RateField(models.DecimalField):
    """An exchange rate: units of the base currency for one unit of another currency.

    Ten decimal places keep seven significant digits even for rates like 0.000287 (VND → CNY).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 10)
        super().__init__(*args, **kwargs)


class ExternalIdField(models.CharField[str | None, str | None]):
    """The id a record has in the system it came from; unique, so imports can upsert on it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("verbose_name", _("external id"))
        super().__init__(*args, **kwargs)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class Region(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class Branch(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="branches", verbose_name=_("region"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    REP = "rep", _("Sales rep")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    CX = "cx", _("CX agent")
    MARKETER = "marketer", _("Marketer")
    ANALYST = "analyst", _("Analyst")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.REP)
    # A manager sees the customers of these branches and of every branch in these regions.
    branches = models.ManyToManyField(Branch, blank=True, related_name="managers", verbose_name=_("branches"))
    regions = models.ManyToManyField(Region, blank=True, related_name="managers", verbose_name=_("regions"))
    # Whom overdue follow-ups escalate to.
    reports_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports", verbose_name=_("reports to")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 hash of the token is stored.

    A token acts as its user: it sees and changes exactly what the user may in the web app.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix = models.CharField(_("prefix"), max_length=12)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditSource(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    CLI = "cli", _("Command line")
    IMPORT = "import", _("Import")
    WORKER = "worker", _("Worker")
    SYSTEM = "system", _("System")


class AuditAppendOnlyError(Exception):
    """An audit entry was to be changed or deleted: the log is append-only."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise AuditAppendOnlyError("audit entries cannot be changed")

    def delete(self):  # type: ignore[no-untyped-def]
        raise AuditAppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """Who changed what and when. Append-only: refused in Python here and by database triggers
    (migration core 0003) for UPDATE and DELETE.

    Ids are plain integers, not foreign keys: an entry outlives what it names (a merged customer,
    a deleted user), and no constraint ties the table to others, so emptying the database
    (TRUNCATE on PostgreSQL) needs no cascade.
    """

    at = models.DateTimeField(_("when"), db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    source = models.CharField(_("source"), max_length=10, choices=AuditSource.choices)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    customer_id = models.BigIntegerField(_("customer id"), null=True, blank=True, db_index=True)
    # {field: [old, new]} for a change; counts and id ranges for a batch.
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise AuditAppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AuditAppendOnlyError("audit entries cannot be deleted")


class WorkerHeartbeat(models.Model):
    """When each ``patron worker`` last said it was alive (``core.workers.heartbeat``); ``/healthz``
    reports the newest one's age, so a monitor notices when no worker runs."""

    worker = models.CharField(_("worker"), max_length=64, unique=True)  # core.workers.worker_id
    started_at = models.DateTimeField(_("started"))
    beat_at = models.DateTimeField(_("last heartbeat"), db_index=True)

    class Meta:
        ordering = ["-beat_at"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.worker
