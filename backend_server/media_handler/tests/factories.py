import factory

from media_handler.models import Collection, Media, MediaType


class CollectionFactory(factory.django.DjangoModelFactory[Collection]):
    class Meta:
        model = Collection

    user = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Collection {n}")
    description = "Things"


class MediaFactory(factory.django.DjangoModelFactory[Media]):
    """A record without a file, as the seed's JSON example creates."""

    class Meta:
        model = Media

    user = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"photo-{n}.jpg")
    type = MediaType.IMAGE
    size = 2048
    storage_path = factory.LazyAttribute(lambda media: f"uploads/{media.name}")
    description = ""
