# The two README commands. The work happens in .ci/*.sh.
.PHONY: run test

# Install what is missing, then run the app at http://127.0.0.1:3000 (SQLite, demo data).
run:
	@bash .ci/run-app.sh

# Install the test dependencies, then run every test (SQLite, PostgreSQL, Chromium).
test:
	@bash .ci/test.sh
