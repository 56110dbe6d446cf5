"""The masked password prompt (tui_client.secret): keys in, state out, nothing shown."""

from __future__ import annotations

from tui_client.secret import Ask, Purpose, SecretPrompt


def typed(prompt: SecretPrompt, text: str) -> None:
    for char in text:
        prompt.insert(char)


def test_one_step_question_is_masked_and_closes_on_submit() -> None:
    prompt = SecretPrompt()
    assert not prompt.active and prompt.question == "" and prompt.masked == ""
    assert prompt.open(Ask(Purpose.HELLO, "alice"))
    assert prompt.active and prompt.question == "Password of alice"
    typed(prompt, "hunter2!")
    assert prompt.masked == "********"
    assert prompt.submit() == (Ask(Purpose.HELLO, "alice"), ["hunter2!"])
    assert not prompt.active and prompt.masked == ""


def test_new_password_is_asked_twice_and_each_step_starts_empty() -> None:
    prompt = SecretPrompt()
    prompt.open(Ask(Purpose.PASSWORD, "bob"))
    assert prompt.question == "Current password of bob"
    typed(prompt, "old-one1")
    assert prompt.submit() is None
    assert prompt.question == "New password" and prompt.masked == ""
    typed(prompt, "new-one1")
    assert prompt.submit() is None and prompt.question == "The new password again"
    typed(prompt, "new-one1")
    assert prompt.submit() == (Ask(Purpose.PASSWORD, "bob"), ["old-one1", "new-one1", "new-one1"])


def test_backspace_clear_and_paste_keep_to_one_line() -> None:
    prompt = SecretPrompt()
    prompt.open(Ask(Purpose.REGISTER, "me"))
    typed(prompt, "пароль")  # Cyrillic: one mark a character
    assert prompt.masked == "******"
    prompt.backspace()
    assert prompt.masked == "*****"
    prompt.clear()
    assert prompt.masked == ""
    prompt.backspace()  # nothing to delete: no harm
    prompt.insert("pasted\r\nsecond line")
    assert prompt.masked == "******"
    assert prompt.submit() is None  # the second step of /register follows
    prompt.insert("pasted")
    assert prompt.submit() == (Ask(Purpose.REGISTER, "me"), ["pasted", "pasted"])


def test_cancel_forgets_and_a_new_question_replaces_the_old() -> None:
    prompt = SecretPrompt()
    prompt.open(Ask(Purpose.UNREGISTER, "me"))
    typed(prompt, "abc")
    assert prompt.open(Ask(Purpose.HELLO, "me"))  # replaced, typed answer dropped
    assert prompt.masked == "" and prompt.question == "Password of me"
    assert not prompt.open(Ask(Purpose.HELLO, "me"))  # the same question again: nothing new
    assert prompt.cancel() == Ask(Purpose.HELLO, "me")
    assert not prompt.active and prompt.cancel() is None and prompt.submit() is None
    prompt.insert("ignored")  # no question: typing goes nowhere
    assert prompt.masked == ""


def test_repr_never_shows_the_answer() -> None:
    prompt = SecretPrompt()
    prompt.open(Ask(Purpose.PASSWORD, "me"))
    typed(prompt, "zq-first-answer")
    prompt.submit()
    typed(prompt, "zq-typing")
    text = repr(prompt) + repr(prompt.__dict__)
    assert "zq" not in text
    assert "password" in text  # the purpose is fine to show
