"""Reading, validating, splitting and describing training and eval data (no torch needed).

``validate_file`` is the entry point: it reads a JSONL or CSV file, checks every row and returns a
``ValidationReport`` listing every issue with a stable code, its line and a JSON pointer.
"""

from tunelab.data.formats import FORMATS, Example, detect_format, to_example
from tunelab.data.io import RawRecord, read_records
from tunelab.data.split import split_examples
from tunelab.data.stats import dataset_stats, format_histogram
from tunelab.data.validate import ValidationReport, load_examples, validate_file

__all__ = [
    "FORMATS",
    "Example",
    "RawRecord",
    "ValidationReport",
    "dataset_stats",
    "detect_format",
    "format_histogram",
    "load_examples",
    "read_records",
    "split_examples",
    "to_example",
    "validate_file",
]
