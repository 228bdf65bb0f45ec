"""Flow tests: cases operators write beside a flow (``flows/tests/*.yaml``), run by ``esim-bot test``.

``model`` is the format (frozen pydantic models, and the JSON Schema editors use), ``loader`` reads and
checks test files like the flow validator, ``runner`` plays each case through the application core.
"""

from bot.flowtests.loader import CaseFile, load_test_files
from bot.flowtests.model import FlowCase, FlowTestFile, flow_test_schema_text
from bot.flowtests.runner import CaseResult, RunReport, run_case_files

__all__ = [
    "CaseFile",
    "CaseResult",
    "FlowCase",
    "FlowTestFile",
    "RunReport",
    "flow_test_schema_text",
    "load_test_files",
    "run_case_files",
]
