import factory

from accounts.models import User

PASSWORD = "strongpassword"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = "Jane"
    last_name = "Doe"
    password = factory.django.Password(PASSWORD)
