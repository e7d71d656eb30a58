"""Adds a session of N messages to the newest project of an Atelier database, for the browser
test's long-session measurement. SQLite's locking lets this run beside a live server."""
import sqlite3
import sys
from datetime import datetime, timezone

db, count = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db, timeout=30)
(project_id,) = con.execute("SELECT id FROM projects ORDER BY created_at DESC LIMIT 1").fetchone()
now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
with con:
    con.execute(
        "INSERT INTO sessions (id, project_id, agent, title, model, created_at) VALUES (?, ?, 'assistant', 'Long session', NULL, ?)",
        ("ses_long", project_id, now),
    )
    con.executemany(
        "INSERT INTO messages (id, session_id, role, content, status, created_at, updated_at) VALUES (?, 'ses_long', ?, ?, 'complete', ?, ?)",
        (
            (
                f"msg_long_{i:05}",
                "user" if i % 2 == 0 else "assistant",
                f"This is message {i} of the long session.\n\n- a point\n- another point with `code`"
                + ("\n\n```python\nprint('hello')\n```" if i % 10 == 0 else ""),
                now,
                now,
            )
            for i in range(count)
        ),
    )
