from django.urls import path

from .workbench.views import metrics

urlpatterns = [path("metrics", metrics, name="metrics")]
