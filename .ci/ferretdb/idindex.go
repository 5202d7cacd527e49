package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB's SQLite handler uses
)

// FerretDB v1.24's SQLite handler answers a filter that is exactly {_id: x}
// (find, findAndModify, update, delete) with
//
//	WHERE _ferretdb_sjson->'$._id' = ?
//
// but creates its unique _id index on _ferretdb_sjson->"_id". SQLite uses an
// expression index only for the very same expression, so every such query scans
// the table (EXPLAIN QUERY PLAN: SCAN), and the cost of each call grows with the
// collection. indexIDs adds, to every collection table, an index on the
// expression the queries use, so that the test server serves {_id: x} by index
// as MongoDB does. Filters with anything besides _id still scan: FerretDB does
// not push them down at all, which is what the store's scaling test
// (host/internal/storage/mongo) is meant to catch.
//
// It polls the data directory, because FerretDB creates databases (files) and
// collections (tables) on first use. A table is indexed within one poll of its
// creation; until then its queries scan, which only costs time.
func indexIDs(ctx context.Context, sqliteURL string, log *slog.Logger) {
	dir, err := sqliteDir(sqliteURL)
	if err != nil {
		log.Warn("no _id query index", "err", err)
		return
	}
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		seen := map[string]bool{}
		for _, f := range files {
			seen[f] = true
			db := dbs[f]
			if db == nil {
				if db, err = sql.Open("sqlite", "file:"+f+"?_pragma=busy_timeout(10000)"); err != nil {
					continue
				}
				dbs[f] = db
			}
			if err := indexTables(ctx, db); err != nil && ctx.Err() == nil {
				log.Debug("_id query index", "file", f, "err", err)
			}
		}
		for f, db := range dbs { // dropped databases
			if !seen[f] {
				db.Close()
				delete(dbs, f)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// indexTables creates the missing _id query indexes of one database file.
func indexTables(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT t.name FROM sqlite_master t
		WHERE t.type = 'table' AND t.name NOT LIKE '\_ferretdb\_%' ESCAPE '\' AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.name = t.name || '_id_query')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_id_query", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index %s: %w", t, err)
		}
	}
	return nil
}

// sqliteDir is the directory of a FerretDB SQLite URL ("file:data/").
func sqliteDir(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("sqlite url %q: want file:DIR/", raw)
	}
	dir := u.Opaque
	if dir == "" {
		dir = u.Path
	}
	return strings.TrimSuffix(dir, "/"), nil
}
