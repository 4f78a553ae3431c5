from django.urls import re_path

from realtime.views import TicketView

urlpatterns = [re_path(r"^realtime/ticket/?$", TicketView.as_view(), name="realtime-ticket")]
