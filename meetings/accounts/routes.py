"""The routes meetings.accounts contributes: its API operations and its pages."""

from __future__ import annotations

from meetings.accounts import api, views
from meetings.accounts.models import UserCreate, UserPublic, UserUpdate
from meetings.core.routing import Operation, Page, Routes

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/me",
            api.me,
            "The calling user",
            response=UserPublic,
            tags=("accounts",),
            name="api_me",
        ),
        Operation(
            "GET",
            "/api/v1/users",
            api.list_users,
            "List accounts (admin)",
            response=UserPublic,
            is_collection=True,
            tags=("accounts",),
            name="api_list_users",
        ),
        Operation(
            "POST",
            "/api/v1/users",
            api.create_user,
            "Create an account (admin)",
            body=UserCreate,
            response=UserPublic,
            status=201,
            tags=("accounts",),
            name="api_create_user",
        ),
        Operation(
            "PATCH",
            "/api/v1/users/{id}",
            api.update_user,
            "Change an account (admin)",
            body=UserUpdate,
            response=UserPublic,
            tags=("accounts",),
            name="api_update_user",
        ),
    ),
    pages=(
        Page("GET", "/login", views.login_form, "login"),
        Page("POST", "/login", views.login, "login_submit"),
        Page("POST", "/logout", views.logout, "logout"),
        Page("GET", "/users", views.user_list, "users"),
        Page("POST", "/users/new", views.user_create, "user_create"),
        Page("GET", r"/users/{id:\d+}/edit", views.user_edit, "user_edit"),
        Page("POST", r"/users/{id:\d+}/edit", views.user_update, "user_update"),
    ),
)
