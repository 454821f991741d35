import pytest

pytestmark = pytest.mark.django_db


def test_chinese_by_default_even_for_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()


def test_english_when_chosen(client):
    client.cookies["django_language"] = "en"
    response = client.get("/login/")
    assert response["Content-Language"] == "en"
    assert "登录" not in response.content.decode()
