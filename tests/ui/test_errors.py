from services.common.contracts.search import ENCODER_UNAVAILABLE
from services.common.http import ServiceError, ServiceUnavailable
from services.ui.errors import SESSION_EXPIRED, SessionExpired, is_session_error, plain_message
from services.ui.images import UploadError
from services.ui.slots import notice_html


def test_service_4xx_message_is_shown_as_is():
    assert plain_message(ServiceError("encoder", 415, "Not an image: upload a JPG, PNG or WebP.")) == (
        "Not an image: upload a JPG, PNG or WebP."
    )


def test_unreachable_or_failing_service_is_described_in_the_users_words():
    msg = "Finding songs is not available right now. Please try again in a moment."
    assert plain_message(ServiceUnavailable("search", 503, "search unreachable: [Errno 111]")) == msg
    assert plain_message(ServiceError("search", 502, "<html>bad gateway</html>")) == msg
    assert plain_message(ServiceUnavailable("encoder", 503, "x")).startswith("Reading photos is not")


def test_search_relaying_a_down_encoder_names_the_photo_reader():
    relayed = ServiceError("search", 503, f"{ENCODER_UNAVAILABLE}: encoder unreachable: [Errno 111]")
    words = "Reading photos is not available right now. Please try again in a moment."
    assert plain_message(relayed) == words


def test_a_refused_photo_is_explained_without_naming_internal_services():
    detail = "encoder: The JPEG image is truncated or corrupt and cannot be decoded."
    text = plain_message(ServiceError("search", 400, detail))
    assert text == f"We could not use this photo. {detail.removeprefix('encoder: ')}"
    assert "encoder" not in text.lower()


def test_fastapi_validation_errors_become_field_messages():
    detail = str(
        [{"type": "string_too_short", "loc": ["body", "password"], "msg": "too short", "input": "x"}]
    )
    assert plain_message(ServiceError("auth", 422, detail)) == "password: too short"


def test_session_errors_and_unexpected_errors():
    assert is_session_error(ServiceError("auth", 401, "invalid token"))
    assert not is_session_error(ServiceError("search", 401, "x"))
    assert plain_message(SessionExpired()) == SESSION_EXPIRED
    assert plain_message(UploadError("too big")) == "too big"
    text = plain_message(KeyError("secret internals"))
    assert "secret internals" not in text and "Traceback" not in text


def test_notice_is_escaped_and_empty_text_hides_it():
    assert notice_html("") == ""
    html = notice_html("<b>x</b>", "info")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and 'role="status"' in html and "pp-notice-info" in html
