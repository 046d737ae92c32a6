"""Finding 3: passwords go through Django's validators and usernames are ASCII, wherever an account is made."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

CYRILLIC_ER = "\u0440"  # looks exactly like Latin "p"


@pytest.mark.django_db
def test_create_user_refuses_a_one_letter_password_and_says_why():
    with pytest.raises(CommandError, match="too short"):
        call_command("create_user", "weak", "--role", "rater", "--password", "a")
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.django_db
def test_create_user_refuses_a_look_alike_username_naming_the_character():
    with pytest.raises(CommandError, match="U\\+0440"):
        call_command(
            "create_user", f"{CYRILLIC_ER}ater_a", "--role", "rater", "--password", "long-enough-pw-1"
        )
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_create_user_still_makes_a_sound_account(capsys):
    call_command("create_user", "rater_a", "--role", "rater", "--password", "plum-orbit-seven")
    assert User.objects.get(username="rater_a").check_password("plum-orbit-seven")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("new-rater", "password", "too common"),
        ("new-rater", "12345678", "entirely numeric"),
        ("new-rater-x", "new-rater-x", "too similar"),
        ("<b>bold</b>", "plum-orbit-seven", "refused because of"),
        (f"{CYRILLIC_ER}ater_a", "plum-orbit-seven", "U+0440"),
    ],
)
def test_the_researcher_rater_form_refuses_weak_passwords_and_unsafe_usernames(
    researcher_client, username, password, reason
):
    response = researcher_client.post(
        reverse("annotate:rater_list"), {"username": username, "password": password}
    )
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not User.objects.filter(username=username).exists()
