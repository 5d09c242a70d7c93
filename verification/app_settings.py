"""Settings of the verification app: ``VERIFICATION_<NAME>`` (how they are read: ``kernel.app_settings``)."""

from __future__ import annotations

from kernel.app_settings import AppSettings, Setting


class VerificationSettings(AppSettings):
    prefix = "VERIFICATION_"

    PROVIDERS = Setting(
        list,
        lambda: ["sandbox"],
        "The identity providers, in order of preference: built-in names (``sandbox``, "
        "``aliyun``, ``tencent``, ``alipay``) or dotted paths of ``BaseProvider`` classes. "
        "Environment: ``VERIFICATION_PROVIDERS=aliyun,tencent,alipay``.",
        formerly="VERIFICATION_PROVIDER",
    )
    ROUTES = Setting(
        dict,
        dict,
        "Per document type (or ``enterprise``), the ordered providers that may take it, e.g. "
        '``{"cn_resident_id": ["aliyun", "tencent"], "tw_travel_permit": ["alipay"]}``; a '
        "type not named goes to every configured provider covering it. Environment: "
        "``VERIFICATION_ROUTES=cn_resident_id=aliyun+tencent;tw_travel_permit=alipay``.",
    )
    CIRCUIT_FAILURES = Setting(
        int,
        5,
        "Transient failures in a row (timeouts, 5xx, throttling) after which the router sends "
        "new verifications to the next provider of the route.",
    )
    CIRCUIT_COOL_DOWN = Setting(
        int,
        60,
        "Seconds a tripped provider is passed over; then one new verification tries it again.",
    )
    MAX_ATTEMPTS_PER_DAY = Setting(
        int, 5, "Verification attempts a user may start in 24 hours before being locked out."
    )
    MINIMUM_AGE = Setting(int, 18, "Real-name authentication is for adults only.")
    PROVIDER_RETRY_WINDOW = Setting(
        int,
        30 * 60,
        "Seconds a provider step is retried after a transient error (timeout, 5xx, throttling), "
        "counted from the step's first failure, before the verification stops in ``error`` for "
        "support staff: a vendor outage shorter than this is waited out. Environment: "
        "``VERIFICATION_PROVIDER_RETRY_WINDOW``.",
        formerly="VERIFICATION_PROVIDER_MAX_RETRIES",
    )
    PROVIDER_RETRY_BACKOFF = Setting(
        float,
        2.0,
        "Base, in seconds, of the exponential backoff (with jitter): retries wait about 1, 2, "
        "4... times it, up to ``PROVIDER_RETRY_BACKOFF_MAX``.",
    )
    PROVIDER_RETRY_BACKOFF_MAX = Setting(
        int,
        60,
        "Cap, in seconds, of the exponential backoff between retries. Keep it below "
        "``STUCK_AFTER`` minus a call's timeout (checked: verification.E004).",
    )
    FACE_SESSION_GRACE = Setting(
        int,
        5 * 60,
        "Seconds, beyond the provider's face session lifetime (its ``face_session_seconds``), "
        "after which a session the provider still calls unfinished is recorded as expired "
        '(``liveness_expired``) so the person can start again: Aliyun answers "not '
        'finished" for ever after an abandoned session.',
    )
    FACE_SESSION_RESTARTS = Setting(
        int,
        3,
        "New face sessions a person may start themselves when the provider no longer knows "
        "theirs (expired or lost on its side); after that the verification stops in ``error`` "
        "and support staff restart it.",
    )
    STUCK_AFTER = Setting(
        int,
        120,
        "Seconds after which the sweeper re-enqueues a verification still waiting for a worker.",
    )

    # --- retention (verification.retention; the privacy policy states these periods) ---------
    RETENTION_FAILED_DAYS = Setting(
        int,
        30,
        "Days after a failed verification ends before its personal values (name, document "
        "number, date of birth, the provider's result details) are erased; status, reason, "
        "document type, provider and dates stay for the rules and support staff. Environment: "
        "``VERIFICATION_RETENTION_FAILED_DAYS``.",
    )
    RETENTION_ABANDONED_DAYS = Setting(
        int,
        30,
        "Days a verification may stay in progress untouched (the person never finished the "
        "face step) before it is ended as abandoned (``liveness_expired``) and its personal "
        "values are erased at once. Environment: ``VERIFICATION_RETENTION_ABANDONED_DAYS``.",
    )
    RETENTION_BATCH_SIZE = Setting(
        int,
        500,
        "Rows each retention transaction changes: a large purge runs as many short "
        "transactions, and stopping it loses nothing.",
    )


app_settings = VerificationSettings()
