"""Flask-WTF forms: every POST carries a CSRF token."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget


class AddAccountForm(FlaskForm):
    handle = StringField(
        "Handle",
        validators=[DataRequired(message="Enter a handle."), Length(max=300)],
        render_kw={"placeholder": "@SenWarren or name.bsky.social", "autocomplete": "off", "spellcheck": "false"},
    )
    platform = SelectField(
        "Platform",
        choices=[
            SelectChoice("", "From the handle"),
            SelectChoice("x", "X"),
            SelectChoice("bluesky", "Bluesky"),
            SelectChoice("mastodon", "Mastodon"),
        ],
        default="",
    )


class PredictForm(FlaskForm):
    accounts = SelectMultipleField(
        "Who might have written it?",
        choices=[],
        validate_choice=False,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    text = TextAreaField(
        "The tweet",
        render_kw={"data-max": 280, "rows": 4, "placeholder": "Type a tweet none of them wrote…"},
    )
    # or posts taken to share one author, in one of three ways (the service takes exactly one of the four)
    posts = TextAreaField(
        "Several posts, one per paragraph",
        render_kw={"rows": 6, "placeholder": "First post…\n\nSecond post…"},
    )
    posts_file = FileField("Or a file of posts", render_kw={"accept": ".txt,.csv,text/plain,text/csv"})
    unknown = StringField(
        "Or a stored account's posts",
        validators=[Length(max=300)],
        render_kw={"placeholder": "@handle", "autocomplete": "off", "spellcheck": "false", "list": "stored-handles"},
    )


class ConfirmForm(FlaskForm):
    """An empty form for buttons that change state (update, delete): only its CSRF token matters."""


class ImportForm(FlaskForm):
    file = FileField(
        "Archive, Bluesky repository or CSV file",
        validators=[FileRequired(message="Choose a file to import.")],
        render_kw={"accept": ".zip,.js,.car,.csv,.gz,.txt"},
    )
    account = StringField(
        "Account handle (optional)",
        validators=[Length(max=50)],
        render_kw={"placeholder": "@handle", "autocomplete": "off", "spellcheck": "false"},
    )
    admin_password = PasswordField(
        "Admin password (optional)",
        validators=[Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
