"""Usernames and emails unique once folded (NFKC and case folding) instead of by SQL's LOWER(),
which PostgreSQL and SQLite apply differently: folded copies of both, filled here for the
accounts that exist, with a unique index each."""

from django.db import migrations, models

from accounts.models import fold

USERNAME_FOLDED_MAX_LENGTH = 300
EMAIL_FOLDED_MAX_LENGTH = 508


def fill_folded_names(apps, schema_editor):
    """Folds every account's names. Two existing accounts whose names fold alike (possible on
    SQLite, whose LOWER() is ASCII-only) both stay: the older keeps the name, the newer's copy
    is marked with its id, which no login can type (names have no spaces), so it keeps
    signing in by its other name and can choose a free one on its profile."""
    User = apps.get_model("accounts", "User")
    seen: dict[str, set[str]] = {"username_folded": set(), "email_folded": set()}
    limits = {
        "username_folded": USERNAME_FOLDED_MAX_LENGTH,
        "email_folded": EMAIL_FOLDED_MAX_LENGTH,
    }
    for user in User.objects.order_by("pk").only("pk", "username", "email").iterator():
        values = {"username_folded": fold(user.username), "email_folded": fold(user.email or "")}
        for field, value in values.items():
            if value in seen[field] or len(value) > limits[field]:
                mark = f" #{user.pk}"
                value = value[: limits[field] - len(mark)] + mark
            seen[field].add(value)
            setattr(user, field, value)
        user.save(update_fields=list(values))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_phone_number_ascii_digits")]

    operations = [
        migrations.RemoveConstraint(model_name="user", name="accounts_user_email_ci_unique"),
        migrations.RemoveConstraint(model_name="user", name="accounts_user_username_ci_unique"),
        migrations.AddField(
            model_name="user",
            name="username_folded",
            field=models.CharField(
                editable=False, max_length=USERNAME_FOLDED_MAX_LENGTH, null=True
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="email_folded",
            field=models.CharField(editable=False, max_length=EMAIL_FOLDED_MAX_LENGTH, null=True),
        ),
        migrations.RunPython(fill_folded_names, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="user",
            name="username_folded",
            field=models.CharField(
                editable=False, max_length=USERNAME_FOLDED_MAX_LENGTH, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="email_folded",
            field=models.CharField(editable=False, max_length=EMAIL_FOLDED_MAX_LENGTH, unique=True),
        ),
    ]
