-- Tasks are listed newest first, filtered by creator or kind (GET /api/v1/tasks):
-- index both so the list stays a range scan as the table grows.
CREATE INDEX task_created_by ON task(created_by, id);
CREATE INDEX task_kind ON task(kind, id);
