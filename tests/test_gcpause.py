import gc

from app.gcpause import gc_paused


def test_it_builds_objects_without_collecting_and_files_them_as_old():
    with gc_paused():
        assert not gc.isenabled()
        parsed = [{"similar_to": [str(n)]} for n in range(5_000)]
    assert gc.isenabled()
    # Filed in the oldest generation: young collections no longer visit them.
    assert not any(obj is parsed for obj in gc.get_objects(generation=0))
    assert any(obj is parsed for obj in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0  # nothing left frozen for good


def test_it_still_collects_cycles_made_before_the_pause():
    class Node:
        pass

    collected = []
    node = Node()
    node.self = node
    gc.callbacks.append(lambda phase, info: collected.append(info["collected"]) if phase == "stop" else None)
    try:
        del node
        with gc_paused():
            pass
        gc.collect()
    finally:
        gc.callbacks.pop()
    assert sum(collected) >= 1


def test_it_leaves_the_collector_off_when_it_was_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
