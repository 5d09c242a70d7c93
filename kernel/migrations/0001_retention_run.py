"""The record of retention runs, append-only at the database (``kernel.dbroles`` finds the
trigger by its name and gives the application role INSERT and SELECT only)."""

from django.db import migrations, models

APPEND_ONLY_SQL = """
CREATE FUNCTION kernel_retentionrun_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'retention runs are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kernel_retentionrun_append_only
    BEFORE UPDATE OR DELETE ON kernel_retentionrun
    FOR EACH ROW EXECUTE FUNCTION kernel_retentionrun_append_only();
"""
DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS kernel_retentionrun_append_only ON kernel_retentionrun;
DROP FUNCTION IF EXISTS kernel_retentionrun_append_only();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RetentionRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("job", models.CharField(max_length=60, verbose_name="job")),
                ("started_at", models.DateTimeField(verbose_name="started at")),
                ("finished_at", models.DateTimeField(verbose_name="finished at")),
                ("cutoff_now", models.DateTimeField(verbose_name="counted from")),
                ("counts", models.JSONField(default=dict, verbose_name="counts")),
            ],
            options={
                "verbose_name": "retention run",
                "verbose_name_plural": "retention runs",
                "ordering": ["-started_at"],
                "indexes": [models.Index(fields=["job", "-started_at"], name="retention_run_latest")],
            },
        ),
        migrations.RunSQL(APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL),
    ]
