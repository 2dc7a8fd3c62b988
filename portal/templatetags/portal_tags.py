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
