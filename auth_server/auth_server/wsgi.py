import os

from django.core.wsgi import get_wsgi_application

from common.checks import refuse_unsafe_settings
from common.wsgi import UnreadBodyDrained, import_every_view

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auth_server.settings")
application = UnreadBodyDrained(get_wsgi_application())
refuse_unsafe_settings()
import_every_view()  # once, in gunicorn's master, rather than by every worker
