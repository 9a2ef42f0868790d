from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import User
from accounts.selectors import email_taken, username_taken


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
