"""The note an hls4ml project gets when the features have their own types (``flow.hls.project.input_note``)."""

from flow.hls.precision import ap_type
from flow.hls.project import input_note
from flow.ir.synthetic import random_graph


def test_uniform_inputs_need_no_note():
    assert input_note(random_graph((16, 8, 5), seed=3)) is None


def test_note_lists_the_cast_of_every_feature_and_the_container():
    g = random_graph((16, 8, 5), seed=3, per_feature=True)
    note = input_note(g)
    assert f"`{ap_type(g.input_type)}`" in note
    for i, (name, t) in enumerate(zip(g.feature_names, g.input_types, strict=True)):
        assert f"| {i} | {name} | `{t.describe()}` | `{ap_type(t)}` |" in note
