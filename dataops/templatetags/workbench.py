"""The DPO's dashboard on the admin index (dataops/workbench/dashboard.py gathers what it shows)."""

from django import template

from ..workbench.dashboard import dashboard_context

register = template.Library()


@register.inclusion_tag("admin/dataops/dashboard.html", takes_context=True)
def workbench_dashboard(context):
    return dashboard_context(context["request"].user)
