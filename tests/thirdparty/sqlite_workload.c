/*
 * A deterministic SQLite workload for tests/e2e/test_thirdparty.py, built
 * with SQLite's amalgamation (fetched at test time, never committed) and
 * profiled as a third-party code base. Uses SQLite's public API only.
 *
 *   sqlite_workload [ROWS] [STATIONS]     (defaults 20000 and 16)
 *
 * In one in-memory database: fills a station table and ROWS sensor
 * readings from an LCG (one prepared INSERT in a transaction), builds an
 * index, runs an aggregate, a join, per-station indexed lookups, an
 * UPDATE and a DELETE, and prints every result. Its own calls into
 * SQLite go through the counted wrappers below; the last line prints the
 * tallies, which the test compares with the profile's call counts.
 * Once loaded, it prints SQLite's own count of its live heap and takes
 * the memory snapshot "loaded" (a no-op without cprof), for the test to
 * compare the two.
 */
#include <cprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

static struct {
	unsigned long prepare, step, bind_int, bind_text, reset, finalize;
} api;

static sqlite3 *db;

static void die(const char *what)
{
	fprintf(stderr, "sqlite_workload: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static sqlite3_stmt *prepare(const char *sql)
{
	sqlite3_stmt *st;

	api.prepare++;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(sql);
	return st;
}

/* SQLITE_ROW or SQLITE_DONE; anything else ends the run. */
static int step(sqlite3_stmt *st)
{
	int rc;

	api.step++;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		die(sqlite3_sql(st));
	return rc;
}

static void bind_int(sqlite3_stmt *st, int i, int v)
{
	api.bind_int++;
	if (sqlite3_bind_int(st, i, v) != SQLITE_OK)
		die("bind_int");
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	api.bind_text++;
	if (sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		die("bind_text");
}

static void reset(sqlite3_stmt *st)
{
	api.reset++;
	if (sqlite3_reset(st) != SQLITE_OK)
		die("reset");
}

static void finalize(sqlite3_stmt *st)
{
	api.finalize++;
	sqlite3_finalize(st);
}

/* One statement without parameters or result rows. */
static void run(const char *sql)
{
	sqlite3_stmt *st = prepare(sql);

	while (step(st) == SQLITE_ROW)
		;
	finalize(st);
}

static unsigned lcg_state = 12345;

static unsigned lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return (lcg_state >> 16) & 0x7fff;
}

static void fill(int rows, int stations)
{
	char text[32];
	sqlite3_stmt *st;

	run("BEGIN");
	st = prepare("INSERT INTO station(id, name) VALUES(?, ?)");
	for (int i = 1; i <= stations; i++) {
		snprintf(text, sizeof(text), "station-%02d", i);
		bind_int(st, 1, i);
		bind_text(st, 2, text);
		step(st);
		reset(st);
	}
	finalize(st);
	st = prepare("INSERT INTO sensor(station, reading, label) VALUES(?, ?, ?)");
	for (int i = 0; i < rows; i++) {
		int reading = (int)(lcg() % 1000);
		snprintf(text, sizeof(text), "r%06d-%03d", i, reading);
		bind_int(st, 1, 1 + (int)(lcg() % (unsigned)stations));
		bind_int(st, 2, reading);
		bind_text(st, 3, text);
		step(st);
		reset(st);
	}
	finalize(st);
	run("COMMIT");
}

/* SQLite's own accounting (SQLITE_DEFAULT_MEMSTATUS=1): live blocks and
 * their rounded sizes, without the 8-byte size prefix sqlite3MemMalloc
 * adds to each. Read just before the snapshot; printing allocates no
 * more (stdout's buffer exists by then). */
static void snapshot_loaded(void)
{
	sqlite3_int64 bytes, blocks, hi;

	sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &bytes, &hi, 0);
	sqlite3_status64(SQLITE_STATUS_MALLOC_COUNT, &blocks, &hi, 0);
	cprof_snapshot("loaded");
	printf("sqlite heap: %lld bytes in %lld blocks\n", bytes, blocks);
}

static void per_station_summary(void)
{
	sqlite3_stmt *st = prepare("SELECT station, count(*), sum(reading), min(reading), max(reading)"
				   " FROM sensor GROUP BY station ORDER BY station");

	while (step(st) == SQLITE_ROW)
		printf("station %2d: n=%d sum=%lld min=%d max=%d\n", sqlite3_column_int(st, 0),
		       sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
		       sqlite3_column_int(st, 3), sqlite3_column_int(st, 4));
	finalize(st);
}

static void busiest_stations(int threshold)
{
	sqlite3_stmt *st = prepare("SELECT s.name, count(*), avg(r.reading) FROM sensor r"
				   " JOIN station s ON s.id = r.station WHERE r.reading > ?"
				   " GROUP BY s.id ORDER BY 2 DESC, 1 LIMIT 5");

	bind_int(st, 1, threshold);
	while (step(st) == SQLITE_ROW)
		printf("above %d: %s n=%d avg=%.3f\n", threshold, sqlite3_column_text(st, 0),
		       sqlite3_column_int(st, 1), sqlite3_column_double(st, 2));
	finalize(st);
}

/* Indexed lookups: the top three readings of each station. */
static void top_readings(int stations)
{
	sqlite3_stmt *st = prepare("SELECT id, reading, label FROM sensor WHERE station = ?"
				   " ORDER BY reading DESC, id LIMIT 3");

	for (int s = 1; s <= stations; s++) {
		bind_int(st, 1, s);
		while (step(st) == SQLITE_ROW)
			printf("top %2d: id=%d reading=%d %s\n", s, sqlite3_column_int(st, 0),
			       sqlite3_column_int(st, 1), sqlite3_column_text(st, 2));
		reset(st);
	}
	finalize(st);
}

static void totals(const char *when)
{
	sqlite3_stmt *st = prepare("SELECT count(*), total(reading) FROM sensor");

	if (step(st) == SQLITE_ROW)
		printf("%s: rows=%d total=%.0f\n", when, sqlite3_column_int(st, 0),
		       sqlite3_column_double(st, 1));
	finalize(st);
}

int main(int argc, char **argv)
{
	int rows = argc > 1 ? atoi(argv[1]) : 20000;
	int stations = argc > 2 ? atoi(argv[2]) : 16;
	sqlite3_stmt *st;

	if (rows < 1 || stations < 1 || stations > 99) {
		fprintf(stderr, "usage: sqlite_workload [ROWS >= 1] [STATIONS 1..99]\n");
		return 2;
	}
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		die("open");
	printf("sqlite %s\n", sqlite3_libversion());
	run("CREATE TABLE station(id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
	run("CREATE TABLE sensor(id INTEGER PRIMARY KEY, station INTEGER NOT NULL"
	    " REFERENCES station(id), reading INTEGER NOT NULL, label TEXT)");
	fill(rows, stations);
	run("CREATE INDEX sensor_station ON sensor(station, reading)");
	snapshot_loaded();
	totals("loaded");
	per_station_summary();
	busiest_stations(900);
	top_readings(stations);
	run("UPDATE sensor SET reading = reading + 1 WHERE id % 7 = 0");
	st = prepare("DELETE FROM sensor WHERE reading < ?");
	bind_int(st, 1, 100);
	step(st);
	printf("deleted: %d\n", sqlite3_changes(db));
	finalize(st);
	totals("final");
	if (sqlite3_close(db) != SQLITE_OK)
		die("close");
	printf("api: prepare=%lu step=%lu bind_int=%lu bind_text=%lu reset=%lu finalize=%lu\n",
	       api.prepare, api.step, api.bind_int, api.bind_text, api.reset, api.finalize);
	return 0;
}
