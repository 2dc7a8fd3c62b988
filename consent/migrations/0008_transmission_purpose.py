"""The consent type for sending facial data over the internet (Measures Art 8)."""

from django.db import migrations

CODE = "internet-transmission"


def create(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    Purpose.objects.get_or_create(
        code=CODE,
        defaults={
            "name_zh": "通过互联网传输人脸信息",
            "name_en": "Sending facial data over the internet",
            "description_zh": "人脸信息离开现场设备，经互联网发送至服务器或受托人。需单独同意。",
            "description_en": (
                "Facial data leaves the on-site device and is sent over the internet to a server or a processor. "
                "It needs its own consent."
            ),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0007_identity_review_permission")]

    # Not removed on the way back: systems and consents may use it.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
