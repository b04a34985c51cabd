"""The shapes of SageMaker's CreateTrainingJob request, without botocore: the member
names of each structure it reaches and the member of each list
(``sagemaker_create_training_job.json``, extracted from botocore's service model by
``extract``), so a snake_case queue config is re-cased at queue create and enqueue
without loading botocore's 1 MB model of SageMaker. Maps (Environment,
HyperParameters...) and scalars are not in the table: their keys are the user's.

The tests check the table against the installed botocore
(tests/unit/backends/sagemaker/test_sagemaker_shapes.py); after upgrading botocore, regenerate it:
``python -m launch_core.backends.sagemaker.shapes``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("sagemaker_create_training_job.json")


ROOT = "CreateTrainingJobRequest"


class Shape:
    """A structure (``members``: name -> Shape), a list (``member``) or anything else
    (``type_name`` "other"), with the attributes of botocore's shapes that
    ``sagemaker_request`` reads."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.members: dict[str, Shape | None] = {}
        self.member: Shape | None = None


def request_shape() -> Shape:
    """CreateTrainingJob's input shape, from the table."""
    return _shapes()[ROOT]


@functools.cache
def _shapes() -> dict[str, Shape]:
    table: dict[str, Any] = json.loads(TABLE.read_text())
    shapes = {name: Shape("structure" if "members" in entry else "list")
              for name, entry in table.items()}
    for name, entry in table.items():
        shape = shapes[name]
        if "members" in entry:
            shape.members = {member: shapes.get(target)
                             for member, target in entry["members"].items()}
        else:
            shape.member = shapes.get(entry["member"])
    return shapes


def extract() -> dict[str, Any]:
    """The table, from botocore's model of SageMaker (imported here only)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    table: dict[str, Any] = {}

    def visit(shape: Any) -> None:
        if shape.name in table:
            return
        if shape.type_name == "structure":
            table[shape.name] = {"members": {name: member.name
                                             for name, member in shape.members.items()}}
            for member in shape.members.values():
                visit(member)
        elif shape.type_name == "list":
            table[shape.name] = {"member": shape.member.name}
            visit(shape.member)

    visit(model.operation_model("CreateTrainingJob").input_shape)
    return table


if __name__ == "__main__":
    TABLE.write_text(json.dumps(extract(), indent=1, sort_keys=True) + "\n")
