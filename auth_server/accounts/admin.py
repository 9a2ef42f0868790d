from http import HTTPStatus

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import User
from accounts.selectors import email_taken, username_taken
from accounts.services import user_remove, user_sign_out_everywhere
from common.exceptions import ApplicationError


class _FoldedNamesFree(forms.ModelForm):
    """The API's uniqueness rule (names equal once folded) as form errors, not a database error."""

    def clean(self):
        cleaned = super().clean()
        pk = self.instance.pk
        username, email = cleaned.get("username"), cleaned.get("email")
        if username and username_taken(username=username, exclude_pk=pk):
            self.add_error("username", "A user with that username already exists.")
        if email and email_taken(email=email, exclude_pk=pk):
            self.add_error("email", "A user with that email already exists.")
        return cleaned


class UserCreationForm(_FoldedNamesFree, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class UserEditForm(_FoldedNamesFree, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin, with the API's rules where it changes an account: a password set
    here, or an account deactivated here, ends every session and refuses every token issued so
    far (the media service within seconds); an account deleted here is deleted as the API
    deletes one, its media purged by the media service."""

    add_form = UserCreationForm
    form = UserEditForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "phone_number")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("username", "email", "first_name", "last_name", "phone_number", "is_staff")
    search_fields = ("username", "email", "first_name", "last_name", "phone_number")
    ordering = ("-date_joined",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_sign_out_everywhere(user_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == HTTPStatus.FOUND:  # it was set
            user_sign_out_everywhere(user_id=int(unquote(id)))
        return response

    def delete_model(self, request, obj):
        self._remove(request, [obj])

    def delete_queryset(self, request, queryset):
        self._remove(request, list(queryset))

    def _remove(self, request, users: list[User]) -> None:
        for user in users:
            try:
                user_remove(user=user)
            except ApplicationError as exc:  # the job queue is down: this one stays
                request._accounts_kept = True
                self.message_user(request, f"{user}: {exc.message}", level=messages.ERROR)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # Django's delete view and action say "deleted successfully" once delete_model or
        # delete_queryset returns: not when an account was kept (_remove said which).
        if level == messages.SUCCESS and getattr(request, "_accounts_kept", False):
            return
        super().message_user(request, message, level, *args, **kwargs)
