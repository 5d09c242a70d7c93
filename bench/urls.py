"""The site's URLs plus the bare view the web benchmark compares against."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from realname.urls import urlpatterns as site


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), *site]
