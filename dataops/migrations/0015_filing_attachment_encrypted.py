"""Filing attachments (ID documents among them) encrypted at rest, like every other scan."""

from django.db import migrations, models


def encrypt(apps, schema_editor):
    from facerights import crypto

    FilingAttachment = apps.get_model("dataops", "FilingAttachment")
    for row in FilingAttachment.objects.all().iterator(chunk_size=50):
        aad = f"facerights:filing-attachment:{row.filing_id}:{row.sha256}".encode()
        row.ciphertext = crypto.blob_encrypt(bytes(row.content), aad=aad)
        row.save(update_fields=["ciphertext"])


def decrypt(apps, schema_editor):
    from facerights import crypto

    FilingAttachment = apps.get_model("dataops", "FilingAttachment")
    for row in FilingAttachment.objects.all().iterator(chunk_size=50):
        aad = f"facerights:filing-attachment:{row.filing_id}:{row.sha256}".encode()
        row.content = crypto.blob_decrypt(bytes(row.ciphertext), aad=aad)
        row.save(update_fields=["content"])


class Migration(migrations.Migration):
    dependencies = [("dataops", "0014_deletion_trace_id")]

    operations = [
        migrations.AddField(
            model_name="filingattachment",
            name="ciphertext",
            field=models.BinaryField(default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="filingattachment", name="content", field=models.BinaryField(default=b"", editable=False)
        ),
        migrations.RunPython(encrypt, decrypt),
        migrations.RemoveField(model_name="filingattachment", name="content"),
    ]
