"""Any saved or deleted media or collection retires its owner's cached list pages."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from media_handler import page_cache
from media_handler.models import Collection, Media


@receiver(post_save, sender=Media)
@receiver(post_delete, sender=Media)
@receiver(post_save, sender=Collection)
@receiver(post_delete, sender=Collection)
def owner_changed(sender, instance, **kwargs) -> None:
    page_cache.owner_changed(instance.user)
