"""A booking's seat must lie within its slot's capacity: a trigger, because a check constraint
cannot read another table. SQLite's RAISE(ABORT) and PostgreSQL's check_violation (23514) both
reach Django as an IntegrityError."""

from django.db import migrations

SQLITE = [
    """
    CREATE TRIGGER scheduling_booking_seat_insert BEFORE INSERT ON scheduling_booking
    WHEN NEW.status IN ('booked', 'honoured', 'no_show')
    AND NEW.seat >= (SELECT capacity FROM scheduling_slot WHERE id = NEW.slot_id)
    BEGIN SELECT RAISE(ABORT, 'booking seat beyond the slot capacity'); END
    """,
    """
    CREATE TRIGGER scheduling_booking_seat_update BEFORE UPDATE OF seat, slot_id, status
    ON scheduling_booking
    WHEN NEW.status IN ('booked', 'honoured', 'no_show')
    AND NEW.seat >= (SELECT capacity FROM scheduling_slot WHERE id = NEW.slot_id)
    BEGIN SELECT RAISE(ABORT, 'booking seat beyond the slot capacity'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS scheduling_booking_seat_insert",
    "DROP TRIGGER IF EXISTS scheduling_booking_seat_update",
]
POSTGRESQL = [
    """
    CREATE FUNCTION scheduling_booking_seat_check() RETURNS trigger AS $$
    BEGIN
        IF NEW.status IN ('booked', 'honoured', 'no_show')
           AND NEW.seat >= (SELECT capacity FROM scheduling_slot WHERE id = NEW.slot_id) THEN
            RAISE EXCEPTION 'booking seat beyond the slot capacity'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER scheduling_booking_seat BEFORE INSERT OR UPDATE OF seat, slot_id, status
    ON scheduling_booking FOR EACH ROW EXECUTE FUNCTION scheduling_booking_seat_check()
    """,
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS scheduling_booking_seat ON scheduling_booking",
    "DROP FUNCTION IF EXISTS scheduling_booking_seat_check()",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_booking")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
        )
    ]
