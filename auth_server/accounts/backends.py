from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from accounts.selectors import user_by_login_identifier


class EmailOrUsernameBackend(ModelBackend):
    """Django's password check, for an account named by its username or its email address
    (case-insensitively): the API's login and the admin's both accept either."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD) or kwargs.get("email")
        if username is None or password is None:
            return None
        user = user_by_login_identifier(identifier=username)
        if user is None:
            # Hash anyway, so an unknown account answers as slowly as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
