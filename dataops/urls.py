from .api import api

urlpatterns, app_name, _namespace = api.urls
