"""Train-split augmentation: each method turns a list of texts into one variant per text.

Methods are plain functions, one module each (synonyms, backtranslate, emoji_text, asr_noise), testable
alone. `augment_train` (runner.py) applies the configured ones, drops variants that change nothing or
repeat a text already in the data, and balances rare classes by augmenting their texts. A new method:
a module here, its name in `AUGMENT_METHODS` and its params section in mlkit/core/params.py, and a
branch in runner.variants.
"""

from mlkit.data.augment.asr_noise import asr_noise
from mlkit.data.augment.backtranslate import backtranslate
from mlkit.data.augment.emoji_text import emoji_to_words
from mlkit.data.augment.runner import augment_train, balance_plan, variants
from mlkit.data.augment.synonyms import replace_synonyms, synonyms_of

__all__ = ["asr_noise", "augment_train", "backtranslate", "balance_plan", "emoji_to_words", "replace_synonyms",
           "synonyms_of", "variants"]
