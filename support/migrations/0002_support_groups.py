"""The two staff groups, with least privilege. Permissions are created here rather than left
to post_migrate, so the groups are complete on the first migrate of a new database.

Support: the review desk (queue, detail with masked data, licences), notes, resetting attempt
counters, re-running provider checks, approving and rejecting licences.
Support lead: all of that, plus revealing full personal data and reading the audit log."""

from django.db import migrations

SUPPORT = [
    ("support", "view_reviewqueue"),
    ("support", "review_licence"),
    ("support", "reset_attempts"),
    ("support", "rerun_check"),
    ("support", "add_staffnote"),
    ("support", "view_staffnote"),
]
SUPPORT_LEAD = [
    *SUPPORT,
    ("support", "reveal_personal_data"),
    ("support", "view_auditentry"),
    ("enterprise", "view_licenceaccess"),
]
GROUPS = {"Support": SUPPORT, "Support lead": SUPPORT_LEAD}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True  # historical configs have none
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codenames
        ]
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_review_desk"),
        ("enterprise", "0002_provider_queue_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
