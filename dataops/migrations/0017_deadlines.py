"""Deadlines that say when they are provisional and how early they can turn out to be (facerights.models.Deadline).

`due_earliest` is added in three steps (nullable, filled with the current due date, then required):
existing deadlines keep their date, and the daily recomputation gives a provisional one its
estimate and its earliest date.
"""

from django.db import migrations, models

DATED = ("request", "deletionrequest", "filingobligation", "changereview")


def fill(apps, schema_editor):
    for name in DATED:
        model = apps.get_model("dataops", name)
        model.objects.update(due_earliest=models.F("due_on"))


class Migration(migrations.Migration):
    dependencies = [
        ("dataops", "0016_house_vocabulary"),
    ]

    operations = [
        *[
            migrations.AddField(
                model_name=name,
                name="due_earliest",
                field=models.DateField(null=True),
            )
            for name in DATED
        ],
        migrations.RunPython(fill, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=name,
                name="due_earliest",
                field=models.DateField(
                    help_text="The earliest the deadline can turn out to be; the same date once it is firm.",
                    verbose_name="due no earlier than",
                ),
            )
            for name in DATED
        ],
        *[
            migrations.AddField(
                model_name=name,
                name="due_on_provisional",
                field=models.BooleanField(
                    default=False,
                    help_text="A year in the period has no published holiday schedule yet: the date is an estimate.",
                    verbose_name="due date provisional",
                ),
            )
            for name in ("changereview", "deletionrequest")
        ],
        *[
            migrations.AlterField(
                model_name=name,
                name="due_on_provisional",
                field=models.BooleanField(
                    default=False,
                    help_text="A year in the period has no published holiday schedule yet: the date is an estimate.",
                    verbose_name="due date provisional",
                ),
            )
            for name in ("filingobligation", "request")
        ],
        migrations.AddField(
            model_name="request",
            name="response_working_days",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="request",
            name="dpo_alerted_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="DPO alerted (two thirds of the time gone)"
            ),
        ),
        migrations.RemoveIndex(model_name="request", name="request_state_due_idx"),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(fields=["state", "due_earliest"], name="request_state_due_idx"),
        ),
        migrations.RemoveIndex(model_name="deletionrequest", name="deletion_state_due_idx"),
        migrations.AddIndex(
            model_name="deletionrequest",
            index=models.Index(fields=["state", "due_earliest"], name="deletion_state_due_idx"),
        ),
    ]
