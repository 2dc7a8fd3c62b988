from django import template
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag
def loc(obj, field: str) -> str:
    """The Chinese or English variant of a bilingual field, falling back to Chinese."""
    chinese = getattr(obj, f"{field}_zh", "")
    if (get_language() or "").startswith("zh"):
        return chinese
    return getattr(obj, f"{field}_en", "") or chinese


@register.filter
def retention_reason(system) -> str:
    """Why the system keeps facial data as long as it does, in the page's language (Chinese when no English)."""
    chinese = system.retention_justification_zh
    if (get_language() or "").startswith("zh"):
        return chinese
    return system.retention_justification_en or chinese


_CHOICES: dict[object, dict] = {}


@register.filter
def choice(obj, field: str):
    """obj.get_<field>_display(), cheaper: the field's labels are looked up in a dict made once, not made and
    hashed (each label translated to hash it) on every call as Django's does. An unknown code shows as itself."""
    model_field = obj._meta.get_field(field)
    labels = _CHOICES.get(model_field)
    if labels is None:
        labels = _CHOICES[model_field] = dict(model_field.flatchoices)
    value = getattr(obj, model_field.attname)
    return labels.get(value, value)
