import os

from django.core.wsgi import get_wsgi_application

from common.checks import refuse_unsafe_settings
from common.wsgi import UnreadBodyDrained

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend_server.settings")
application = UnreadBodyDrained(get_wsgi_application())
refuse_unsafe_settings()

from media_handler.checks import refuse_incomplete_storage_settings  # noqa: E402 -- needs the apps loaded

refuse_incomplete_storage_settings()
