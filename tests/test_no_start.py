"""create = up without starts: starts, restarts and waits leave the plan, edges go through."""

from stackup.core.plan import Kind, Operation, Plan
from stackup.reconcile.no_start import without_starts


def op(op_id: str, kind: Kind, *deps: str, if_failed: tuple[str, ...] = ()) -> Operation:
    return Operation(op_id, kind, "test", depends_on=deps, if_failed=if_failed)


def test_recreate_chain_without_start() -> None:
    plan = Plan("p", (
        op("stop", Kind.STOP_CONTAINER),
        op("rename", Kind.RENAME_CONTAINER, "stop"),
        op("create", Kind.CREATE_CONTAINER, "rename"),
        op("start", Kind.START_CONTAINER, "create"),
        op("wait", Kind.WAIT_HEALTHY, "start"),
        op("remove_old", Kind.REMOVE_CONTAINER, "start"),
        op("dependent_restart", Kind.RESTART_CONTAINER, "wait"),
        op("after", Kind.CREATE_CONTAINER, "dependent_restart", "wait"),
        op("restore_start", Kind.START_CONTAINER, if_failed=("create", "start")),
    ))
    out = without_starts(plan)
    assert [o.op_id for o in out.operations] == ["stop", "rename", "create", "remove_old",
                                                 "after", "restore_start"]
    by_id = {o.op_id: o for o in out.operations}
    assert by_id["remove_old"].depends_on == ("create",)
    assert by_id["after"].depends_on == ("create",)
    assert by_id["restore_start"].if_failed == ("create",)  # the restore step stays


def test_nothing_to_drop_is_the_same_plan() -> None:
    plan = Plan("p", (op("net", Kind.CREATE_NETWORK), op("c", Kind.CREATE_CONTAINER, "net")))
    assert without_starts(plan) is plan
