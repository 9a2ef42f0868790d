import os

from django.core.wsgi import get_wsgi_application

from common.checks import refuse_unsafe_settings
from common.wsgi import UnreadBodyDrained, import_every_view

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend_server.settings")
application = UnreadBodyDrained(get_wsgi_application())
refuse_unsafe_settings()

# These need the apps loaded.
from media_handler.checks import refuse_incomplete_storage_settings  # noqa: E402
from media_handler.files.storage import import_object_store_code  # noqa: E402

refuse_incomplete_storage_settings()
# Loaded once here, in gunicorn's master, rather than by every worker (common.wsgi).
import_every_view()
import_object_store_code()
