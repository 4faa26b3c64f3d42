"""Surveys, invitations, responses, the closed loop (follow-ups), key-account reviews and the
contact log that enforces survey fatigue (and, later, the campaigns' contact budget)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patron.core.models import Branch, TimeStampedModel
from patron.customers.models import Contact, Customer
from patron.feedback.reasons import reason_label

LANGUAGE_CHOICES = [("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文")]


def _public_key() -> str:
    return secrets.token_urlsafe(12)


def _nonce() -> str:
    return secrets.token_urlsafe(6)


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0–10)")
    CSAT = "csat", _("Customer satisfaction (1–5)")
    CES = "ces", _("Customer effort (1–7)")


# Inclusive score range of each kind, and the bounds of its three classes
# (detractor up to the first bound, promoter from the second).
SCORE_RANGE = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}
CLASS_BOUNDS = {SurveyKind.NPS: (6, 9), SurveyKind.CSAT: (2, 4), SurveyKind.CES: (3, 6)}


class ScoreClass(models.TextChoices):
    DETRACTOR = "detractor", _("Detractor")
    PASSIVE = "passive", _("Passive")
    PROMOTER = "promoter", _("Promoter")


def score_class(kind: str, score: int) -> str:
    low, high = CLASS_BOUNDS[SurveyKind(kind)]
    if score <= low:
        return ScoreClass.DETRACTOR
    if score >= high:
        return ScoreClass.PROMOTER
    return ScoreClass.PASSIVE


class Purpose(models.TextChoices):
    RELATIONSHIP = "relationship", _("Relationship (periodic)")
    TRANSACTIONAL = "transactional", _("Transactional (after a touchpoint)")


class Touchpoint(models.TextChoices):
    RELATIONSHIP = "relationship", _("Relationship")
    PURCHASE = "purchase", _("Purchase")
    DELIVERY = "delivery", _("Delivery")
    CLAIM = "claim", _("Claim")
    RETURN = "return", _("Return")
    SUPPORT = "support", _("Support ticket")
    CALL_CENTRE = "call_centre", _("Call centre")
    AGENT_VISIT = "agent_visit", _("Agent visit")
    BRANCH = "branch", _("Branch")
    WEB = "web", _("Web")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    """How an invitation reached the person, or how an answer came in."""

    EMAIL = "email", _("Email")
    LINK = "link", _("Public link / QR code")
    KIOSK = "kiosk", _("Kiosk")
    API = "api", _("API")


class Survey(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices, default=SurveyKind.NPS)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.RELATIONSHIP)
    touchpoint = models.CharField(
        _("touchpoint"), max_length=20, choices=Touchpoint.choices, default=Touchpoint.RELATIONSHIP
    )
    # What respondents see as the survey's heading, per language; empty falls back to English, then name.
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_zh_hans = models.CharField(_("title (Simplified Chinese)"), max_length=200, blank=True)
    title_zh_hant = models.CharField(_("title (Traditional Chinese)"), max_length=200, blank=True)
    allow_comment = models.BooleanField(_("ask for a comment"), default=True)
    # Short surveys get answered; only an administrator may lift the four-question limit.
    allow_more_questions = models.BooleanField(
        _("allow more than four questions"), default=False, help_text=_("Administrators only.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The unguessable part of the public link and QR codes.
    public_key = models.CharField(_("public key"), max_length=24, unique=True, default=_public_key, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["-is_active", "name", "id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return self.name

    def title_for(self, language: str) -> str:
        if language == "zh-hant":
            title = self.title_zh_hant or self.title_zh_hans
        elif language == "zh-hans":
            title = self.title_zh_hans or self.title_zh_hant
        else:
            title = ""
        return title or self.title_en or self.name

    @property
    def score_range(self) -> tuple[int, int]:
        return SCORE_RANGE[SurveyKind(self.kind)]


class Question(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", _("Net Promoter Score (0–10)")
        CSAT = "csat", _("Customer satisfaction (1–5)")
        CES = "ces", _("Customer effort (1–7)")
        TEXT = "text", _("Free text")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey"))
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text_en = models.CharField(_("text (English)"), max_length=300)
    text_zh_hans = models.CharField(_("text (Simplified Chinese)"), max_length=300, blank=True)
    text_zh_hant = models.CharField(_("text (Traditional Chinese)"), max_length=300, blank=True)

    class Meta:
        ordering = ["survey", "position"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [models.UniqueConstraint(fields=["survey", "position"], name="question_unique_position")]

    def __str__(self) -> str:
        return self.text_en

    def text_for(self, language: str) -> str:
        if language == "zh-hant":
            return self.text_zh_hant or self.text_zh_hans or self.text_en
        if language == "zh-hans":
            return self.text_zh_hans or self.text_zh_hant or self.text_en
        return self.text_en

    @property
    def score_range(self) -> tuple[int, int] | None:
        return SCORE_RANGE.get(SurveyKind(self.kind)) if self.kind != self.Kind.TEXT else None


class Trigger(TimeStampedModel):
    """A touchpoint event that invites the customer to a transactional survey after a delay."""

    class Event(models.TextChoices):
        ORDER = "order", _("Order")
        COST_EVENT = "cost_event", _("Cost-to-serve event (claim, return, ticket, delivery, visit)")
        INTERACTION = "interaction", _("Interaction (call, visit, complaint, …)")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers", verbose_name=_("survey"))
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    # The order's channel, the cost event's kind or the interaction's channel; empty matches any.
    match = models.CharField(
        _("only when"), max_length=20, blank=True,
        help_text=_("Order channel, cost event kind or interaction channel; empty for any."),
    )
    delay_hours = models.PositiveIntegerField(_("delay (hours)"), default=24)
    sampling_rate = models.DecimalField(
        _("sampling rate"), max_digits=4, decimal_places=3, default=1,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Share of matching events that lead to an invitation, from 0 to 1."),
    )
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["survey", "event", "id"]
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_rate__gte=0, sampling_rate__lte=1),
                name="trigger_sampling_rate_0_to_1",
                violation_error_message=_("The sampling rate is a share from 0 to 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} ← {self.get_event_display()} {self.match}".strip()


class Invitation(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("survey"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("contact")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en")
    email = models.EmailField(_("email"), blank=True)
    # Part of the signed token: changing it revokes every link sent so far.
    nonce = models.CharField(_("nonce"), max_length=16, default=_nonce, editable=False)
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations", verbose_name=_("trigger")
    )
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("branch")
    )
    source = models.CharField(_("source"), max_length=60, blank=True, help_text=_("The event that led to it."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Committed right before the mail server can accept the message (core.mail): from then on
    # the invitation is not sent again, even if the worker dies before it records sent_at.
    handed_over_at = models.DateTimeField(_("handed to the mail server"), null=True, blank=True, editable=False)
    send_error = models.CharField(_("sending error"), max_length=300, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["customer", "-created_at"]), models.Index(fields=["survey", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer}"


class Response(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("survey"))
    # Empty for anonymous answers from the public link or a kiosk.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="survey_responses",
        verbose_name=_("customer"),
    )
    # One response per invitation, enforced by the database whatever the concurrency.
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response",
        verbose_name=_("invitation"),
    )
    score = models.SmallIntegerField(_("score"))
    score_class = models.CharField(_("score class"), max_length=10, choices=ScoreClass.choices)
    answers = models.JSONField(_("other answers"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en")
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("branch")
    )
    created_at = models.DateTimeField(_("answered at"), default=timezone.now)
    comment_at = models.DateTimeField(_("comment changed"), null=True, blank=True)
    # A keyed hash of the client address: lets floods be traced without storing addresses.
    source_ip_hash = models.CharField(_("source address (hashed)"), max_length=64, blank=True)
    # The comment's analysis (patron.analytics.text), written with the comment: sentiment in
    # [-1, 1], empty without a comment; theme codes as ",price,delivery," so the root-cause view
    # counts a theme in the database with one LIKE (see feedback.comments).
    sentiment = models.FloatField(_("comment sentiment"), null=True, blank=True)
    themes = models.CharField(_("comment themes"), max_length=400, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["survey", "-created_at"]),
            models.Index(fields=["-created_at"]),
        ]
        constraints = [
            # Every kind's scale lies within 0..10 (NPS 0-10, CSAT 1-5, CES 1-7).
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=10),
                name="response_score_0_to_10",
                violation_error_message=_("A score is a whole number from 0 to 10."),
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="response_sentiment_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey}: {self.score}"


class FollowUpRule(TimeStampedModel):
    """Besides every detractor, a response matching an active rule opens a follow-up.

    All the conditions set on a rule must hold: score at most ``max_score``, a keyword found in
    the comment, sentiment below ``sentiment_below`` (needs a sentiment function).
    """

    name = models.CharField(_("name"), max_length=100)
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.CASCADE, related_name="rules", verbose_name=_("survey"),
        help_text=_("Empty for every survey."),
    )
    max_score = models.SmallIntegerField(_("score at most"), null=True, blank=True)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("One per line or comma-separated; any of them in the comment matches.")
    )
    sentiment_below = models.FloatField(
        _("sentiment below"), null=True, blank=True, validators=[MinValueValidator(-1), MaxValueValidator(1)],
        help_text=_("From -1 (negative) to 1 (positive)."),
    )
    sla_hours = models.PositiveIntegerField(_("SLA (hours)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_score__isnull=True) | Q(max_score__gte=0, max_score__lte=10),
                name="followuprule_max_score_0_to_10",
                violation_error_message=_("A score is a whole number from 0 to 10."),
            ),
            models.CheckConstraint(
                condition=Q(sentiment_below__isnull=True) | Q(sentiment_below__gte=-1, sentiment_below__lte=1),
                name="followuprule_sentiment_range",
                violation_error_message=_("Sentiment goes from -1 (negative) to 1 (positive)."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        raw = self.keywords.replace("，", ",").replace("\n", ",")
        return [k.strip().lower() for k in raw.split(",") if k.strip()]


class FollowUp(models.Model):
    class RootCause(models.TextChoices):
        PRODUCT = "product", _("Product")
        SERVICE = "service", _("Service")
        DELIVERY = "delivery", _("Delivery")
        PRICE = "price", _("Price")
        STAFF = "staff", _("Staff")
        PROCESS = "process", _("Process / policy")
        COMMUNICATION = "communication", _("Communication")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("Resolved")
        PARTLY = "partly", _("Partly resolved")
        NOT_RESOLVED = "not_resolved", _("Not resolved")
        NO_REACH = "no_reach", _("Could not reach the customer")

    response = models.OneToOneField(
        Response, on_delete=models.CASCADE, related_name="follow_up", verbose_name=_("response")
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("customer"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        verbose_name=_("owner"),
    )
    reason = models.CharField(_("reason"), max_length=200)
    rule = models.ForeignKey(
        FollowUpRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("rule")
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    due_at = models.DateTimeField(_("first contact due"))
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    # Set by the periodic job that emails the owner (services.follow_up_alerts_send).
    alerted_at = models.DateTimeField(_("owner alerted"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("escalated to"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("closed by"),
    )
    root_cause = models.CharField(_("root cause"), max_length=20, choices=RootCause.choices, blank=True)
    action_taken = models.TextField(_("action taken"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    customer_message = models.TextField(_("message to the customer"), blank=True)
    customer_notified_at = models.DateTimeField(_("customer told"), null=True, blank=True)

    class Meta:
        ordering = ["closed_at", "due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["owner", "closed_at", "due_at"]),
            models.Index(fields=["customer", "-opened_at"]),
            models.Index(fields=["closed_at", "due_at"]),
            # The alert job's queue: only the few follow-ups not alerted yet are in it.
            models.Index(fields=["id"], name="feedback_followup_to_alert", condition=Q(alerted_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(due_at__gte=F("opened_at")), name="followup_due_not_before_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.reason}"

    @property
    def reason_label(self) -> str:
        """The reason in the reader's language (it is stored in English: feedback.reasons)."""
        return reason_label(self.reason)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def is_overdue(self, now=None) -> bool:
        """Overdue: nobody has contacted the customer and the SLA has passed."""
        return self.closed_at is None and self.first_contact_at is None and self.due_at < (now or timezone.now())

    @property
    def within_sla(self) -> bool | None:
        if self.first_contact_at is None:
            return None
        return self.first_contact_at <= self.due_at


class Review(models.Model):
    """The quarterly dialogue with a key account: one per account and quarter."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("customer"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews",
        verbose_name=_("owner"),
    )
    quarter = models.CharField(_("quarter"), max_length=7)  # "2026Q3"
    due_at = models.DateTimeField(_("due"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Where the review sits on the timeline: when it was planned, then when it was held.
    at = models.DateTimeField(_("date"), default=timezone.now)
    nps = models.SmallIntegerField(
        _("NPS given"), null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    notes = models.TextField(_("notes"), blank=True)
    done_at = models.DateTimeField(_("held"), null=True, blank=True)

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        verbose_name = _("key-account review")
        verbose_name_plural = _("key-account reviews")
        constraints = [
            models.UniqueConstraint(fields=["customer", "quarter"], name="review_unique_quarter"),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__gte=0, nps__lte=10),
                name="review_nps_0_to_10",
                violation_error_message=_("A score is a whole number from 0 to 10."),
            ),
        ]
        indexes = [models.Index(fields=["owner", "done_at"]), models.Index(fields=["customer", "-at"])]

    def __str__(self) -> str:
        return f"{self.customer} {self.quarter}"


class ContactPurpose(models.TextChoices):
    SURVEY = "survey", _("Survey")
    CAMPAIGN = "campaign", _("Campaign")


class ContactLog(models.Model):
    """Every time we reach out to a person; the one record the contact budget is counted on."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_log", verbose_name=_("customer"))
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    channel = models.CharField(_("channel"), max_length=20)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ContactPurpose.choices)
    ref = models.CharField(_("reference"), max_length=60, blank=True)
    contacted_at = models.DateTimeField(_("contacted"), default=timezone.now)

    class Meta:
        ordering = ["-contacted_at", "-id"]
        verbose_name = _("contact record")
        verbose_name_plural = _("contact records")
        indexes = [models.Index(fields=["customer", "purpose", "-contacted_at"])]

    def __str__(self) -> str:
        return f"{self.customer} {self.purpose} {self.channel}"


class ContactRule(TimeStampedModel):
    """A contact budget: at most ``max_contacts`` in ``window_days`` per person (per purpose/channel)."""

    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=ContactPurpose.choices, blank=True, help_text=_("Empty for any purpose.")
    )
    channel = models.CharField(_("channel"), max_length=20, blank=True, help_text=_("Empty for any channel."))
    max_contacts = models.PositiveIntegerField(_("at most"))
    window_days = models.PositiveIntegerField(_("in days"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("contact budget rule")
        verbose_name_plural = _("contact budget rules")

    def __str__(self) -> str:
        return self.name


class NpsFigures(models.Model):
    """The NPS page's default figures (no filter), precomputed by ``nps_refresh``.

    One ``total`` row over every NPS answer (read by the roles that see every customer), one
    ``slice`` row per (owner, branch, region) of the answering customers, one ``pair`` row per
    (branch, region) with every owner (``owner_id`` empty), and one ``anonymous`` row for answers
    without a customer. Figures are counts and sums that add up (``insights.nps_figures``), so a
    manager's or rep's page is the sum of the rows their ``customer_scope`` selects (same field
    names as ``Customer``; see ``nps_selectors.precomputed``). All rows are replaced together.
    """

    class Kind(models.TextChoices):
        TOTAL = "total", _("Every answer")
        SLICE = "slice", _("Customers of one owner, branch and region")
        PAIR = "pair", _("Customers of one branch and region")
        ANONYMOUS = "anonymous", _("Anonymous answers")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    owner_id = models.BigIntegerField(null=True)
    branch_id = models.BigIntegerField(null=True)
    region_id = models.BigIntegerField(null=True)
    figures = models.JSONField(_("figures"), default=dict)
    computed_at = models.DateTimeField(_("computed"))
    # What the figures were computed from (answers counted, last answer id, last scoring run), on
    # the total row: the periodic refresh skips the work while it is unchanged.
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("NPS figures")
        verbose_name_plural = _("NPS figures")
        indexes = [models.Index(fields=["kind", "owner_id"]), models.Index(fields=["kind", "branch_id"])]

    def __str__(self) -> str:
        return f"NPS {self.kind} {self.owner_id}/{self.branch_id}/{self.region_id}"
